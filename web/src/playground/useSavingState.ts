import { useEffect, useMemo, useState } from "react";
import type { DocumentInfo } from "../collab/sessionClient";
import { useSteady } from "./useSteady";

/** "Saving…" and a tab's syncing dot show once saving has taken this long. */
export const SHOW_SAVING_AFTER_MS = 400;

/**
 * What the connection indicator counts. Online it only says whether something
 * is still saving, and only once that has taken a while, so a keystroke's
 * 1 → 2 → 0 pending edits do not re-render the header at all. Offline it
 * counts the edits kept, at once; back online with edits kept it says
 * "Saving…" at once too (they have been waiting all along), never "All
 * changes saved" before they are.
 */
export function useBarUnconfirmed(online: boolean, unconfirmed: number): number {
  const saving = useSteady(Math.min(unconfirmed, 1), 0, SHOW_SAVING_AFTER_MS);
  const [keptOffline, setKeptOffline] = useState(false);
  useEffect(() => {
    if (!online && unconfirmed > 0) setKeptOffline(true);
    else if (unconfirmed === 0) setKeptOffline(false);
  }, [online, unconfirmed]);
  if (!online) return unconfirmed;
  return keptOffline ? Math.min(unconfirmed, 1) : saving;
}

/**
 * Which tabs show the syncing dot: a tab unsaved now that was already
 * unsaved SHOW_SAVING_AFTER_MS ago, so the dot appears only when saving takes
 * a while and goes as soon as the tab is saved.
 */
export function useUnsavedTabs(documents: Readonly<Record<string, DocumentInfo>> | undefined): (id: string) => boolean {
  const now = documents ? Object.keys(documents).filter((id) => documents[id]!.unconfirmed > 0).join("\n") : "";
  const before = useSteady(now, "", SHOW_SAVING_AFTER_MS);
  const ids = useMemo(() => {
    const earlier = new Set(before.split("\n"));
    return now
      .split("\n")
      .filter((id) => id && earlier.has(id))
      .join("\n");
  }, [now, before]);
  return useMemo(() => {
    const set = new Set(ids.split("\n").filter(Boolean));
    return (id: string) => set.has(id);
  }, [ids]);
}
