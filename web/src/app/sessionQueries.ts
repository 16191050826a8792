import type { ApiClient } from "../api/client";
import type { QueryCache } from "./queryCache";

/** The query cache's keys for what a session page shows first (the language list also serves the dashboard). */
export const sessionKey = (id: string) => `sessions/${id}`;
export const LANGUAGES_KEY = "languages";

/**
 * Asks for a session and the language list ahead of the playground page
 * (App.tsx, while the page's code loads). The page reads the same keys: it
 * then mounts with the session's language known, so its editor mode loads in
 * parallel with joining instead of after the session's answer, and its first
 * effects start fewer requests in one task.
 */
export function prefetchSession(cache: QueryCache, api: ApiClient, id: string): void {
  cache.fetch(sessionKey(id), () => api.getSession(id)).catch(() => {});
  cache.fetch(LANGUAGES_KEY, () => api.languages()).catch(() => {});
}
