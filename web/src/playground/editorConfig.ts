import type { Extension } from "@codemirror/state";
import type { FileEntry } from "../api/types";
import type { SessionClient } from "../collab/sessionClient";
import { yieldToMain } from "../app/yieldToMain";
import { loadMode, modeFor } from "../editor/languages";
import { baseExtensions, createSlots, readOnlyExtension, type DocumentSlots } from "../editor/setup";

/**
 * What each document's editor state is built from, and the knobs turned
 * later: language modes arrive asynchronously, roles change. One per page.
 */
export class EditorConfig {
  private readonly slots = new Map<string, DocumentSlots>();
  private readonly modes = new Map<string, Extension>();
  private readonly loading = new Map<string, Promise<Extension>>();
  files: readonly FileEntry[] = [];
  sessionLanguage = "";
  readOnly = true;

  /** For SessionClient's documentExtensions: read whenever a state is (re)created. */
  extensionsFor = (file: string): Extension => {
    const slots = this.slotsFor(file);
    const entry = this.files.find((f) => f.id === file);
    const mode = this.modeOf(file);
    // A mode already loaded goes into the language slot's initial value
    // (a compartment may appear only once in a state's extensions).
    const loaded = mode ? this.modes.get(mode) : undefined;
    return baseExtensions(slots, `Code editor: ${entry?.path ?? "file"}`, this.readOnly, loaded);
  };

  modeOf(file: string): string | null {
    const entry = this.files.find((f) => f.id === file);
    return entry ? modeFor(entry.path, this.sessionLanguage) : null;
  }

  /**
   * Loads `mode` (once). Documents created after it arrived get it from the
   * start (extensionsFor), which spares a reconfiguration.
   */
  preloadMode(mode: string): Promise<Extension> {
    let p = this.loading.get(mode);
    if (!p) {
      // Asking for the mode's chunks is a task of its own (not part of the
      // page's effects), evaluating them is a long task, and installing the
      // mode (which parses the open documents) waits for the next one.
      p = yieldToMain()
        .then(() => loadMode(mode))
        .then(async (ext) => {
          await yieldToMain();
          this.modes.set(mode, ext);
          return ext;
        });
      p.catch(() => this.loading.delete(mode)); // a later call retries
      this.loading.set(mode, p);
    }
    return p;
  }

  /** Loads `mode` (once) and installs it in every open document that uses it and lacks it. */
  async applyMode(client: SessionClient, openIds: readonly string[], mode: string): Promise<void> {
    const ext = this.modes.get(mode) ?? (await this.preloadMode(mode));
    for (const id of openIds) {
      const doc = client.peekDocument(id);
      const language = this.slotsFor(id).language;
      if (doc?.state && this.modeOf(id) === mode && language.get(doc.state) !== ext) doc.reconfigure({ effects: language.reconfigure(ext) });
    }
  }

  /** Sets read-only on the open documents whose state says otherwise (a reconfiguration re-renders the editor). */
  applyReadOnly(client: SessionClient, openIds: readonly string[], readOnly: boolean): void {
    this.readOnly = readOnly;
    for (const id of openIds) {
      const doc = client.peekDocument(id);
      if (doc?.state && doc.state.readOnly !== readOnly) doc.reconfigure({ effects: this.slotsFor(id).readOnly.reconfigure(readOnlyExtension(readOnly)) });
    }
  }

  private slotsFor(file: string): DocumentSlots {
    let s = this.slots.get(file);
    if (!s) this.slots.set(file, (s = createSlots()));
    return s;
  }
}
