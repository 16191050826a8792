import { useId, useState, type FormEvent } from "react";
import { ApiError, describeError } from "../api/errors";
import { USER_KEY, useCurrentUser } from "../app/auth";
import { useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import { AppHeader } from "../components/AppHeader";
import { Skeleton } from "../components/Skeleton";
import { ThemeSelect } from "../components/ThemeSelect";

/** Profile and preferences; both are stored in the account. */
export function SettingsPage() {
  const { user } = useCurrentUser();
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const emailId = useId();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const saveEmail = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const email = String(new FormData(e.currentTarget).get("email") ?? "").trim();
    setBusy(true);
    setError(null);
    try {
      cache.set(USER_KEY, await api.updateUser({ email }));
      toast.show("success", "Email saved.");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const emailError = error instanceof ApiError ? (error.fieldMessage("email") ?? describeError(error)) : error ? describeError(error) : undefined;

  return (
    <>
      <AppHeader />
      <main id="main" className="narrow-page">
        <h1>Settings</h1>
        {!user ? (
          <Skeleton label="Loading profile" />
        ) : (
          <>
            <section aria-labelledby="profile-h">
              <h2 id="profile-h">Profile</h2>
              <dl className="profile">
                <dt>Username</dt>
                <dd>{user.username}</dd>
              </dl>
              <form onSubmit={saveEmail} className="field" noValidate>
                <label htmlFor={emailId}>Email (optional)</label>
                <div className="inline">
                  <input id={emailId} name="email" type="email" autoComplete="email" defaultValue={user.email ?? ""} aria-invalid={Boolean(emailError)} aria-describedby={`${emailId}-e`} />
                  <button type="submit" className="button secondary" disabled={busy}>
                    Save email
                  </button>
                </div>
                <span id={`${emailId}-e`} className="field-error">
                  {emailError}
                </span>
              </form>
            </section>
            <section aria-labelledby="appearance-h">
              <h2 id="appearance-h">Appearance</h2>
              <ThemeSelect />
            </section>
          </>
        )}
      </main>
    </>
  );
}
