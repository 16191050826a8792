import { createContext, useContext, type ReactNode } from "react";
import { ApiClient } from "../api/client";
import { QueryCache, QueryCacheContext } from "./queryCache";

const ApiContext = createContext<ApiClient | null>(null);

/** Holds the app's long-lived objects; tests pass their own. */
export function ServicesProvider({ api, cache, children }: { api: ApiClient; cache: QueryCache; children: ReactNode }) {
  return (
    <ApiContext.Provider value={api}>
      <QueryCacheContext.Provider value={cache}>{children}</QueryCacheContext.Provider>
    </ApiContext.Provider>
  );
}

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside ServicesProvider");
  return api;
}
