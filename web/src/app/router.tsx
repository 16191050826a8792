import { createContext, useCallback, useContext, useEffect, useMemo, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from "react";

export type Route =
  | { name: "home" }
  | { name: "login"; next: string | null }
  | { name: "signup"; next: string | null }
  | { name: "settings" }
  | { name: "session"; id: string }
  | { name: "invite"; token: string }
  | { name: "notFound" };

/** Maps a URL path (and query) to a route; the server answers every path with index.html. */
export function parseRoute(pathname: string, search = ""): Route {
  const next = new URLSearchParams(search).get("next");
  const safeNext = next && next.startsWith("/") && !next.startsWith("//") ? next : null;
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: "home" };
  if (parts.length === 1 && parts[0] === "login") return { name: "login", next: safeNext };
  if (parts.length === 1 && parts[0] === "signup") return { name: "signup", next: safeNext };
  if (parts.length === 1 && parts[0] === "settings") return { name: "settings" };
  if (parts.length === 2 && parts[0] === "s") return { name: "session", id: parts[1]! };
  if (parts.length === 2 && parts[0] === "invite") return { name: "invite", token: parts[1]! };
  return { name: "notFound" };
}

interface RouterValue {
  route: Route;
  path: string;
  navigate: (to: string, options?: { replace?: boolean }) => void;
}

const RouterContext = createContext<RouterValue | null>(null);

export function RouterProvider({ children }: { children: ReactNode }) {
  const [location, setLocation] = useState(() => ({ path: window.location.pathname, search: window.location.search }));
  useEffect(() => {
    const onPop = () => setLocation({ path: window.location.pathname, search: window.location.search });
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to: string, options?: { replace?: boolean }) => {
    if (options?.replace) window.history.replaceState(null, "", to);
    else window.history.pushState(null, "", to);
    setLocation({ path: window.location.pathname, search: window.location.search });
    // A new page starts at the top (jsdom has no scrolling; skip when already there).
    if (document.documentElement.scrollTop > 0) window.scrollTo(0, 0);
  }, []);
  const value = useMemo(
    () => ({ route: parseRoute(location.path, location.search), path: location.path + location.search, navigate }),
    [location, navigate],
  );
  return <RouterContext.Provider value={value}>{children}</RouterContext.Provider>;
}

export function useRouter(): RouterValue {
  const value = useContext(RouterContext);
  if (!value) throw new Error("useRouter outside RouterProvider");
  return value;
}

/** An <a> that navigates without a page load (modifier clicks still open new tabs). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { navigate } = useRouter();
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
