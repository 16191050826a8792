import { useEffect, useRef, useState } from "react";
import { describeError } from "../api/errors";
import { useQueryCache } from "../app/queryCache";
import { Link, useRouter } from "../app/router";
import { useApi } from "../app/services";
import { AppHeader } from "../components/AppHeader";

/** Accepts a share link and opens the session it grants. */
export function InvitePage({ token }: { token: string }) {
  const api = useApi();
  const cache = useQueryCache();
  const { navigate } = useRouter();
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    api
      .acceptInvite(token)
      .then(({ session }) => {
        cache.invalidate("sessions/");
        navigate(`/s/${encodeURIComponent(session.id)}`, { replace: true });
      })
      .catch(setError);
  }, [api, cache, navigate, token]);
  return (
    <>
      <AppHeader />
      <main id="main" className="narrow-page">
        <h1>Joining session</h1>
        {error ? (
          <div role="alert">
            <p>This invite link did not work: {describeError(error)}</p>
            <Link href="/">Back to the dashboard</Link>
          </div>
        ) : (
          <p role="status">Accepting the invite…</p>
        )}
      </main>
    </>
  );
}
