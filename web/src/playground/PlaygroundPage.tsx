import { startTransition, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { ApiError, describeError } from "../api/errors";
import type { AccessRequest, CodingSession, ExecutionResult, FileEntry, Language, Participant, User } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { LANGUAGES_KEY, sessionKey as sessionQueryKey } from "../app/sessionQueries";
import { useToast } from "../app/toasts";
import { AppHeader } from "../components/AppHeader";
import { AccessRequestsDialog } from "../components/AccessRequestsDialog";
import { ConfirmDialog } from "../components/Dialog";
import { SessionSettingsDialog } from "../components/SessionSettingsDialog";
import { ShareDialog } from "../components/ShareDialog";
import { Skeleton } from "../components/Skeleton";
import { AccessDenied } from "./AccessDenied";
import { ChatPanel } from "./ChatPanel";
import { CodeEditor } from "./CodeEditor";
import { modeFor } from "../editor/languages";
import { EditorConfig } from "./editorConfig";
import { EditorTabs } from "./EditorTabs";
import { FileExplorer } from "./FileExplorer";
import { OnboardingTip } from "./OnboardingTip";
import { ParticipantsList } from "./ParticipantsList";
import { PlaygroundToolbar } from "./PlaygroundToolbar";
import { RunPanel } from "./RunPanel";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { useFileActions } from "./useFileActions";
import { usePlaygroundShortcuts } from "./usePlaygroundShortcuts";
import { useSessionClient } from "./useSessionClient";
import { useSessionEvents } from "./useSessionEvents";
import { useBarUnconfirmed, useUnsavedTabs } from "./useSavingState";

type MobilePanel = "files" | "editor" | "run" | "chat";

/** One empty list, so "nothing yet" keeps the same identity between renders. */
const NONE: never[] = [];

/** The collaborative IDE for one coding session. */
export default function PlaygroundPage({ sessionId, user }: { sessionId: string; user: User }) {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const sessionKey = sessionQueryKey(sessionId);
  const session = useQuery<CodingSession>(sessionKey, () => api.getSession(sessionId));
  const languages = useQuery<Language[]>(LANGUAGES_KEY, () => api.languages());

  const [config] = useState(() => new EditorConfig());
  const { client, snapshot } = useSessionClient(sessionId, config.extensionsFor);
  const files: FileEntry[] = snapshot?.files ?? NONE;
  const filesRef = useRef<readonly FileEntry[]>(files);
  filesRef.current = files;
  config.files = files;
  config.sessionLanguage = session.data?.language ?? "";
  config.readOnly = !(snapshot?.role === "owner" || snapshot?.role === "editor");
  const joined = snapshot?.joined ?? false;
  const canEdit = snapshot?.role === "owner" || snapshot?.role === "editor";
  const isOwner = snapshot?.role === "owner" || session.data?.ownerId === user.id;
  const runs = snapshot?.runs ?? NONE;
  const unconfirmed = snapshot?.unconfirmed ?? 0;
  const documents = snapshot?.documents;

  const [openIds, setOpenIds] = useState<string[]>([]);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [stdin, setStdin] = useState("");
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [editingSettings, setEditingSettings] = useState(false);
  const [answering, setAnswering] = useState(false);
  const [mobilePanel, setMobilePanel] = useState<MobilePanel>("editor");
  const [removing, setRemoving] = useState<{ userId: string; username: string } | null>(null);
  const editorPanelId = useId();

  const history = useQuery<ExecutionResult[]>(joined ? `sessions/${sessionId}/executions` : null, () => api.listExecutions(sessionId));
  const members = useQuery<Participant[]>(joined ? `sessions/${sessionId}/participants` : null, () => api.listParticipants(sessionId));
  // Same key as the dialog's list; refreshed when a notification arrives.
  const requests = useQuery<AccessRequest[]>(joined && snapshot?.role === "owner" ? `sessions/${sessionId}/requests` : null, () =>
    api.listAccessRequests(sessionId),
  );
  const { loadOlderChat } = useSessionEvents(client, snapshot, sessionId, filesRef);

  // Open the language's default file (or the first file) once the tree is known.
  useEffect(() => {
    if (activeId || files.length === 0) return;
    const lang = languages.data?.find((l) => l.id === session.data?.language);
    const first = files.find((f) => !f.isFolder && (f.path === lang?.defaultFile || f.name === lang?.defaultFile)) ?? files.find((f) => !f.isFolder);
    // A transition (as every update that no click caused): rendered in slices.
    if (first) {
      startTransition(() => {
        setOpenIds([first.id]);
        setActiveId(first.id);
      });
    }
  }, [files, activeId, languages.data, session.data?.language]);

  // Drop tabs of deleted files.
  useEffect(() => {
    const ids = new Set(files.map((f) => f.id));
    setOpenIds((open) => (open.every((id) => ids.has(id)) ? open : open.filter((id) => ids.has(id))));
    setActiveId((a) => (a && !ids.has(a) && files.length ? null : a));
  }, [files]);

  const activeDoc = client && activeId ? client.document(activeId) : null;
  const activeFile = files.find((f) => f.id === activeId) ?? null;
  const docLoaded = activeId ? (documents?.[activeId]?.loaded ?? false) : false;

  // Viewers get a read-only editor; a role change applies to open documents.
  useEffect(() => {
    if (client) config.applyReadOnly(client, openIds, !canEdit);
  }, [client, config, canEdit, openIds, docLoaded]);

  // The session language's mode starts loading as soon as the language is
  // known, so the first document's state is usually created with it instead
  // of being reconfigured (a second full editor update) when it arrives.
  const sessionMode = session.data ? modeFor("", session.data.language) : null;
  useEffect(() => {
    if (sessionMode) config.preloadMode(sessionMode).catch(() => {});
  }, [config, sessionMode]);

  // The active file's language mode loads on demand (its own chunk).
  // The editor view waits for it (or its failure): installing a mode in a
  // document without a view is much cheaper than redrawing a shown editor.
  const activeMode = activeId ? config.modeOf(activeId) : null;
  const [readyModes, setReadyModes] = useState<ReadonlySet<string>>(() => new Set());
  const openIdsRef = useRef(openIds);
  openIdsRef.current = openIds;
  useEffect(() => {
    if (!client || !activeMode) return;
    let live = true;
    const ready = () => startTransition(() => setReadyModes((modes) => (modes.has(activeMode) ? modes : new Set(modes).add(activeMode))));
    config.preloadMode(activeMode).then(
      () => {
        if (!live) return;
        // Documents that loaded meanwhile get it now, before their view exists.
        void config.applyMode(client, openIdsRef.current, activeMode);
        ready();
      },
      () => {
        if (!live) return;
        toast.show("error", "Could not load syntax highlighting; editing still works.");
        ready();
      },
    );
    return () => {
      live = false;
    };
  }, [client, config, activeMode, toast]);
  // Documents opened after the mode arrived are created with it; this covers the rest (applyMode skips those that have it).
  const modeReady = !activeMode || readyModes.has(activeMode);
  useEffect(() => {
    if (client && activeMode && docLoaded && modeReady) config.applyMode(client, openIds, activeMode).catch(() => {});
  }, [client, config, activeMode, openIds, docLoaded, modeReady]);

  const openFile = useCallback((f: FileEntry) => {
    if (f.isFolder) return;
    setOpenIds((ids) => (ids.includes(f.id) ? ids : [...ids, f.id]));
    setActiveId(f.id);
    setMobilePanel("editor");
  }, []);
  const fileActions = useFileActions(client, sessionId, openFile);

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

  const run = useCallback(() => {
    if (!client || !session.data) return;
    // Text in the Input tab is all the input there is; an empty box means "I'll type while it runs".
    if (client.startRun({ language: session.data.language, entry: activeFile?.path, stdin }, { closeStdin: stdin !== "" })) setMobilePanel("run");
    else toast.show("error", "You are offline; run again once reconnected.");
  }, [client, session.data, activeFile?.path, stdin, toast]);
  const showShortcuts = useCallback(() => setShortcutsOpen(true), []);
  const hideShortcuts = useCallback(() => setShortcutsOpen(false), []);
  const share = useCallback(() => setSharing(true), []);
  const stopSharing = useCallback(() => setSharing(false), []);
  const editSettings = useCallback(() => setEditingSettings(true), []);
  const stopEditingSettings = useCallback(() => setEditingSettings(false), []);
  const answer = useCallback(() => setAnswering(true), []);
  const stopAnswering = useCallback(() => setAnswering(false), []);
  const keepMember = useCallback(() => setRemoving(null), []);
  const stopRun = useCallback((id: string) => client?.cancelRun(id), [client]);
  // Tabs re-render when a tab turns saved or unsaved, not at every count.
  const unsaved = useUnsavedTabs(documents);
  // Stable callbacks so the memoised panels re-render only when their data changes.
  const sendChat = useCallback((text: string) => client?.sendChat(text), [client]);
  const retryChat = useCallback((id: string) => client?.retryChat(id), [client]);
  const sendInput = useCallback((run: string, data: string, eof?: boolean) => client?.sendStdin(run, data, eof), [client]);
  const presence = snapshot?.participants;
  const membersKey = `sessions/${sessionId}/participants`;
  const manage = useMemo(
    () =>
      isOwner
        ? {
            setRole: async (userId: string, role: "editor" | "viewer") => {
              const before = cache.set<Participant[]>(membersKey, (ms) => (ms ?? []).map((m) => (m.userId === userId ? { ...m, role } : m)));
              try {
                await api.setParticipantRole(sessionId, userId, role);
              } catch (err) {
                cache.set(membersKey, before ?? []);
                toast.show("error", `Could not change the role: ${describeError(err)}`);
              }
            },
            remove: (userId: string, username: string) => setRemoving({ userId, username }),
          }
        : undefined,
    [isOwner, cache, membersKey, api, sessionId, toast],
  );
  const confirmRemove = useCallback(async () => {
    const who = removing;
    setRemoving(null);
    if (!who) return;
    const before = cache.set<Participant[]>(membersKey, (ms) => (ms ?? []).filter((m) => m.userId !== who.userId));
    try {
      await api.removeParticipant(sessionId, who.userId);
      toast.show("success", `${who.username} no longer has access.`);
    } catch (err) {
      cache.set(membersKey, before ?? []);
      toast.show("error", `Could not remove ${who.username}: ${describeError(err)}`);
    }
  }, [removing, cache, membersKey, api, sessionId, toast]);
  const nameOf = useCallback(
    (id: string | undefined) => members.data?.find((m) => m.userId === id)?.username ?? presence?.find((p) => p.userId === id)?.username ?? "",
    [members.data, presence],
  );
  usePlaygroundShortcuts({ run, canRun: canEdit, unconfirmed, online: snapshot?.connection === "open" && joined, showShortcuts });

  const sessionData = session.data;
  const changeLanguage = useCallback(
    async (id: string) => {
      if (!sessionData) return;
      const before = cache.set<CodingSession>(sessionKey, { ...sessionData, language: id });
      try {
        cache.set(sessionKey, await api.updateSession(sessionId, { language: id }));
      } catch (err) {
        if (before) cache.set(sessionKey, before);
        toast.show("error", `Could not change the language: ${describeError(err)}`);
      }
    },
    [sessionData, cache, sessionKey, api, sessionId, toast],
  );
  const saveSettings = useCallback(
    async (patch: Parameters<typeof api.updateSession>[1]) => {
      cache.set(sessionKey, await api.updateSession(sessionId, patch));
      cache.invalidate("sessions/");
    },
    [cache, sessionKey, api, sessionId],
  );

  const openFiles = useMemo(() => openIds.map((id) => files.find((f) => f.id === id)).filter((f): f is FileEntry => Boolean(f)), [openIds, files]);
  const myActiveRunId = useMemo(() => [...runs].reverse().find((r) => r.phase !== "finished" && (!r.userId || r.userId === user.id))?.id ?? null, [runs, user.id]);
  const pendingRequests = useMemo(() => (requests.data ?? NONE).filter((r: AccessRequest) => r.status === "pending").length, [requests.data]);
  const connection = snapshot?.connection ?? "connecting";
  const barUnconfirmed = useBarUnconfirmed(connection === "open" && joined, unconfirmed);
  // The header is one element kept between renders while its inputs stay the
  // same, so socket events that only touch a panel do not re-render it.
  const header = useMemo(
    () => (
          <AppHeader>
            <PlaygroundToolbar
              session={sessionData}
              languages={languages.data}
              isOwner={isOwner}
              canRun={canEdit}
              viewOnly={joined && !canEdit}
              activeRunId={myActiveRunId}
              connection={connection}
              joined={joined}
              unconfirmed={barUnconfirmed}
              onLanguage={changeLanguage}
              onRun={run}
              onStop={stopRun}
              onShare={share}
              onSettings={editSettings}
              pendingRequests={pendingRequests}
              onRequests={answer}
              onShortcuts={showShortcuts}
            />
          </AppHeader>
    ),
    [sessionData, languages.data, isOwner, canEdit, joined, myActiveRunId, connection, barUnconfirmed, changeLanguage, run, stopRun, share, editSettings, pendingRequests, answer, showShortcuts],
  );

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

  return (
    <div className="playground" data-mobile-panel={mobilePanel}>
      {header}

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
          {joined ? <FileExplorer files={files} activeId={activeId} canEdit={canEdit} actions={fileActions} /> : <Skeleton label="Loading files" lines={5} />}
        </div>
        <div className="area-editor">
          <EditorTabs
            files={openFiles}
            activeId={activeId}
            unsaved={unsaved}
            onSelect={setActiveId}
            onClose={closeTab}
            panelId={editorPanelId}
          />
          <div id={editorPanelId} role="tabpanel" aria-labelledby={activeId ? `tab-${activeId}` : undefined} className="editor-host">
            {activeDoc && activeFile ? (
              <CodeEditor key={activeDoc.file} doc={activeDoc} loaded={docLoaded && modeReady} label={activeFile.name} />
            ) : joined ? (
              <p className="muted small-pad">{files.length ? "Open a file from the list." : canEdit ? "Create a file to start." : "This session has no files yet."}</p>
            ) : (
              <Skeleton label="Connecting to the session" lines={8} />
            )}
          </div>
        </div>
        <div className="area-side">
          <ParticipantsList members={members.data ?? NONE} presence={presence ?? NONE} meId={snapshot?.me?.id} manage={manage} />
          <ChatPanel messages={snapshot?.chat ?? NONE} meId={snapshot?.me?.id ?? user.id} onSend={sendChat} onRetry={retryChat} onLoadOlder={loadOlderChat} />
        </div>
        <div className="area-run">
          <RunPanel
            runs={runs}
            history={history.data}
            historyLoading={history.loading}
            meId={user.id}
            stdin={stdin}
            onStdinChange={setStdin}
            onSendInput={sendInput}
            nameOf={nameOf}
          />
        </div>
      </main>
      <ShortcutsDialog open={shortcutsOpen} onClose={hideShortcuts} />
      <ShareDialog session={sharing ? (sessionData ?? null) : null} onClose={stopSharing} />
      <AccessRequestsDialog session={answering ? (sessionData ?? null) : null} onClose={stopAnswering} />
      <SessionSettingsDialog session={editingSettings ? (sessionData ?? null) : null} onClose={stopEditingSettings} onSave={saveSettings} />
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.username ?? ""}?`}
        description="They lose access to this session; you can invite them again later."
        confirmLabel="Remove"
        onConfirm={confirmRemove}
        onClose={keepMember}
      />
    </div>
  );
}
