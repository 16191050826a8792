import { startTransition, useEffect, useState } from "react";
import type { Extension } from "@codemirror/state";
import { Connection, defaultSocketUrl } from "../collab/connection";
import { SessionClient, type SessionSnapshot } from "../collab/sessionClient";

/**
 * One Connection + SessionClient per open playground, torn down on leave.
 * `documentExtensions` is read through a ref-like getter so it may change.
 */
export function useSessionClient(sessionId: string, documentExtensions: (file: string) => Extension): {
  client: SessionClient | null;
  snapshot: SessionSnapshot | null;
} {
  const [client, setClient] = useState<SessionClient | null>(null);

  useEffect(() => {
    const connection = new Connection({ url: defaultSocketUrl() });
    const c = new SessionClient({ session: sessionId, connection, documentExtensions });
    connection.start();
    // A transition, like the socket's updates below: the page's first render
    // with a client is sliced instead of being one blocking task.
    startTransition(() => setClient(c));
    const online = () => connection.reconnectNow();
    const offline = () => connection.interrupt();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      c.dispose();
      connection.stop();
      setClient(null);
    };
    // documentExtensions is stable per page (a useCallback over refs).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionId]);

  // Socket events re-render the page as a transition: React slices the work
  // so a burst of frames (join, files, docs, presence) never blocks input.
  // Keystrokes do not wait for this: CodeMirror owns the editor's state.
  const [snapshot, setSnapshot] = useState<SessionSnapshot | null>(null);
  useEffect(() => {
    if (!client) {
      setSnapshot(null);
      return;
    }
    startTransition(() => setSnapshot(client.getSnapshot()));
    return client.subscribe(() => startTransition(() => setSnapshot(client.getSnapshot())));
  }, [client]);
  return { client, snapshot };
}
