import { useId, useState, type FormEvent } from "react";
import { ApiError, describeError } from "../api/errors";
import { useAuthActions } from "../app/auth";
import { Link, useRouter } from "../app/router";
import { AppHeader } from "../components/AppHeader";

type Mode = "login" | "signup";

/** Sign in and sign up share one form; server validation messages appear next to their field. */
export function AuthPage({ mode, next }: { mode: Mode; next: string | null }) {
  const { signIn, signUp } = useAuthActions();
  const { navigate } = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { username: useId(), password: useId(), email: useId(), form: useId() };
  const isSignup = mode === "signup";

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const username = String(data.get("username") ?? "").trim();
    const password = String(data.get("password") ?? "");
    const email = String(data.get("email") ?? "").trim();
    setBusy(true);
    setError(null);
    try {
      if (isSignup) await signUp(username, password, email || undefined);
      else await signIn(username, password);
      navigate(next ?? "/", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const fieldError = (field: string) => (error instanceof ApiError ? error.fieldMessage(field) : undefined);
  const formError =
    error instanceof ApiError && error.fields.length > 0 && error.fields.every((f) => f.field) ? null : error ? describeError(error) : null;
  const nextQuery = next ? `?next=${encodeURIComponent(next)}` : "";

  return (
    <>
      <AppHeader />
      <main id="main" className="auth-page">
        <h1>{isSignup ? "Create your account" : "Sign in to CodeBuddy"}</h1>
        <form onSubmit={submit} noValidate aria-describedby={formError ? ids.form : undefined}>
          {formError && (
            <p id={ids.form} className="form-error" role="alert">
              {formError}
            </p>
          )}
          <Field id={ids.username} label="Username" error={fieldError("username")}>
            <input
              id={ids.username}
              name="username"
              autoComplete="username"
              required
              minLength={3}
              maxLength={32}
              pattern="[A-Za-z0-9_.\-]+"
              aria-invalid={Boolean(fieldError("username"))}
              aria-describedby={`${ids.username}-hint ${ids.username}-error`}
            />
          </Field>
          {isSignup && (
            <Field id={ids.email} label="Email (optional)" error={fieldError("email")}>
              <input id={ids.email} name="email" type="email" autoComplete="email" aria-invalid={Boolean(fieldError("email"))} aria-describedby={`${ids.email}-error`} />
            </Field>
          )}
          <Field id={ids.password} label="Password" error={fieldError("password")} hint={isSignup ? "At least 8 characters." : undefined}>
            <input
              id={ids.password}
              name="password"
              type="password"
              autoComplete={isSignup ? "new-password" : "current-password"}
              required
              minLength={isSignup ? 8 : undefined}
              aria-invalid={Boolean(fieldError("password"))}
              aria-describedby={`${ids.password}-hint ${ids.password}-error`}
            />
          </Field>
          <button type="submit" className="button wide" disabled={busy}>
            {busy ? (isSignup ? "Creating account…" : "Signing in…") : isSignup ? "Create account" : "Sign in"}
          </button>
        </form>
        <p className="muted">
          {isSignup ? (
            <>
              Already have an account? <Link href={`/login${nextQuery}`}>Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link href={`/signup${nextQuery}`}>Create an account</Link>
            </>
          )}
        </p>
      </main>
    </>
  );
}

function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string | undefined; hint?: string | undefined; children: React.ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      <span id={`${id}-hint`} className="hint">
        {hint}
      </span>
      <span id={`${id}-error`} className="field-error">
        {error}
      </span>
    </div>
  );
}
