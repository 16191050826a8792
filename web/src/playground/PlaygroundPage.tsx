import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import type { Extension } from "@codemirror/state";
import { ApiError, describeError } from "../api/errors";
import type { CodingSession, ExecutionResult, FileEntry, Language, Participant, User } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import { AppHeader } from "../components/AppHeader";
import { ShareDialog } from "../components/ShareDialog";
import { Skeleton } from "../components/Skeleton";
import { baseExtensions, createSlots, readOnlyExtension, type DocumentSlots } from "../editor/setup";
import { loadMode, modeFor } from "../editor/languages";
import { AccessDenied } from "./AccessDenied";
import { ChatPanel } from "./ChatPanel";
import { CodeEditor } from "./CodeEditor";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { EditorTabs } from "./EditorTabs";
import { FileExplorer, type FileActions } from "./FileExplorer";
import { childPath } from "./fileTree";
import { OnboardingTip } from "./OnboardingTip";
import { ParticipantsList } from "./ParticipantsList";
import { RunPanel } from "./RunPanel";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { useSessionClient } from "./useSessionClient";

type MobilePanel = "files" | "editor" | "run" | "chat";

/** The collaborative IDE for one coding session. */
export default function PlaygroundPage({ sessionId, user }: { sessionId: string; user: User }) {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const sessionKey = `sessions/${sessionId}`;
  const session = useQuery<CodingSession>(sessionKey, () => api.getSession(sessionId));
  const languages = useQuery<Language[]>("languages", () => api.languages());
  const historyKey = `sessions/${sessionId}/executions`;

  // Editor configuration read when a document's state is (re)created.
  const slots = useRef(new Map<string, DocumentSlots>());
  const modes = useRef(new Map<string, Extension>());
  const filesRef = useRef<FileEntry[]>([]);
  const languageRef = useRef("");
  const readOnlyRef = useRef(true);
  languageRef.current = session.data?.language ?? "";

  const documentExtensions = useCallback((file: string): Extension => {
    let s = slots.current.get(file);
    if (!s) slots.current.set(file, (s = createSlots()));
    const entry = filesRef.current.find((f) => f.id === file);
    const mode = modeFor(entry?.path ?? "", languageRef.current);
    const ext = [baseExtensions(s, `Code editor: ${entry?.path ?? "file"}`, readOnlyRef.current)];
    const loaded = mode ? modes.current.get(mode) : undefined;
    if (loaded) ext.push(s.language.of(loaded));
    return ext;
  }, []);

  const { client, snapshot } = useSessionClient(sessionId, documentExtensions);
  const files = snapshot?.files ?? [];
  filesRef.current = files;
  const canEdit = snapshot?.role === "owner" || snapshot?.role === "editor";
  readOnlyRef.current = !canEdit;

  const [openIds, setOpenIds] = useState<string[]>([]);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [stdin, setStdin] = useState("");
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [mobilePanel, setMobilePanel] = useState<MobilePanel>("editor");
  const editorPanelId = useId();
  const langSelectId = useId();

  const history = useQuery<ExecutionResult[]>(snapshot?.joined ? historyKey : null, () => api.listExecutions(sessionId));
  const members = useQuery<Participant[]>(snapshot?.joined ? `sessions/${sessionId}/participants` : null, () => api.listParticipants(sessionId));
  // Someone joined or left: the member list (roles) may have changed too.
  const presenceKey = (snapshot?.participants ?? []).map((p) => p.userId).sort().join(",");
  useEffect(() => {
    if (presenceKey) cache.invalidate(`sessions/${sessionId}/participants`);
  }, [presenceKey, cache, sessionId]);

  // Chat history once joined.
  const joined = snapshot?.joined ?? false;
  useEffect(() => {
    if (!client || !joined) return;
    api
      .listMessages(sessionId)
      .then((m) => client.addHistory(m))
      .catch(() => {});
  }, [api, client, joined, sessionId]);

  // Live notifications, server errors and lost edits become toasts.
  useEffect(() => {
    if (!client) return;
    const offN = client.onNotification((n) => {
      cache.invalidate("notifications/");
      toast.show("info", n.title || n.body || "New notification");
    });
    const offD = client.onEditsDiscarded((file, text) => {
      const name = filesRef.current.find((f) => f.id === file)?.name ?? "a file";
      toast.show("error", `Your offline edits to ${name} could not be merged.`, {
        label: "Copy my version",
        run: () => void navigator.clipboard?.writeText(text),
      });
    });
    return () => {
      offN();
      offD();
    };
  }, [client, cache, toast]);
  // Servers without socket runs: run through POST /api/execute with the current contents.
  useEffect(() => {
    if (!client) return;
    return client.onRunFallback(async (request) => {
      const id = `local-run-${Date.now()}`;
      client.upsertLocalRun(id, "running");
      try {
        const sources = filesRef.current.filter((f) => !f.isFolder && !f.id.startsWith("local-"));
        const withContent = await Promise.all(
          sources.map(async (f) => {
            const state = client.peekDocument(f.id)?.state;
            return { path: f.path, content: state ? state.doc.toString() : (await api.getFile(f.id)).content };
          }),
        );
        const result = await api.execute({ ...request, files: withContent, sessionId });
        client.upsertLocalRun(id, "finished", result);
      } catch (err) {
        client.upsertLocalRun(id, "finished", {
          id,
          language: { id: request.language, version: "" },
          status: "internal_error",
          exitCode: -1,
          stdout: "",
          stderr: describeError(err),
          timeMs: 0,
          cpuMs: 0,
          memoryKb: 0,
          stdoutTruncated: false,
          stderrTruncated: false,
        });
      }
    });
  }, [client, api, sessionId]);

  const lastError = snapshot?.lastError;
  useEffect(() => {
    if (lastError && client) {
      toast.show("error", lastError.message || lastError.code);
      client.dismissError();
    }
  }, [lastError, client, toast]);

  // Refresh history when a run ends.
  const runs = snapshot?.runs ?? [];
  const finishedCount = runs.filter((r) => r.phase === "finished").length;
  useEffect(() => {
    if (finishedCount > 0) cache.invalidate(historyKey);
  }, [finishedCount, cache, historyKey]);

  // Open a first file once the tree is known.
  useEffect(() => {
    if (activeId || files.length === 0) return;
    const lang = languages.data?.find((l) => l.id === languageRef.current);
    const first = files.find((f) => !f.isFolder && (f.path === lang?.defaultFile || f.name === lang?.defaultFile)) ?? files.find((f) => !f.isFolder);
    if (first) {
      setOpenIds([first.id]);
      setActiveId(first.id);
    }
  }, [files, activeId, languages.data]);

  // Drop tabs of deleted files.
  useEffect(() => {
    const ids = new Set(files.map((f) => f.id));
    setOpenIds((open) => (open.every((id) => ids.has(id)) ? open : open.filter((id) => ids.has(id))));
    setActiveId((a) => (a && !ids.has(a) && files.length ? null : a));
  }, [files]);

  // Viewers get a read-only editor; a role change applies to open documents.
  useEffect(() => {
    if (!client) return;
    for (const id of openIds) {
      const s = slots.current.get(id);
      if (s) client.document(id).reconfigure({ effects: s.readOnly.reconfigure(readOnlyExtension(!canEdit)) });
    }
  }, [client, canEdit, openIds]);

  const activeDoc = client && activeId ? client.document(activeId) : null;
  const activeFile = files.find((f) => f.id === activeId) ?? null;

  // Load the language mode for the active file on demand.
  const activeMode = activeFile ? modeFor(activeFile.path, session.data?.language ?? "") : null;
  const docLoaded = activeDoc?.state != null;
  useEffect(() => {
    if (!activeMode || !client) return;
    let cancelled = false;
    const apply = (ext: Extension) => {
      for (const id of openIds) {
        const f = filesRef.current.find((x) => x.id === id);
        const s = slots.current.get(id);
        if (s && f && modeFor(f.path, languageRef.current) === activeMode) client.document(id).reconfigure({ effects: s.language.reconfigure(ext) });
      }
    };
    const cached = modes.current.get(activeMode);
    if (cached) apply(cached);
    else
      loadMode(activeMode)
        .then((ext) => {
          modes.current.set(activeMode, ext);
          if (!cancelled) apply(ext);
        })
        .catch(() => toast.show("error", "Could not load syntax highlighting; editing still works."));
    return () => {
      cancelled = true;
    };
  }, [activeMode, client, openIds, docLoaded, toast]);

  const openFile = useCallback((f: FileEntry) => {
    if (f.isFolder) return;
    setOpenIds((ids) => (ids.includes(f.id) ? ids : [...ids, f.id]));
    setActiveId(f.id);
    setMobilePanel("editor");
  }, []);

  const closeTab = useCallback(
    (id: string) => {
      setOpenIds((ids) => {
        const next = ids.filter((x) => x !== id);
        setActiveId((a) => (a === id ? (next[Math.max(0, ids.indexOf(id) - 1)] ?? null) : a));
        return next;
      });
      client?.closeDocument(id);
    },
    [client],
  );

  const myActiveRun = [...runs].reverse().find((r) => r.phase !== "finished" && (!r.userId || r.userId === user.id));
  const language = languages.data?.find((l) => l.id === session.data?.language);
  const run = useCallback(() => {
    if (!client || !session.data) return;
    if (!client.startRun({ language: session.data.language, entry: activeFile?.path, stdin })) {
      toast.show("error", "You are offline; the run will be possible once reconnected.");
    } else {
      setMobilePanel("run");
    }
  }, [client, session.data, activeFile?.path, stdin, toast]);

  // Global shortcuts.
  const unconfirmed = snapshot?.unconfirmed ?? 0;
  const online = snapshot?.connection === "open" && joined;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === "Enter") {
        e.preventDefault();
        if (canEdit) run();
      } else if (mod && (e.key === "s" || e.key === "S")) {
        e.preventDefault();
        toast.show(
          unconfirmed === 0 && online ? "success" : "info",
          unconfirmed === 0 && online ? "Everything is saved — edits save automatically." : `${unconfirmed} edit${unconfirmed === 1 ? "" : "s"} waiting to reach the server; they are kept.`,
        );
      } else if (e.key === "?" && !isTyping(e.target)) {
        e.preventDefault();
        setShortcutsOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [run, canEdit, unconfirmed, online, toast]);

  const fileActions: FileActions = useMemo(() => {
    const rollback = (before: FileEntry[], err: unknown, what: string) => {
      client?.setFiles(before);
      toast.show("error", `Could not ${what}: ${describeError(err)}`);
    };
    return {
      open: openFile,
      create: async (kind, parentId, name) => {
        if (!client) return;
        const before = client.getSnapshot().files;
        const placeholder: FileEntry = {
          id: `local-${Date.now()}`,
          sessionId,
          parentId,
          name,
          path: childPath(before, parentId, name),
          isFolder: kind === "folder",
          version: 0,
          updatedAt: new Date().toISOString(),
        };
        client.setFiles([...before, placeholder]);
        try {
          const created = kind === "folder" ? await api.createFolder(sessionId, { name, parentId }) : await api.createFile(sessionId, { name, parentId });
          const now = client.getSnapshot().files.filter((f) => f.id !== placeholder.id && f.id !== created.id);
          client.setFiles([...now, created]);
          if (!created.isFolder) openFile(created);
        } catch (err) {
          client.setFiles(client.getSnapshot().files.filter((f) => f.id !== placeholder.id));
          toast.show("error", `Could not create ${name}: ${describeError(err)}`);
        }
      },
      rename: async (file, name) => {
        if (!client) return;
        const before = client.getSnapshot().files;
        client.setFiles(before.map((f) => (f.id === file.id ? { ...f, name, path: childPath(before, f.parentId, name) } : f)));
        try {
          const updated = await api.updateFile(file.id, { name });
          client.setFiles(client.getSnapshot().files.map((f) => (f.id === updated.id ? { ...f, ...updated } : f)));
        } catch (err) {
          rollback(before, err, `rename ${file.name}`);
        }
      },
      move: async (file, parentId) => {
        if (!client) return;
        const before = client.getSnapshot().files;
        client.setFiles(before.map((f) => (f.id === file.id ? { ...f, parentId, path: childPath(before, parentId, f.name) } : f)));
        try {
          const updated = await api.updateFile(file.id, { parentId });
          client.setFiles(client.getSnapshot().files.map((f) => (f.id === updated.id ? { ...f, ...updated } : f)));
        } catch (err) {
          rollback(before, err, `move ${file.name}`);
        }
      },
      remove: async (file) => {
        if (!client) return;
        const before = client.getSnapshot().files;
        const gone = new Set([file.id]);
        for (let grew = true; grew; ) {
          grew = false;
          for (const f of before) if (f.parentId && gone.has(f.parentId) && !gone.has(f.id)) gone.add(f.id), (grew = true);
        }
        client.setFiles(before.filter((f) => !gone.has(f.id)));
        try {
          await api.deleteFile(file.id);
        } catch (err) {
          rollback(before, err, `delete ${file.name}`);
        }
      },
    };
  }, [api, client, openFile, sessionId, toast]);

  const changeLanguage = async (id: string) => {
    if (!session.data) return;
    const before = cache.set<CodingSession>(sessionKey, { ...session.data, language: id });
    try {
      cache.set(sessionKey, await api.updateSession(sessionId, { language: id }));
    } catch (err) {
      if (before) cache.set(sessionKey, before);
      toast.show("error", `Could not change the language: ${describeError(err)}`);
    }
  };

  if (snapshot?.fatal || (session.error instanceof ApiError && (session.error.isNotFound || session.error.status === 403))) {
    return (
      <>
        <AppHeader />
        <AccessDenied sessionId={sessionId} />
      </>
    );
  }
  if (session.error && !session.data) {
    return (
      <>
        <AppHeader />
        <main id="main" className="narrow-page" role="alert">
          <p>Could not open the session: {describeError(session.error)}</p>
          <button type="button" className="button" onClick={session.refetch}>
            Retry
          </button>
        </main>
      </>
    );
  }

  const openFiles = openIds.map((id) => files.find((f) => f.id === id)).filter((f): f is FileEntry => Boolean(f));
  const isOwner = snapshot?.role === "owner" || session.data?.ownerId === user.id;

  return (
    <div className="playground" data-mobile-panel={mobilePanel}>
      <AppHeader>
        <div className="playground-bar">
          <h1 className="session-title">{session.data?.name ?? "Session"}</h1>
          <span className="field inline compact">
            <label htmlFor={langSelectId} className="visually-hidden">
              Language
            </label>
            <select id={langSelectId} value={session.data?.language ?? ""} disabled={!isOwner} onChange={(e) => void changeLanguage(e.target.value)}>
              {(languages.data ?? (session.data ? [{ id: session.data.language, name: session.data.language, version: "", available: true, extensions: [], defaultFile: "" }] : [])).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name} {l.version}
                  {l.available ? "" : " (unavailable)"}
                </option>
              ))}
            </select>
          </span>
          {myActiveRun ? (
            <button type="button" className="button danger" onClick={() => client?.cancelRun(myActiveRun.id)}>
              Stop
            </button>
          ) : (
            <button
              type="button"
              className="button run-button"
              onClick={run}
              disabled={!canEdit || language?.available === false}
              title={language?.available === false ? language.reason : "Run (Ctrl+Enter)"}
              aria-keyshortcuts="Control+Enter Meta+Enter"
            >
              ▶ Run
            </button>
          )}
          {language?.available === false && <span className="muted small">{language.reason ?? "This language cannot run here."}</span>}
          <ConnectionIndicator status={snapshot?.connection ?? "connecting"} joined={joined} unconfirmed={unconfirmed} />
          {isOwner && (
            <button type="button" className="button secondary small" onClick={() => setSharing(true)}>
              Share
            </button>
          )}
          <button type="button" className="icon-button" aria-label="Keyboard shortcuts" onClick={() => setShortcutsOpen(true)}>
            ?
          </button>
        </div>
      </AppHeader>

      {!canEdit && joined && (
        <p className="read-only-banner" role="note">
          You are viewing this session: you can follow along but not edit or run.
        </p>
      )}
      <OnboardingTip />

      <nav className="mobile-switcher" aria-label="Panels">
        {(["files", "editor", "run", "chat"] as const).map((p) => (
          <button key={p} type="button" aria-pressed={mobilePanel === p} onClick={() => setMobilePanel(p)}>
            {p === "files" ? "Files" : p === "editor" ? "Code" : p === "run" ? "Run" : "Chat"}
          </button>
        ))}
      </nav>

      <main id="main" className="playground-grid">
        <div className="area-files">
          {snapshot?.joined ? <FileExplorer files={files} activeId={activeId} canEdit={canEdit} actions={fileActions} /> : <Skeleton label="Loading files" lines={5} />}
        </div>
        <div className="area-editor">
          <EditorTabs
            files={openFiles}
            activeId={activeId}
            unsaved={(id) => (client?.peekDocument(id)?.unconfirmedCount ?? 0) > 0}
            onSelect={setActiveId}
            onClose={closeTab}
            panelId={editorPanelId}
          />
          <div id={editorPanelId} role="tabpanel" aria-labelledby={activeId ? `tab-${activeId}` : undefined} className="editor-host">
            {activeDoc && activeFile ? (
              <CodeEditor key={activeDoc.file} doc={activeDoc} loaded={activeDoc.state !== null} label={activeFile.name} />
            ) : joined ? (
              <p className="muted small-pad">{files.length ? "Open a file from the list." : canEdit ? "Create a file to start." : "This session has no files yet."}</p>
            ) : (
              <Skeleton label="Connecting to the session" lines={8} />
            )}
          </div>
        </div>
        <div className="area-side">
          <ParticipantsList members={members.data ?? []} presence={snapshot?.participants ?? []} meId={snapshot?.me?.id} />
          <ChatPanel messages={snapshot?.chat ?? []} meId={snapshot?.me?.id ?? user.id} onSend={(t) => client?.sendChat(t)} onRetry={(id) => client?.retryChat(id)} />
        </div>
        <div className="area-run">
          <RunPanel
            runs={runs}
            history={history.data}
            historyLoading={history.loading}
            meId={user.id}
            stdin={stdin}
            onStdinChange={setStdin}
            onSendInput={(r, data) => client?.sendStdin(r, data)}
            nameOf={(id) =>
              members.data?.find((m) => m.userId === id)?.username ?? snapshot?.participants.find((p) => p.userId === id)?.username ?? ""
            }
          />
        </div>
      </main>
      <ShortcutsDialog open={shortcutsOpen} onClose={() => setShortcutsOpen(false)} />
      <ShareDialog session={sharing ? (session.data ?? null) : null} onClose={() => setSharing(false)} />
    </div>
  );
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT";
}
