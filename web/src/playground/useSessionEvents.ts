import { useCallback, useEffect, useState, type RefObject } from "react";
import { describeError } from "../api/errors";
import type { FileEntry } from "../api/types";
import { USER_KEY } from "../app/auth";
import { useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import type { SessionClient, SessionSnapshot } from "../collab/sessionClient";

/**
 * What the session's socket reports outside the editor: chat history on
 * join, notifications, server errors and lost edits as toasts, and runs via
 * POST /api/execute when the server does not take them over the socket.
 */
export function useSessionEvents(
  client: SessionClient | null,
  snapshot: SessionSnapshot | null,
  sessionId: string,
  files: RefObject<readonly FileEntry[]>,
): { loadOlderChat: (() => void) | undefined } {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const joined = snapshot?.joined ?? false;
  // Where the next older page of chat starts; undefined once all is loaded.
  const [olderCursor, setOlderCursor] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (!client || !joined) return;
    api
      .messagePage(sessionId)
      .then((page) => {
        client.addHistory(page.messages);
        setOlderCursor(page.nextBefore);
      })
      .catch(() => {});
  }, [api, client, joined, sessionId]);

  const loadOlder = useCallback(() => {
    if (!client || !olderCursor) return;
    api
      .messagePage(sessionId, olderCursor)
      .then((page) => {
        client.addHistory(page.messages);
        setOlderCursor(page.nextBefore);
      })
      .catch((err: unknown) => toast.show("error", `Could not load older messages: ${describeError(err)}`));
  }, [api, client, olderCursor, sessionId, toast]);

  useEffect(() => {
    if (!client) return;
    const offNotification = client.onNotification((n) => {
      cache.invalidate("notifications/");
      // It may be a request to join this session.
      cache.invalidate(`sessions/${sessionId}/requests`);
      toast.show("info", n.title || n.body || "New notification");
    });
    const offDiscarded = client.onEditsDiscarded((file, text) => {
      const name = files.current?.find((f) => f.id === file)?.name ?? "a file";
      toast.show("error", `Your offline edits to ${name} could not be merged.`, {
        label: "Copy my version",
        run: () => void navigator.clipboard?.writeText(text),
      });
    });
    const offFallback = client.onRunFallback(async (request) => {
      const id = `local-run-${Date.now()}`;
      client.upsertLocalRun(id, "running");
      try {
        const sources = (files.current ?? []).filter((f) => !f.isFolder && !f.id.startsWith("local-"));
        const withContent = await Promise.all(
          sources.map(async (f) => {
            const state = client.peekDocument(f.id)?.state;
            return { path: f.path, content: state ? state.doc.toString() : (await api.getFile(f.id)).content };
          }),
        );
        client.upsertLocalRun(id, "finished", await api.execute({ ...request, files: withContent, sessionId }));
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
    return () => {
      offNotification();
      offDiscarded();
      offFallback();
    };
  }, [client, api, cache, toast, sessionId, files]);

  const lastError = snapshot?.lastError;
  useEffect(() => {
    if (lastError && client) {
      toast.show("error", lastError.message || lastError.code);
      client.dismissError();
    }
  }, [lastError, client, toast]);

  // A socket that keeps failing may mean we were signed out (the upgrade
  // answers 401, which the browser does not show us): ask, and if so the
  // router sends us to the sign-in page.
  const reconnecting = snapshot?.connection === "reconnecting";
  useEffect(() => {
    if (!reconnecting) return;
    const timer = window.setTimeout(() => {
      api
        .currentUser()
        .then((user) => {
          if (user === null) cache.set(USER_KEY, null);
        })
        .catch(() => {});
    }, 3000);
    return () => window.clearTimeout(timer);
  }, [reconnecting, api, cache]);

  // A finished run belongs in the history list.
  const finished = (snapshot?.runs ?? []).filter((r) => r.phase === "finished").length;
  useEffect(() => {
    if (finished > 0) cache.invalidate(`sessions/${sessionId}/executions`);
  }, [finished, cache, sessionId]);

  // Someone joined or left: the member list (roles) may have changed too.
  const presenceKey = (snapshot?.participants ?? []).map((p) => p.userId).sort().join(",");
  useEffect(() => {
    if (presenceKey) cache.invalidate(`sessions/${sessionId}/participants`);
  }, [presenceKey, cache, sessionId]);

  return { loadOlderChat: olderCursor ? loadOlder : undefined };
}
