import { useMemo } from "react";
import { describeError } from "../api/errors";
import type { FileEntry } from "../api/types";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import type { SessionClient } from "../collab/sessionClient";
import type { FileActions } from "./FileExplorer";
import { childPath } from "./fileTree";

/** Ids of `root` and everything below it. */
export function subtreeIds(files: readonly FileEntry[], root: string): Set<string> {
  const ids = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of files) {
      if (f.parentId && ids.has(f.parentId) && !ids.has(f.id)) {
        ids.add(f.id);
        grew = true;
      }
    }
  }
  return ids;
}

/**
 * File operations over REST, shown at once (optimistic) and rolled back with
 * a toast when the server refuses; the `files` socket events confirm them.
 */
export function useFileActions(client: SessionClient | null, sessionId: string, openFile: (f: FileEntry) => void): FileActions {
  const api = useApi();
  const toast = useToast();
  return useMemo(() => {
    const current = () => client?.getSnapshot().files ?? [];
    const set = (files: FileEntry[]) => client?.setFiles(files);
    const failed = (before: FileEntry[], err: unknown, what: string) => {
      set(before);
      toast.show("error", `Could not ${what}: ${describeError(err)}`);
    };
    const replace = (updated: FileEntry) => set(current().map((f) => (f.id === updated.id ? { ...f, ...updated } : f)));
    return {
      open: openFile,
      create: async (kind, parentId, name) => {
        const before = current();
        const placeholder: FileEntry = {
          id: `local-${Date.now()}`,
          sessionId,
          parentId,
          name,
          path: childPath(before, parentId, name),
          isFolder: kind === "folder",
          version: 0,
          updatedAt: new Date().toISOString(),
        };
        set([...before, placeholder]);
        try {
          const created = kind === "folder" ? await api.createFolder(sessionId, { name, parentId }) : await api.createFile(sessionId, { name, parentId });
          set([...current().filter((f) => f.id !== placeholder.id && f.id !== created.id), created]);
          if (!created.isFolder) openFile(created);
        } catch (err) {
          set(current().filter((f) => f.id !== placeholder.id));
          toast.show("error", `Could not create ${name}: ${describeError(err)}`);
        }
      },
      rename: async (file, name) => {
        const before = current();
        set(before.map((f) => (f.id === file.id ? { ...f, name, path: childPath(before, f.parentId, name) } : f)));
        try {
          replace(await api.updateFile(file.id, { name }));
        } catch (err) {
          failed(before, err, `rename ${file.name}`);
        }
      },
      move: async (file, parentId) => {
        const before = current();
        set(before.map((f) => (f.id === file.id ? { ...f, parentId, path: childPath(before, parentId, f.name) } : f)));
        try {
          replace(await api.updateFile(file.id, { parentId }));
        } catch (err) {
          failed(before, err, `move ${file.name}`);
        }
      },
      remove: async (file) => {
        const before = current();
        const gone = subtreeIds(before, file.id);
        set(before.filter((f) => !gone.has(f.id)));
        try {
          await api.deleteFile(file.id);
        } catch (err) {
          failed(before, err, `delete ${file.name}`);
        }
      },
    };
  }, [api, client, openFile, sessionId, toast]);
}
