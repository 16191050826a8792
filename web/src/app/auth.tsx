import { useCallback } from "react";
import type { User } from "../api/types";
import { useQuery, useQueryCache } from "./queryCache";
import { useRouter } from "./router";
import { useApi } from "./services";

export const USER_KEY = "user";

/** The signed-in user (null when signed out; undefined while loading). */
export function useCurrentUser(): { user: User | null | undefined; error: unknown; refetch: () => void } {
  const api = useApi();
  const { route } = useRouter();
  // The sign-in pages do not ask who is signed in: the 401 answer would be the
  // only console error on the page a first-time visitor sees.
  const ask = route.name !== "login" && route.name !== "signup";
  const q = useQuery<User | null>(ask ? USER_KEY : null, () => api.currentUser());
  return { user: q.loading ? undefined : (q.data ?? (q.error ? undefined : null)), error: q.error, refetch: q.refetch };
}

export function useAuthActions() {
  const api = useApi();
  const cache = useQueryCache();
  const signIn = useCallback(
    async (username: string, password: string) => {
      const user = await api.login({ username, password });
      cache.clear();
      cache.set(USER_KEY, user);
      return user;
    },
    [api, cache],
  );
  const signUp = useCallback(
    async (username: string, password: string, email?: string) => {
      const user = await api.register(email ? { username, password, email } : { username, password });
      cache.clear();
      cache.set(USER_KEY, user);
      return user;
    },
    [api, cache],
  );
  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      cache.clear();
      cache.set(USER_KEY, null);
    }
  }, [api, cache]);
  return { signIn, signUp, signOut };
}
