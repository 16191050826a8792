import { collab, getClientID, getSyncedVersion, receiveUpdates, sendableUpdates } from "@codemirror/collab";
import { ChangeSet, EditorState, Transaction, type Extension, type TransactionSpec } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import type { ChangesJSON, ClientMessage, ReceivedUpdate, SelectionJSON } from "./protocol";
import { mapCursor, remoteCursors, removeRemoteCursor, setRemoteCursor, type RemoteCursor } from "./remoteCursors";

export type SyncPhase =
  /** Waiting for the server's `doc` (first open or after a reconnect). */
  | "loading"
  /** Up to date with every update received; local edits may still be unconfirmed. */
  | "synced"
  /** Offline: edits are kept locally and sent after the resync. */
  | "offline";

export interface DocumentSyncOptions {
  file: string;
  send: (msg: ClientMessage) => boolean;
  /**
   * Extensions for a new editor state (language, theme, keymaps); collab and
   * remote cursors are added here. A function is asked again whenever the
   * state is recreated (a fresh `doc`), so it can return the current language.
   */
  extensions?: Extension | (() => Extension);
  clientID?: string;
  /** Called after every state change the UI may want to show (phase, unconfirmed count). */
  onChange?: () => void;
  /** Our own selection moved (already mapped back to the last synced version). */
  onLocalSelection?: (version: number, selection: SelectionJSON) => void;
  /** The server's history was gone and unconfirmed edits could not be kept. */
  onEditsDiscarded?: (text: string) => void;
}

/** How many received updates are kept to place cursors sent against an older version. */
const RECENT_UPDATES = 200;

/**
 * Keeps one file's editor state in step with the server (DESIGN.md protocol):
 * pushes local edits, applies received updates one `receiveUpdates` call per
 * update in version order, buffers updates that arrive ahead of a gap, pulls
 * what is missing, and after a reconnect resyncs while keeping unconfirmed edits.
 */
export class DocumentSync {
  readonly file: string;
  private readonly send: (msg: ClientMessage) => boolean;
  private readonly extensions: Extension | (() => Extension);
  private readonly clientID: string;
  private readonly onChange: () => void;
  private readonly onLocalSelection: DocumentSyncOptions["onLocalSelection"];
  private readonly onEditsDiscarded: DocumentSyncOptions["onEditsDiscarded"];

  private detachedState: EditorState | null = null;
  private view: EditorView | null = null;
  private phaseValue: SyncPhase = "loading";
  /** Updates sent and not yet echoed back; no new push until they are. */
  private inFlight = 0;
  /** The version a pull asked from; the answer is the `updates` frame starting there. */
  private pullFrom: number | null = null;
  /** The next `doc` replaces our state (history gone, or we sent something the server could not take). */
  private resetOnDoc = false;
  /** Updates that arrived ahead of a gap, by version. */
  private readonly ahead = new Map<number, ReceivedUpdate>();
  /** Recently applied updates (version → changes), for mapping remote cursors. */
  private readonly recent: { version: number; changes: ChangeSet }[] = [];
  /** Remote cursors that refer to a version we have not reached yet. */
  private readonly pendingCursors = new Map<string, { version: number; cursor: RemoteCursor }>();
  private readOnlyValue = false;

  constructor(options: DocumentSyncOptions) {
    this.file = options.file;
    this.send = options.send;
    this.extensions = options.extensions ?? [];
    this.clientID = options.clientID ?? Math.random().toString(36).slice(2, 12);
    this.onChange = options.onChange ?? (() => {});
    this.onLocalSelection = options.onLocalSelection;
    this.onEditsDiscarded = options.onEditsDiscarded;
  }

  get phase(): SyncPhase {
    return this.phaseValue;
  }

  /** The current editor state; null until the first `doc` arrived. */
  get state(): EditorState | null {
    return this.view ? this.view.state : this.detachedState;
  }

  get version(): number | null {
    const s = this.state;
    return s ? getSyncedVersion(s) : null;
  }

  get unconfirmedCount(): number {
    const s = this.state;
    return s ? sendableUpdates(s).length : 0;
  }

  get hasPushInFlight(): boolean {
    return this.inFlight > 0;
  }

  get readOnly(): boolean {
    return this.readOnlyValue;
  }

  set readOnly(value: boolean) {
    this.readOnlyValue = value;
  }

  /** Shows the document in `view` (created by the caller with `this.state`). */
  attach(view: EditorView): void {
    this.view = view;
    this.detachedState = null;
  }

  /** Keeps the state when its tab is hidden; the caller destroys the view. */
  detach(): void {
    if (this.view) this.detachedState = this.view.state;
    this.view = null;
  }

  /**
   * The view's dispatchTransactions hook: apply, then push local edits and
   * report the selection.
   */
  dispatchFromView(trs: readonly Transaction[], view: EditorView): void {
    view.update(trs);
    const local = trs.filter((tr) => !tr.annotation(Transaction.remote));
    if (local.some((tr) => tr.docChanged)) {
      this.flush();
      this.onChange();
    }
    if (local.some((tr) => tr.selection || tr.docChanged)) this.reportSelection();
  }

  /** Reconfigures the state (language, read-only) whether or not a view shows it. */
  reconfigure(spec: Pick<TransactionSpec, "effects">): void {
    if (this.state) this.setState(this.requireState().update(spec));
  }

  /** Applies a local edit without a view (tests, scripted changes). */
  applyLocal(spec: TransactionSpec): void {
    const state = this.requireState();
    const tr = state.update(spec);
    this.setState(tr);
    if (tr.docChanged) {
      this.flush();
      this.onChange();
    }
  }

  /** The connection dropped: anything in flight may or may not have arrived. */
  connectionLost(): void {
    this.phaseValue = this.state ? "offline" : "loading";
    this.inFlight = 0;
    this.pullFrom = null;
    this.ahead.clear();
    this.onChange();
  }

  /** (Re)subscribes; the server answers with `doc`. */
  open(): void {
    this.send({ type: "open", file: this.file });
  }

  handleDoc(version: number, content: string): void {
    const state = this.state;
    if (!state) {
      this.replaceState(this.createState(version, content));
      this.phaseValue = "synced";
      this.onChange();
      return;
    }
    const synced = getSyncedVersion(state);
    if (this.pullFrom !== null || this.resetOnDoc || version < synced) {
      // A `doc` answering a pull means the server no longer has the history
      // after our version; one older than ours means it lost updates. Either
      // way its content wins and unconfirmed edits cannot be rebased.
      this.pullFrom = null;
      this.resetOnDoc = false;
      const lost = sendableUpdates(state);
      if (lost.length) this.onEditsDiscarded?.(state.doc.toString());
      this.recent.length = 0;
      this.inFlight = 0;
      this.replaceState(this.createState(version, content));
      this.phaseValue = "synced";
      // Broadcasts buffered meanwhile may continue from the new version.
      this.drain();
      this.onChange();
      return;
    }
    // A re-open after a reconnect: keep our state (and unconfirmed edits) and
    // fetch whatever happened while we were away.
    this.phaseValue = "synced";
    if (version > synced) this.pull();
    else this.flush();
    this.onChange();
  }

  handleUpdates(version: number, updates: readonly ReceivedUpdate[]): void {
    if (!this.state) return;
    updates.forEach((u, i) => {
      if (!this.ahead.has(version + i)) this.ahead.set(version + i, u);
    });
    // Broadcasts and pull answers look alike; the answer starts where we asked.
    if (version === this.pullFrom) this.pullFrom = null;
    this.drain();
  }

  /** A cursor from another user, positioned against server `version`. */
  handleCursor(version: number, cursor: RemoteCursor): void {
    const state = this.state;
    if (!state) return;
    const synced = getSyncedVersion(state);
    if (version > synced) {
      this.pendingCursors.set(cursor.userId, { version, cursor });
      return;
    }
    this.pendingCursors.delete(cursor.userId);
    this.showCursor(this.cursorAtSynced(version, cursor));
  }

  removeCursor(userId: string): void {
    this.pendingCursors.delete(userId);
    if (this.state) this.setState(this.requireState().update({ effects: removeRemoteCursor.of(userId) }));
  }

  /** The server may retry-later a push (rate_limited): allow the next flush to resend. */
  pushDeferred(): void {
    this.inFlight = 0;
  }

  /**
   * The server refused our edits for good (invalid_change, too_large): they
   * can never be confirmed, so reload its document; the caller tells the user.
   */
  pushRefused(): void {
    this.inFlight = 0;
    this.ahead.clear();
    this.pullFrom = null;
    this.resetOnDoc = true;
    this.phaseValue = "loading";
    this.open();
    this.onChange();
  }

  /** Sends unconfirmed local edits if the server has acknowledged the previous push. */
  flush(): void {
    const state = this.state;
    if (!state || this.phaseValue !== "synced" || this.inFlight > 0 || this.pullFrom !== null || this.readOnlyValue) return;
    const updates = sendableUpdates(state);
    if (!updates.length) return;
    const sent = this.send({
      type: "push",
      file: this.file,
      version: getSyncedVersion(state),
      updates: updates.map((u) => ({ clientID: u.clientID, changes: u.changes.toJSON() as ChangesJSON })),
    });
    if (sent) this.inFlight = updates.length;
  }

  private pull(): void {
    const state = this.state;
    if (!state || this.pullFrom !== null) return;
    const version = getSyncedVersion(state);
    if (this.send({ type: "pull", file: this.file, version })) this.pullFrom = version;
  }

  /** Applies buffered updates in version order, one receiveUpdates call each. */
  private drain(): void {
    let state = this.requireState();
    let applied = false;
    for (const v of [...this.ahead.keys()]) if (v < getSyncedVersion(state)) this.ahead.delete(v);
    for (;;) {
      const version = getSyncedVersion(state);
      const update = this.ahead.get(version);
      if (!update) break;
      this.ahead.delete(version);
      let changes: ChangeSet;
      try {
        changes = ChangeSet.fromJSON(update.changes);
        if (changes.length !== this.baseLength(state)) throw new RangeError("change set does not cover the document");
      } catch {
        // The server sent something we cannot apply: start over from its document.
        this.ahead.clear();
        this.pullFrom = null;
        this.resetOnDoc = true;
        this.phaseValue = "loading";
        this.open();
        this.onChange();
        return;
      }
      const ours = update.clientID === this.clientID;
      if (ours && this.inFlight > 0) this.inFlight--;
      this.setState(receiveUpdates(state, [{ changes, clientID: update.clientID }]));
      state = this.requireState();
      this.recent.push({ version, changes });
      if (this.recent.length > RECENT_UPDATES) this.recent.shift();
      applied = true;
    }
    if (this.ahead.size > 0) this.pull();
    if (applied) {
      this.applyPendingCursors();
      this.flush();
      this.onChange();
    }
  }

  /**
   * Received changes apply to the server's document, which is ours minus the
   * unconfirmed edits; that is the length they must cover.
   */
  private baseLength(state: EditorState): number {
    const first = sendableUpdates(state)[0];
    return first ? first.changes.length : state.doc.length;
  }

  private applyPendingCursors(): void {
    const synced = this.version ?? 0;
    for (const [userId, pending] of this.pendingCursors) {
      if (pending.version <= synced) {
        this.pendingCursors.delete(userId);
        this.showCursor(this.cursorAtSynced(pending.version, pending.cursor));
      }
    }
  }

  /** Maps a cursor from server `version` forward to our synced version. */
  private cursorAtSynced(version: number, cursor: RemoteCursor): RemoteCursor {
    let c = cursor;
    for (const r of this.recent) if (r.version >= version) c = mapCursor(c, r.changes);
    return c;
  }

  /** Places a cursor given at our synced version into the local document (which includes unconfirmed edits). */
  private showCursor(cursor: RemoteCursor): void {
    const state = this.requireState();
    let c = cursor;
    for (const u of sendableUpdates(state)) c = mapCursor(c, u.changes);
    this.setState(state.update({ effects: setRemoteCursor.of(c) }));
  }

  private reportSelection(): void {
    const state = this.state;
    if (!state || !this.onLocalSelection) return;
    // Others know only the synced document: map our selection back through
    // our unconfirmed edits, newest first.
    const inverted = sendableUpdates(state)
      .map((u) => u.changes.invertedDesc)
      .reverse();
    const back = (pos: number) => inverted.reduce((p, desc) => desc.mapPos(p, -1), pos);
    const sel = state.selection;
    this.onLocalSelection(getSyncedVersion(state), {
      main: sel.mainIndex,
      ranges: sel.ranges.map((r) => ({ anchor: back(r.anchor), head: back(r.head) })),
    });
  }

  private createState(version: number, content: string): EditorState {
    return EditorState.create({
      doc: content,
      extensions: [
        collab({ startVersion: version, clientID: this.clientID }),
        remoteCursors(),
        typeof this.extensions === "function" ? this.extensions() : this.extensions,
      ],
    });
  }

  private replaceState(state: EditorState): void {
    if (this.view) this.view.setState(state);
    else this.detachedState = state;
  }

  private setState(tr: Transaction): void {
    if (this.view) this.view.dispatch(tr);
    else this.detachedState = tr.state;
  }

  private requireState(): EditorState {
    const s = this.state;
    if (!s) throw new Error(`document ${this.file} is not loaded yet`);
    return s;
  }

  get id(): string {
    return getClientID(this.requireState());
  }
}
