import { lazy, Suspense, useEffect, useMemo } from "react";
import { ApiClient } from "./api/client";
import { useCurrentUser } from "./app/auth";
import { ErrorBoundary } from "./app/ErrorBoundary";
import { loadPlayground } from "./app/loadPlayground";
import { QueryCache } from "./app/queryCache";
import { useQueryCache } from "./app/queryCache";
import { parseRoute, RouterProvider, useRouter, type Route } from "./app/router";
import { ServicesProvider, useApi } from "./app/services";
import { prefetchSession } from "./app/sessionQueries";
import { ThemeProvider } from "./app/theme";
import { ToastProvider } from "./app/toasts";
import { Skeleton } from "./components/Skeleton";
import { AuthPage } from "./pages/AuthPage";
import { DashboardPage } from "./pages/DashboardPage";
import { InvitePage } from "./pages/InvitePage";
import { LandingPage } from "./pages/LandingPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { SettingsPage } from "./pages/SettingsPage";
import { OnboardingTip } from "./playground/OnboardingTip";

// The editor and its collaboration code load only when a session is opened.
const PlaygroundPage = lazy(loadPlayground);

// Opening a session link directly: fetch the playground while /api/user is
// still in flight instead of after it (one round trip less before the editor).
// A task of its own: asking for its files is not part of evaluating this module.
if (typeof window !== "undefined" && parseRoute(window.location.pathname).name === "session") setTimeout(() => void loadPlayground());

export function App({ api, cache }: { api?: ApiClient; cache?: QueryCache } = {}) {
  const services = useMemo(() => ({ api: api ?? new ApiClient(), cache: cache ?? new QueryCache() }), [api, cache]);
  return (
    <ServicesProvider api={services.api} cache={services.cache}>
      <RouterProvider>
        <ThemeProvider>
          <ToastProvider>
            <Routes />
          </ToastProvider>
        </ThemeProvider>
      </RouterProvider>
    </ServicesProvider>
  );
}

function needsAccount(route: Route): boolean {
  return route.name === "session" || route.name === "settings" || route.name === "invite";
}

function Routes() {
  const { route, path, navigate } = useRouter();
  const { user } = useCurrentUser();

  useEffect(() => {
    if (user === null && needsAccount(route)) navigate(`/login?next=${encodeURIComponent(path)}`, { replace: true });
  }, [user, route, path, navigate]);

  useEffect(() => {
    document.title = titleFor(route);
  }, [route]);

  const api = useApi();
  const cache = useQueryCache();
  const sessionId = route.name === "session" && user ? route.id : null;
  useEffect(() => {
    if (sessionId) prefetchSession(cache, api, sessionId);
  }, [cache, api, sessionId]);

  if (user === undefined && route.name !== "login" && route.name !== "signup") {
    return route.name === "session" ? <PlaygroundSkeleton /> : <PageSkeleton />;
  }

  let page: React.ReactNode;
  switch (route.name) {
    case "home":
      page = user ? <DashboardPage user={user} /> : <LandingPage />;
      break;
    case "login":
    case "signup":
      page = <AuthPage key={route.name} mode={route.name} next={route.next} />;
      break;
    case "settings":
      page = user ? <SettingsPage /> : null;
      break;
    case "invite":
      page = user ? <InvitePage token={route.token} /> : null;
      break;
    case "session":
      page = user ? (
        <Suspense fallback={<PlaygroundSkeleton />}>
          <PlaygroundPage key={route.id} sessionId={route.id} user={user} />
        </Suspense>
      ) : null;
      break;
    case "notFound":
      page = <NotFoundPage />;
      break;
  }
  return <ErrorBoundary resetKey={path}>{page}</ErrorBoundary>;
}

/** The page frame while loading: the same header box the pages use, so nothing jumps. */
function PageSkeleton() {
  return (
    <>
      <header className="app-header">
        <span className="brand">CodeBuddy</span>
      </header>
      <main id="main" className="narrow-page">
        <Skeleton label="Loading" />
      </main>
    </>
  );
}

/** The playground's layout with placeholders, shown while its code and data load. */
function PlaygroundSkeleton() {
  return (
    <div className="playground">
      <header className="app-header">
        <span className="brand">CodeBuddy</span>
        <div className="header-middle">
          <div className="playground-bar" />
        </div>
      </header>
      <OnboardingTip />
      <main id="main" className="playground-grid">
        <div className="area-files" />
        <div className="area-editor">
          <div className="editor-tabs" />
          <Skeleton label="Opening the session" lines={6} />
        </div>
        <div className="area-side" />
        <div className="area-run" />
      </main>
    </div>
  );
}

function titleFor(route: Route): string {
  switch (route.name) {
    case "login":
      return "Sign in · CodeBuddy";
    case "signup":
      return "Sign up · CodeBuddy";
    case "settings":
      return "Settings · CodeBuddy";
    case "session":
      return "Session · CodeBuddy";
    case "notFound":
      return "Not found · CodeBuddy";
    default:
      return "CodeBuddy";
  }
}
