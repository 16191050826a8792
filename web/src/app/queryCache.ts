import { createContext, startTransition, useCallback, useContext, useEffect, useRef, useState } from "react";
import { yieldToMain } from "./yieldToMain";

interface Entry {
  data: unknown;
  error: unknown;
  status: "idle" | "loading" | "success" | "error";
  /** Set while a fetch runs, so concurrent readers share one request. */
  promise: Promise<unknown> | null;
  fetcher: (() => Promise<unknown>) | null;
  stale: boolean;
}

export interface QueryState<T> {
  data: T | undefined;
  error: unknown;
  /** True only before the first answer: show a skeleton, not a spinner over data. */
  loading: boolean;
  refetch: () => void;
}

/**
 * The one place server state lives in the client: entries by key, fetched
 * once and shared, invalidated after mutations, patched for optimistic updates.
 */
export class QueryCache {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Map<string, Set<() => void>>();

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { data: undefined, error: undefined, status: "idle", promise: null, fetcher: null, stale: true };
      this.entries.set(key, e);
    }
    return e;
  }

  snapshot(key: string): Entry {
    return this.entry(key);
  }

  subscribe(key: string, fn: () => void): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  private emit(key: string): void {
    for (const fn of [...(this.listeners.get(key) ?? [])]) fn();
  }

  fetch<T>(key: string, fetcher: () => Promise<T>, force = false): Promise<T> {
    const e = this.entry(key);
    e.fetcher = fetcher;
    if (e.promise) return e.promise as Promise<T>;
    if (!force && !e.stale && e.status === "success") return Promise.resolve(e.data as T);
    // Each request starts in a task of its own: starting one costs 1-3 ms of
    // main thread, and a page's effects ask for several at once.
    const promise = yieldToMain()
      .then(fetcher)
      .then(
        (data) => {
          this.entries.set(key, { ...this.entry(key), data, error: undefined, status: "success", promise: null, stale: false });
          this.emit(key);
          return data;
        },
        (error: unknown) => {
          this.entries.set(key, { ...this.entry(key), error, status: "error", promise: null, stale: false });
          this.emit(key);
          throw error;
        },
      );
    this.entries.set(key, { ...e, promise, status: e.status === "success" ? "success" : "loading" });
    this.emit(key);
    return promise;
  }

  get<T>(key: string): T | undefined {
    return this.entries.get(key)?.data as T | undefined;
  }

  /** Optimistic update: replace the cached value (returns the previous one to roll back). */
  set<T>(key: string, update: T | ((old: T | undefined) => T)): T | undefined {
    const e = this.entry(key);
    const old = e.data as T | undefined;
    const data = typeof update === "function" ? (update as (o: T | undefined) => T)(old) : update;
    this.entries.set(key, { ...e, data, status: "success", error: undefined });
    this.emit(key);
    return old;
  }

  /** Marks keys starting with `prefix` stale and refetches those somebody watches. */
  invalidate(prefix: string): void {
    for (const [key, e] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      e.stale = true;
      if (e.fetcher && (this.listeners.get(key)?.size ?? 0) > 0) this.fetch(key, e.fetcher, true).catch(() => {});
    }
  }

  clear(): void {
    this.entries.clear();
    for (const key of this.listeners.keys()) this.emit(key);
  }
}

export const QueryCacheContext = createContext<QueryCache | null>(null);

export function useQueryCache(): QueryCache {
  const cache = useContext(QueryCacheContext);
  if (!cache) throw new Error("useQueryCache outside QueryCacheContext");
  return cache;
}

/** Reads `key` from the cache, fetching it with `fetcher` when missing or stale. `key` null waits. */
export function useQuery<T>(key: string | null, fetcher: () => Promise<T>): QueryState<T> {
  const cache = useQueryCache();
  // Answers arrive as transitions: React renders them in slices and merges
  // several that land together, instead of one blocking render per answer.
  const [, setVersion] = useState(0);
  const entry = key ? cache.snapshot(key) : null;
  const rendered = useRef(entry);
  rendered.current = entry;
  useEffect(() => {
    if (!key) return;
    const bump = () => startTransition(() => setVersion((v) => v + 1));
    const off = cache.subscribe(key, bump);
    // It may have changed between this render and the subscription.
    if (cache.snapshot(key) !== rendered.current) bump();
    return off;
  }, [cache, key]);
  useEffect(() => {
    if (key) cache.fetch(key, fetcher).catch(() => {});
    // The fetcher is keyed by `key`; a new closure for the same key is the same query.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cache, key]);
  const refetch = useCallback(() => {
    if (key) cache.fetch(key, fetcher, true).catch(() => {});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cache, key]);
  return {
    data: entry?.data as T | undefined,
    error: entry?.status === "error" ? entry.error : undefined,
    loading: !entry || entry.status === "idle" || (entry.status === "loading" && entry.data === undefined),
    refetch,
  };
}
