import type { Extension } from "@codemirror/state";
import type { FileEntry } from "../api/types";
import type { SessionClient } from "../collab/sessionClient";
import { loadMode, modeFor } from "../editor/languages";
import { baseExtensions, createSlots, readOnlyExtension, type DocumentSlots } from "../editor/setup";

/**
 * What each document's editor state is built from, and the knobs turned
 * later: language modes arrive asynchronously, roles change. One per page.
 */
export class EditorConfig {
  private readonly slots = new Map<string, DocumentSlots>();
  private readonly modes = new Map<string, Extension>();
  files: readonly FileEntry[] = [];
  sessionLanguage = "";
  readOnly = true;

  /** For SessionClient's documentExtensions: read whenever a state is (re)created. */
  extensionsFor = (file: string): Extension => {
    const slots = this.slotsFor(file);
    const entry = this.files.find((f) => f.id === file);
    const ext = [baseExtensions(slots, `Code editor: ${entry?.path ?? "file"}`, this.readOnly)];
    const mode = this.modeOf(file);
    const loaded = mode ? this.modes.get(mode) : undefined;
    if (loaded) ext.push(slots.language.of(loaded));
    return ext;
  };

  modeOf(file: string): string | null {
    const entry = this.files.find((f) => f.id === file);
    return entry ? modeFor(entry.path, this.sessionLanguage) : null;
  }

  /** Loads `mode` (once) and installs it in every open document that uses it. */
  async applyMode(client: SessionClient, openIds: readonly string[], mode: string): Promise<void> {
    let ext = this.modes.get(mode);
    if (!ext) {
      ext = await loadMode(mode);
      this.modes.set(mode, ext);
    }
    for (const id of openIds) {
      const doc = client.peekDocument(id);
      if (doc && this.modeOf(id) === mode) doc.reconfigure({ effects: this.slotsFor(id).language.reconfigure(ext) });
    }
  }

  applyReadOnly(client: SessionClient, openIds: readonly string[], readOnly: boolean): void {
    this.readOnly = readOnly;
    for (const id of openIds) {
      client.peekDocument(id)?.reconfigure({ effects: this.slotsFor(id).readOnly.reconfigure(readOnlyExtension(readOnly)) });
    }
  }

  private slotsFor(file: string): DocumentSlots {
    let s = this.slots.get(file);
    if (!s) this.slots.set(file, (s = createSlots()));
    return s;
  }
}
