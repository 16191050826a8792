import type { FileEntry } from "../api/types";

export interface TreeNode {
  entry: FileEntry;
  children: TreeNode[];
  depth: number;
}

/** Nests the flat file list by parentId: folders first, then by name. Orphans go to the top level. */
export function buildTree(files: readonly FileEntry[]): TreeNode[] {
  const ids = new Set(files.map((f) => f.id));
  const byParent = new Map<string | null, FileEntry[]>();
  for (const f of files) {
    const parent = f.parentId && ids.has(f.parentId) ? f.parentId : null;
    const list = byParent.get(parent) ?? [];
    list.push(f);
    byParent.set(parent, list);
  }
  const seen = new Set<string>();
  const build = (parent: string | null, depth: number): TreeNode[] =>
    (byParent.get(parent) ?? [])
      .filter((f) => !seen.has(f.id) && (seen.add(f.id), true))
      .sort((a, b) => (a.isFolder !== b.isFolder ? (a.isFolder ? -1 : 1) : a.name.localeCompare(b.name)))
      .map((entry) => ({ entry, depth, children: entry.isFolder ? build(entry.id, depth + 1) : [] }));
  return build(null, 0);
}

/** The nodes a keyboard user can reach: children of collapsed folders are skipped. */
export function visibleNodes(tree: readonly TreeNode[], expanded: ReadonlySet<string>): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (nodes: readonly TreeNode[]) => {
    for (const n of nodes) {
      out.push(n);
      if (n.entry.isFolder && expanded.has(n.entry.id)) walk(n.children);
    }
  };
  walk(tree);
  return out;
}

export function childPath(files: readonly FileEntry[], parentId: string | null, name: string): string {
  const parent = parentId ? files.find((f) => f.id === parentId) : undefined;
  return parent ? `${parent.path.replace(/\/$/, "")}/${name}` : name;
}

/** Folders a file or folder may move into (not itself or its own descendants). */
export function moveTargets(files: readonly FileEntry[], moving: FileEntry): FileEntry[] {
  const blocked = new Set<string>([moving.id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const f of files) {
      if (f.parentId && blocked.has(f.parentId) && !blocked.has(f.id)) {
        blocked.add(f.id);
        grew = true;
      }
    }
  }
  return files.filter((f) => f.isFolder && !blocked.has(f.id)).sort((a, b) => a.path.localeCompare(b.path));
}

/** File names the server would refuse anyway; checked here to answer at once. */
export function validateName(name: string): string | null {
  const n = name.trim();
  if (!n) return "Enter a name.";
  if (n.length > 255) return "Names are at most 255 characters.";
  if (/[/\\]/.test(n)) return "Names cannot contain / or \\.";
  if (n === "." || n === "..") return "That name is reserved.";
  return null;
}
