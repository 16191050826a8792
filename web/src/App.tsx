import { lazy, Suspense, useEffect, useMemo } from "react";
import { ApiClient } from "./api/client";
import { useCurrentUser } from "./app/auth";
import { ErrorBoundary } from "./app/ErrorBoundary";
import { QueryCache } from "./app/queryCache";
import { RouterProvider, useRouter, type Route } from "./app/router";
import { ServicesProvider } from "./app/services";
import { ThemeProvider } from "./app/theme";
import { ToastProvider } from "./app/toasts";
import { Skeleton } from "./components/Skeleton";
import { AuthPage } from "./pages/AuthPage";
import { DashboardPage } from "./pages/DashboardPage";
import { InvitePage } from "./pages/InvitePage";
import { LandingPage } from "./pages/LandingPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { SettingsPage } from "./pages/SettingsPage";

// The editor and its collaboration code load only when a session is opened.
const PlaygroundPage = lazy(() => import("./playground/PlaygroundPage"));

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

  if (user === undefined && route.name !== "login" && route.name !== "signup") {
    return (
      <main id="main" className="narrow-page">
        <Skeleton label="Loading" />
      </main>
    );
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
        <Suspense
          fallback={
            <main id="main" className="narrow-page">
              <Skeleton label="Opening the session" lines={6} />
            </main>
          }
        >
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
