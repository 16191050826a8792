import { memo, useRef, type KeyboardEvent } from "react";
import type { FileEntry } from "../api/types";

/** Open files as tabs: arrows move between them, Delete closes one. */
export const EditorTabs = memo(function EditorTabs({
  files,
  activeId,
  unsaved,
  onSelect,
  onClose,
  panelId,
}: {
  files: FileEntry[];
  activeId: string | null;
  unsaved: (id: string) => boolean;
  onSelect: (id: string) => void;
  onClose: (id: string) => void;
  panelId: string;
}) {
  const refs = useRef(new Map<string, HTMLButtonElement>());
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const i = files.findIndex((f) => f.id === activeId);
    let next = -1;
    if (e.key === "ArrowRight") next = (i + 1) % files.length;
    else if (e.key === "ArrowLeft") next = (i - 1 + files.length) % files.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = files.length - 1;
    else if (e.key === "Delete" && activeId) {
      e.preventDefault();
      onClose(activeId);
      return;
    } else return;
    e.preventDefault();
    const target = files[next];
    if (target) {
      onSelect(target.id);
      refs.current.get(target.id)?.focus();
    }
  };
  // Keep the bar's height while empty so the editor below never jumps.
  if (files.length === 0) return <div className="editor-tabs" />;
  return (
    <div className="editor-tabs" role="tablist" aria-label="Open files" onKeyDown={onKey}>
      {files.map((f) => (
        <div key={f.id} className={f.id === activeId ? "tab active" : "tab"}>
          <button
            type="button"
            role="tab"
            id={`tab-${f.id}`}
            aria-selected={f.id === activeId}
            aria-controls={panelId}
            aria-keyshortcuts="Delete"
            tabIndex={f.id === activeId ? 0 : -1}
            ref={(el) => {
              if (el) refs.current.set(f.id, el);
              else refs.current.delete(f.id);
            }}
            onClick={() => onSelect(f.id)}
            title={`${f.path} — Delete closes the tab`}
          >
            {f.name}
            {unsaved(f.id) && (
              <span className="unsaved-dot" aria-label="(edits syncing)">
                ●
              </span>
            )}
            {/* A tablist may hold only tabs, so the close mark is part of the tab:
                pointer users click it, keyboard users press Delete. */}
            <span
              className="tab-close"
              aria-hidden="true"
              onClick={(e) => {
                e.stopPropagation();
                onClose(f.id);
              }}
            >
              ×
            </span>
          </button>
        </div>
      ))}
    </div>
  );
});
