import { useEffect } from "react";
import { useToast } from "../app/toasts";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT";
}

/** Ctrl/Cmd+Enter runs, Ctrl/Cmd+S says whether everything is saved, ? lists shortcuts. */
export function usePlaygroundShortcuts({ run, canRun, unconfirmed, online, showShortcuts }: { run: () => void; canRun: boolean; unconfirmed: number; online: boolean; showShortcuts: () => void }) {
  const toast = useToast();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === "Enter") {
        // Captured before the editor sees it: CodeMirror binds Mod-Enter to "insert blank line".
        e.preventDefault();
        e.stopPropagation();
        if (canRun) run();
      } else if (mod && (e.key === "s" || e.key === "S")) {
        e.preventDefault();
        e.stopPropagation();
        const saved = unconfirmed === 0 && online;
        toast.show(
          saved ? "success" : "info",
          saved ? "Everything is saved — edits save automatically." : `${unconfirmed} edit${unconfirmed === 1 ? "" : "s"} waiting to reach the server; they are kept.`,
        );
      } else if (e.key === "?" && !isTyping(e.target)) {
        e.preventDefault();
        showShortcuts();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [run, canRun, unconfirmed, online, showShortcuts, toast]);
}
