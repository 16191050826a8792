import { useState } from "react";
import { describeError } from "../api/errors";
import { Link } from "../app/router";
import { useApi } from "../app/services";

/** Private sessions answer 404 to outsiders, so this covers "missing" too and offers to ask. */
export function AccessDenied({ sessionId }: { sessionId: string }) {
  const api = useApi();
  const [state, setState] = useState<"idle" | "sending" | "sent" | { error: unknown }>("idle");
  return (
    <main id="main" className="narrow-page">
      <h1>You don’t have access to this session</h1>
      <p>It may be private, or it may not exist. You can ask the owner to let you in.</p>
      {state === "sent" ? (
        <p role="status">Request sent. You’ll get a notification when the owner answers.</p>
      ) : (
        <button
          type="button"
          className="button"
          disabled={state === "sending"}
          onClick={() => {
            setState("sending");
            api
              .requestAccess(sessionId)
              .then(() => setState("sent"))
              .catch((error: unknown) => setState({ error }));
          }}
        >
          Request access
        </button>
      )}
      {typeof state === "object" && (
        <p className="form-error" role="alert">
          {describeError(state.error)}
        </p>
      )}
      <p>
        <Link href="/">Back to your sessions</Link>
      </p>
    </main>
  );
}
