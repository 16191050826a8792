import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { Theme } from "../api/types";
import { useCurrentUser } from "./auth";
import { useApi } from "./services";

const STORAGE_KEY = "codebuddy.theme";

interface ThemeValue {
  theme: Theme;
  /** What is on screen: the system preference resolved. */
  resolved: "light" | "dark";
  setTheme: (theme: Theme) => void;
}

const ThemeContext = createContext<ThemeValue | null>(null);

function readStored(): Theme {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

function systemPrefersDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

/**
 * Light, dark or the system's choice; kept in localStorage for the first
 * paint and in the account (PATCH /api/user) so it follows the user around.
 */
export function ThemeProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const { user } = useCurrentUser();
  const [theme, setThemeState] = useState<Theme>(readStored);
  const [systemDark, setSystemDark] = useState(systemPrefersDark);

  useEffect(() => {
    if (typeof window.matchMedia !== "function") return;
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => setSystemDark(mq.matches);
    mq.addEventListener("change", onChange);
    return () => mq.removeEventListener("change", onChange);
  }, []);

  // The account's choice wins once we know it.
  const accountTheme = user?.theme;
  useEffect(() => {
    if (accountTheme === "light" || accountTheme === "dark" || accountTheme === "system") setThemeState(accountTheme);
  }, [accountTheme]);

  const resolved = theme === "system" ? (systemDark ? "dark" : "light") : theme;
  useEffect(() => {
    document.documentElement.dataset.theme = resolved;
    try {
      localStorage.setItem(STORAGE_KEY, theme);
    } catch {
      // Private mode: the account still remembers.
    }
  }, [resolved, theme]);

  const signedIn = Boolean(user);
  const setTheme = useCallback(
    (next: Theme) => {
      setThemeState(next);
      if (signedIn) api.updateUser({ theme: next }).catch(() => {});
    },
    [api, signedIn],
  );
  const value = useMemo(() => ({ theme, resolved, setTheme }), [theme, resolved, setTheme]);
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

export function useTheme(): ThemeValue {
  const v = useContext(ThemeContext);
  if (!v) throw new Error("useTheme outside ThemeProvider");
  return v;
}
