import { memo, useEffect, useRef } from "react";
import { EditorView } from "@codemirror/view";
import { yieldToMain } from "../app/yieldToMain";
import type { DocumentSync } from "../collab/documentSync";
import { Skeleton } from "../components/Skeleton";

/**
 * Shows one DocumentSync in a CodeMirror view. The state lives in the
 * DocumentSync, so switching tabs keeps history, selection and unconfirmed edits.
 * The view is created one task after React's commit (creating it is one long
 * task of its own, and would otherwise add to the commit's).
 */
export const CodeEditor = memo(function CodeEditor({ doc, loaded, label }: { doc: DocumentSync; loaded: boolean; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!loaded || !doc.state || !host.current) return;
    let live = true;
    let view: EditorView | null = null;
    void yieldToMain().then(() => {
      // The state may have moved on meanwhile (remote edits): take the current one.
      const state = doc.state;
      if (!live || !state || !host.current) return;
      view = new EditorView({
        state,
        parent: host.current,
        dispatchTransactions: (trs, v) => doc.dispatchFromView(trs, v),
      });
      doc.attach(view);
    });
    return () => {
      live = false;
      if (!view) return;
      doc.detach();
      view.destroy();
    };
  }, [doc, loaded]);
  if (!loaded) return <Skeleton label={`Loading ${label}`} lines={8} />;
  return <div className="code-editor" ref={host} />;
});
