import { memo, useEffect, useRef } from "react";
import { EditorView } from "@codemirror/view";
import type { DocumentSync } from "../collab/documentSync";
import { Skeleton } from "../components/Skeleton";

/**
 * Shows one DocumentSync in a CodeMirror view. The state lives in the
 * DocumentSync, so switching tabs keeps history, selection and unconfirmed edits.
 */
export const CodeEditor = memo(function CodeEditor({ doc, loaded, label }: { doc: DocumentSync; loaded: boolean; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const state = doc.state;
    if (!loaded || !state || !host.current) return;
    const view = new EditorView({
      state,
      parent: host.current,
      dispatchTransactions: (trs, v) => doc.dispatchFromView(trs, v),
    });
    doc.attach(view);
    return () => {
      doc.detach();
      view.destroy();
    };
  }, [doc, loaded]);
  if (!loaded) return <Skeleton label={`Loading ${label}`} lines={8} />;
  return <div className="code-editor" ref={host} />;
});
