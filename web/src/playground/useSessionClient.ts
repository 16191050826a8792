import { useEffect, useState, useSyncExternalStore } from "react";
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
    setClient(c);
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

  const snapshot = useSyncExternalStore(
    client?.subscribe ?? noopSubscribe,
    () => client?.getSnapshot() ?? null,
  );
  return { client, snapshot };
}

const noopSubscribe = () => () => {};
