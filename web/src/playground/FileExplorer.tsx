import { memo, useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { FileEntry } from "../api/types";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { buildTree, moveTargets, validateName, visibleNodes, type TreeNode } from "./fileTree";

export interface FileActions {
  open: (file: FileEntry) => void;
  create: (kind: "file" | "folder", parentId: string | null, name: string) => Promise<void>;
  rename: (file: FileEntry, name: string) => Promise<void>;
  move: (file: FileEntry, parentId: string | null) => Promise<void>;
  remove: (file: FileEntry) => Promise<void>;
}

type Pending = { kind: "new-file" | "new-folder" | "rename" | "move" | "delete"; target: FileEntry | null } | null;

/**
 * The project's files as a keyboard-navigable tree (arrows, Home/End, Enter)
 * with a toolbar acting on the selected item.
 */
export const FileExplorer = memo(function FileExplorer({ files, activeId, canEdit, actions }: { files: FileEntry[]; activeId: string | null; canEdit: boolean; actions: FileActions }) {
  const tree = useMemo(() => buildTree(files), [files]);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set(files.filter((f) => f.isFolder).map((f) => f.id)));
  const [selectedId, setSelectedId] = useState<string | null>(activeId);
  const [pending, setPending] = useState<Pending>(null);
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const visible = visibleNodes(tree, expanded);
  const selected = files.find((f) => f.id === selectedId) ?? null;
  const focusId = selected && visible.some((n) => n.entry.id === selected.id) ? selected.id : (visible[0]?.entry.id ?? null);

  const toggle = (id: string, open?: boolean) =>
    setExpanded((s) => {
      const next = new Set(s);
      if (open ?? !next.has(id)) next.add(id);
      else next.delete(id);
      return next;
    });

  const focus = (id: string) => {
    setSelectedId(id);
    itemRefs.current.get(id)?.focus();
  };

  const onKey = (e: KeyboardEvent<HTMLUListElement>) => {
    const index = visible.findIndex((n) => n.entry.id === focusId);
    const node = visible[index];
    if (!node) return;
    const move = (i: number) => {
      const target = visible[Math.max(0, Math.min(visible.length - 1, i))];
      if (target) focus(target.entry.id);
    };
    switch (e.key) {
      case "ArrowDown":
        move(index + 1);
        break;
      case "ArrowUp":
        move(index - 1);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(visible.length - 1);
        break;
      case "ArrowRight":
        if (node.entry.isFolder) {
          if (!expanded.has(node.entry.id)) toggle(node.entry.id, true);
          else if (node.children[0]) focus(node.children[0].entry.id);
        }
        break;
      case "ArrowLeft":
        if (node.entry.isFolder && expanded.has(node.entry.id)) toggle(node.entry.id, false);
        else if (node.entry.parentId) focus(node.entry.parentId);
        break;
      case "Enter":
      case " ":
        if (node.entry.isFolder) toggle(node.entry.id);
        else actions.open(node.entry);
        break;
      case "F2":
        if (canEdit) setPending({ kind: "rename", target: node.entry });
        break;
      case "Delete":
        if (canEdit) setPending({ kind: "delete", target: node.entry });
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const parentForNew = selected ? (selected.isFolder ? selected.id : selected.parentId) : null;

  return (
    <nav className="file-explorer" aria-label="Files">
      <div className="panel-header">
        <h2>Files</h2>
        {canEdit && (
          <div className="toolbar" role="toolbar" aria-label="File actions">
            <button type="button" className="icon-button" title="New file" aria-label="New file" onClick={() => setPending({ kind: "new-file", target: null })}>
              <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M3 1h6l4 4v10H3z M9 1v4h4 M8 8v5 M5.5 10.5h5" fill="none" stroke="currentColor" strokeWidth="1.3" />
              </svg>
            </button>
            <button type="button" className="icon-button" title="New folder" aria-label="New folder" onClick={() => setPending({ kind: "new-folder", target: null })}>
              <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M1 3h5l1.5 2H15v9H1z M8 7v5 M5.5 9.5h5" fill="none" stroke="currentColor" strokeWidth="1.3" />
              </svg>
            </button>
            <button type="button" className="icon-button" title="Rename (F2)" aria-label="Rename selected" disabled={!selected} onClick={() => setPending({ kind: "rename", target: selected })}>
              <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M2 14l1-4 8-8 3 3-8 8z" fill="none" stroke="currentColor" strokeWidth="1.3" />
              </svg>
            </button>
            <button type="button" className="icon-button" title="Move" aria-label="Move selected" disabled={!selected} onClick={() => setPending({ kind: "move", target: selected })}>
              <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M2 8h11 M9 4l4 4-4 4" fill="none" stroke="currentColor" strokeWidth="1.3" />
              </svg>
            </button>
            <button type="button" className="icon-button" title="Delete (Del)" aria-label="Delete selected" disabled={!selected} onClick={() => setPending({ kind: "delete", target: selected })}>
              <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M2 4h12 M6 4V2h4v2 M4 4l1 10h6l1-10" fill="none" stroke="currentColor" strokeWidth="1.3" />
              </svg>
            </button>
          </div>
        )}
      </div>
      {files.length === 0 ? (
        <p className="muted small-pad">No files yet.</p>
      ) : (
        <ul role="tree" aria-label="Project files" className="tree" onKeyDown={onKey}>
          {tree.map((n) => (
            <TreeItem
              key={n.entry.id}
              node={n}
              expanded={expanded}
              activeId={activeId}
              focusId={focusId}
              selectedId={selectedId}
              itemRefs={itemRefs.current}
              onFocusItem={setSelectedId}
              onClick={(entry) => {
                setSelectedId(entry.id);
                if (entry.isFolder) toggle(entry.id);
                else actions.open(entry);
              }}
            />
          ))}
        </ul>
      )}
      <NameDialog
        pending={pending}
        onClose={() => setPending(null)}
        onSubmit={async (name) => {
          if (!pending) return;
          if (pending.kind === "new-file") await actions.create("file", parentForNew, name);
          else if (pending.kind === "new-folder") {
            await actions.create("folder", parentForNew, name);
            if (parentForNew) toggle(parentForNew, true);
          } else if (pending.kind === "rename" && pending.target) await actions.rename(pending.target, name);
        }}
      />
      <MoveDialog
        file={pending?.kind === "move" ? pending.target : null}
        files={files}
        onClose={() => setPending(null)}
        onMove={(file, parentId) => actions.move(file, parentId)}
      />
      <ConfirmDialog
        open={pending?.kind === "delete"}
        title={`Delete ${pending?.target?.isFolder ? "folder" : "file"}?`}
        description={`“${pending?.target?.path ?? ""}”${pending?.target?.isFolder ? " and everything in it" : ""} will be deleted for everyone in this session.`}
        confirmLabel="Delete"
        onClose={() => setPending(null)}
        onConfirm={() => {
          const target = pending?.target;
          setPending(null);
          if (target) void actions.remove(target);
        }}
      />
    </nav>
  );
});

function TreeItem({
  node,
  expanded,
  activeId,
  focusId,
  selectedId,
  itemRefs,
  onFocusItem,
  onClick,
}: {
  node: TreeNode;
  expanded: ReadonlySet<string>;
  activeId: string | null;
  focusId: string | null;
  selectedId: string | null;
  itemRefs: Map<string, HTMLLIElement>;
  onFocusItem: (id: string) => void;
  onClick: (entry: FileEntry) => void;
}) {
  const { entry } = node;
  const isOpen = entry.isFolder && expanded.has(entry.id);
  return (
    <li
      role="treeitem"
      aria-expanded={entry.isFolder ? isOpen : undefined}
      aria-selected={entry.id === selectedId}
      aria-current={entry.id === activeId ? "page" : undefined}
      tabIndex={entry.id === focusId ? 0 : -1}
      ref={(el) => {
        if (el) itemRefs.set(entry.id, el);
        else itemRefs.delete(entry.id);
      }}
      onClick={(e) => {
        e.stopPropagation();
        onClick(entry);
      }}
      onFocus={(e) => {
        // Focus bubbles through the enclosing folders; only the item itself counts.
        if (e.target === e.currentTarget) onFocusItem(entry.id);
      }}
      className={entry.id.startsWith("local-") ? "tree-item saving" : "tree-item"}
    >
      <span className="tree-label" style={{ paddingLeft: `${0.5 + node.depth}rem` }}>
        <span aria-hidden="true" className="tree-icon">
          {entry.isFolder ? (isOpen ? "▾" : "▸") : "·"}
        </span>
        {entry.name}
      </span>
      {isOpen && node.children.length > 0 && (
        <ul role="group">
          {node.children.map((c) => (
            <TreeItem
              key={c.entry.id}
              node={c}
              expanded={expanded}
              activeId={activeId}
              focusId={focusId}
              selectedId={selectedId}
              itemRefs={itemRefs}
              onFocusItem={onFocusItem}
              onClick={onClick}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

function NameDialog({ pending, onClose, onSubmit }: { pending: Pending; onClose: () => void; onSubmit: (name: string) => Promise<void> }) {
  const id = useId();
  const [error, setError] = useState<string | null>(null);
  const open = pending?.kind === "new-file" || pending?.kind === "new-folder" || pending?.kind === "rename";
  const title = pending?.kind === "new-file" ? "New file" : pending?.kind === "new-folder" ? "New folder" : `Rename “${pending?.target?.name ?? ""}”`;
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get("name") ?? "").trim();
    const problem = validateName(name);
    if (problem) {
      setError(problem);
      return;
    }
    setError(null);
    onClose();
    // The tree updates at once; failures come back as a toast.
    void onSubmit(name);
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={() => {
        setError(null);
        onClose();
      }}
    >
      <form onSubmit={submit} className="stack">
        <div className="field">
          <label htmlFor={id}>Name</label>
          <input
            id={id}
            name="name"
            autoFocus
            defaultValue={pending?.kind === "rename" ? pending.target?.name : ""}
            aria-invalid={Boolean(error)}
            aria-describedby={`${id}-e`}
          />
          <span id={`${id}-e`} className="field-error" role="alert">
            {error}
          </span>
        </div>
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button">
            {pending?.kind === "rename" ? "Rename" : "Create"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MoveDialog({ file, files, onClose, onMove }: { file: FileEntry | null; files: FileEntry[]; onClose: () => void; onMove: (file: FileEntry, parentId: string | null) => Promise<void> }) {
  const id = useId();
  const targets = file ? moveTargets(files, file) : [];
  return (
    <Dialog open={file !== null} title={`Move “${file?.name ?? ""}”`} onClose={onClose}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const value = String(new FormData(e.currentTarget).get("parent") ?? "");
          onClose();
          if (file) void onMove(file, value || null);
        }}
      >
        <div className="field">
          <label htmlFor={id}>Into folder</label>
          <select id={id} name="parent" defaultValue={file?.parentId ?? ""}>
            <option value="">(top level)</option>
            {targets.map((t) => (
              <option key={t.id} value={t.id}>
                {t.path}
              </option>
            ))}
          </select>
        </div>
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button">
            Move
          </button>
        </div>
      </form>
    </Dialog>
  );
}
