import { useEffect, useState } from "react";

/**
 * Returns value, except that a change away from quiet shows only once it has
 * lasted ms; a return to quiet shows at once. Own typing is acknowledged in a
 * few milliseconds, so "Saving…" and a tab's syncing dot would otherwise
 * flash, and re-render the header and tabs, twice per keystroke: they now
 * appear only when saving really takes a while.
 */
export function useSteady<T>(value: T, quiet: T, ms: number): T {
  const [shown, setShown] = useState<T>(quiet);
  useEffect(() => {
    if (Object.is(value, quiet)) {
      setShown(quiet);
      return;
    }
    const timer = window.setTimeout(() => setShown(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, quiet, ms]);
  return Object.is(value, quiet) ? quiet : shown;
}
