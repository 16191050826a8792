import { useCurrentUser } from "../app/auth";
import { AppHeader } from "../components/AppHeader";
import { Skeleton } from "../components/Skeleton";
import { ThemeSelect } from "../components/ThemeSelect";

/** Profile and preferences; the theme is stored in the account. */
export function SettingsPage() {
  const { user } = useCurrentUser();
  return (
    <>
      <AppHeader />
      <main id="main" className="narrow-page">
        <h1>Settings</h1>
        {user === undefined ? (
          <Skeleton label="Loading profile" />
        ) : (
          <>
            <section aria-labelledby="profile-h">
              <h2 id="profile-h">Profile</h2>
              <dl className="profile">
                <dt>Username</dt>
                <dd>{user?.username}</dd>
                {user?.email && (
                  <>
                    <dt>Email</dt>
                    <dd>{user.email}</dd>
                  </>
                )}
              </dl>
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
