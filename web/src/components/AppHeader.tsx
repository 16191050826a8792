import { memo, type ReactNode } from "react";
import { useAuthActions, useCurrentUser } from "../app/auth";
import { Link, useRouter } from "../app/router";
import { useToast } from "../app/toasts";
import { describeError } from "../api/errors";
import { NotificationsMenu } from "./NotificationsMenu";
import { ThemeSelect } from "./ThemeSelect";

/** The bar on top of every page: home link, optional page controls, notifications, account. */
export const AppHeader = memo(function AppHeader({ children }: { children?: ReactNode }) {
  return (
    <header className="app-header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand">
        CodeBuddy
      </Link>
      <div className="header-middle">{children}</div>
      <AccountActions />
    </header>
  );
});

/** Theme, notifications and the account: its own component, so new page controls do not re-render it. */
const AccountActions = memo(function AccountActions() {
  const { user } = useCurrentUser();
  const { signOut } = useAuthActions();
  const { navigate } = useRouter();
  const toast = useToast();
  return (
    <nav className="header-actions" aria-label="Account">
      <ThemeSelect compact />
      {user ? (
        <>
          <NotificationsMenu />
          <Link href="/settings" className="header-link">
            {user.username}
          </Link>
          <button
            type="button"
            className="button secondary small"
            onClick={() =>
              signOut()
                .then(() => navigate("/login"))
                .catch((err) => toast.show("error", describeError(err)))
            }
          >
            Sign out
          </button>
        </>
      ) : (
        <>
          <Link href="/login" className="header-link">
            Sign in
          </Link>
          <Link href="/signup" className="button small">
            Sign up
          </Link>
        </>
      )}
    </nav>
  );
});
