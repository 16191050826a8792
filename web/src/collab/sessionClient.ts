import type { Extension } from "@codemirror/state";
import type { ChatMessage, ExecuteRequest, ExecutionResult, FileEntry, Notification, Role } from "../api/types";
import { colorFor } from "./colors";
import type { Connection, ConnectionStatus } from "./connection";
import { DocumentSync } from "./documentSync";
import { runId, type PresenceParticipant, type SelectionJSON, type ServerMessage } from "./protocol";

export interface ChatEntry extends ChatMessage {
  /** Sent by us, not yet echoed by the server. */
  pending?: boolean;
  /** Could not be sent (offline); the UI offers to retry. */
  failed?: boolean;
}

export interface RunOutputChunk {
  stream: "stdout" | "stderr";
  data: string;
}

export interface RunState {
  id: string;
  phase: "queued" | "running" | "finished";
  /** Place in the queue while queued (1 = next). */
  position?: number;
  userId?: string;
  username?: string;
  output: RunOutputChunk[];
  /** Characters of output kept; beyond the cap chunks are dropped and `clipped` set. */
  outputChars: number;
  clipped: boolean;
  result?: ExecutionResult;
}

export interface SessionError {
  code: string;
  message: string;
}

/** What the page shows about one open document. */
export interface DocumentInfo {
  /** The server's `doc` arrived: there is a state to show. */
  loaded: boolean;
  /** Local edits not yet confirmed by the server. */
  unconfirmed: number;
}

export interface SessionSnapshot {
  connection: ConnectionStatus;
  joined: boolean;
  me: { id: string; username: string } | null;
  role: Role | null;
  participants: PresenceParticipant[];
  files: FileEntry[];
  chat: ChatEntry[];
  runs: RunState[];
  /** Join refused (forbidden / not_found): the session is not ours to see. */
  fatal: SessionError | null;
  /** The last non-fatal error the server sent, for a toast. */
  lastError: SessionError | null;
  /** Local edits not yet confirmed by the server, across open files. */
  unconfirmed: number;
  /**
   * Per open document (by file id). Replaced only when a value changes, so a
   * remote edit or cursor, which changes nothing here, re-renders nothing.
   */
  documents: Readonly<Record<string, DocumentInfo>>;
}

export interface SessionClientOptions {
  session: string;
  connection: Connection;
  /** Extensions for each new document (language, theme, keymaps). */
  documentExtensions?: (file: string) => Extension;
  /** Cap on kept output per run, in characters. */
  maxRunOutput?: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
}

/** Only plain #rgb/#rrggbb colours reach inline styles. */
function safeColor(c: string | undefined): string | undefined {
  return c && /^#[0-9a-fA-F]{6}$/.test(c) ? c : undefined;
}

const FATAL_CODES = new Set(["forbidden", "not_found", "unauthorized"]);
const CURSOR_DELAY_MS = 40;
const RATE_LIMIT_RETRY_MS = 1500;

/**
 * Everything real-time about one coding session over one Connection: join
 * and re-join, the open documents, presence and cursors, chat, runs. React
 * reads it through subscribe/getSnapshot (useSyncExternalStore).
 */
export class SessionClient {
  readonly session: string;
  private readonly connection: Connection;
  private readonly documentExtensions: (file: string) => Extension;
  private readonly maxRunOutput: number;
  private readonly setTimeoutFn: (fn: () => void, ms: number) => unknown;
  private readonly clearTimeoutFn: (id: unknown) => void;

  private readonly docs = new Map<string, DocumentSync>();
  private readonly listeners = new Set<() => void>();
  private readonly notificationListeners = new Set<(n: Notification) => void>();
  private readonly discardListeners = new Set<(file: string, text: string) => void>();
  private readonly runFallbackListeners = new Set<(request: Omit<ExecuteRequest, "sessionId">) => void>();
  /** The last run asked for over the socket, until the server reacts to it. */
  private pendingRunRequest: Omit<ExecuteRequest, "sessionId"> | null = null;
  /** Send end-of-input as soon as the server names our next run. */
  private closeStdinOfNextRun = false;
  private readonly cursorTimers = new Map<string, unknown>();
  private readonly unsubscribe: (() => void)[] = [];
  private localChatId = 0;
  private snapshot: SessionSnapshot;

  constructor(options: SessionClientOptions) {
    this.session = options.session;
    this.connection = options.connection;
    this.documentExtensions = options.documentExtensions ?? (() => []);
    this.maxRunOutput = options.maxRunOutput ?? 1_000_000;
    this.setTimeoutFn = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimeoutFn = options.clearTimeout ?? ((id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>));
    this.snapshot = {
      connection: this.connection.status,
      joined: false,
      me: null,
      role: null,
      participants: [],
      files: [],
      chat: [],
      runs: [],
      fatal: null,
      lastError: null,
      unconfirmed: 0,
      documents: {},
    };
    this.unsubscribe.push(
      this.connection.onStatus((status) => this.handleStatus(status)),
      this.connection.onMessage((msg) => this.handleMessage(msg)),
    );
    if (this.connection.status === "open") this.connection.send({ type: "join", session: this.session });
  }

  // React store interface
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = (): SessionSnapshot => this.snapshot;

  onNotification(fn: (n: Notification) => void): () => void {
    this.notificationListeners.add(fn);
    return () => this.notificationListeners.delete(fn);
  }

  /** Unconfirmed edits thrown away because the server's history was gone; the text is what the user had. */
  onEditsDiscarded(fn: (file: string, text: string) => void): () => void {
    this.discardListeners.add(fn);
    return () => this.discardListeners.delete(fn);
  }

  get canEdit(): boolean {
    return this.snapshot.role === "owner" || this.snapshot.role === "editor";
  }

  /** The document for `file`, subscribing to it on first use. */
  document(file: string): DocumentSync {
    let doc = this.docs.get(file);
    if (!doc) {
      doc = new DocumentSync({
        file,
        send: (msg) => this.connection.send(msg),
        extensions: () => this.documentExtensions(file),
        onChange: () => this.refreshDocuments(),
        onLocalSelection: (version, selection) => this.queueCursor(file, version, selection),
        onEditsDiscarded: (text) => {
          for (const fn of [...this.discardListeners]) fn(file, text);
        },
      });
      doc.readOnly = !this.canEdit;
      this.docs.set(file, doc);
      // No snapshot change here: this runs during React renders, and a
      // document that has not loaded looks the same as one not open.
      if (this.snapshot.joined) doc.open();
    }
    return doc;
  }

  /** The document for `file` if it is open, without subscribing. */
  peekDocument(file: string): DocumentSync | undefined {
    return this.docs.get(file);
  }

  closeDocument(file: string): void {
    const doc = this.docs.get(file);
    if (!doc) return;
    if (doc.unconfirmedCount > 0) return; // keep it until the edits are confirmed
    this.docs.delete(file);
    this.connection.send({ type: "close", file });
    this.refreshDocuments();
  }

  sendChat(text: string): void {
    const trimmed = text.trim();
    if (!trimmed) return;
    const me = this.snapshot.me;
    const entry: ChatEntry = {
      id: `local-${++this.localChatId}`,
      userId: me?.id ?? "",
      username: me?.username ?? "me",
      content: trimmed,
      createdAt: new Date().toISOString(),
      pending: true,
    };
    const sent = this.connection.send({ type: "chat", text: trimmed });
    if (!sent) {
      entry.pending = false;
      entry.failed = true;
    }
    this.update({ chat: [...this.snapshot.chat, entry] });
  }

  retryChat(localId: string): void {
    const entry = this.snapshot.chat.find((m) => m.id === localId);
    if (!entry?.failed) return;
    this.update({ chat: this.snapshot.chat.filter((m) => m.id !== localId) });
    this.sendChat(entry.content);
  }

  /** Older messages from the REST history, merged before the live ones. */
  addHistory(messages: readonly ChatMessage[]): void {
    const known = new Set(this.snapshot.chat.map((m) => m.id));
    const older = messages.filter((m) => !known.has(m.id));
    if (!older.length) return;
    const chat: ChatEntry[] = [...older, ...this.snapshot.chat];
    chat.sort((a, b) => {
      if (a.pending || a.failed || b.pending || b.failed) return 0;
      return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
    });
    this.update({ chat });
  }

  /**
   * Starts a run of the session's files. Socket runs keep standard input open
   * for typing; with `closeStdin` the program gets `request.stdin` and then
   * end-of-input, as a judge would give it.
   */
  startRun(request: Omit<ExecuteRequest, "sessionId">, options: { closeStdin?: boolean } = {}): boolean {
    const sent = this.connection.send({ type: "run", ...request, sessionId: this.session });
    if (sent) {
      this.pendingRunRequest = request;
      this.closeStdinOfNextRun = options.closeStdin ?? false;
    }
    return sent;
  }

  /**
   * A server that does not take runs over the socket (it answers
   * invalid_message for the unknown type) hands the request to these
   * listeners, which use POST /api/execute instead.
   */
  onRunFallback(fn: (request: Omit<ExecuteRequest, "sessionId">) => void): () => void {
    this.runFallbackListeners.add(fn);
    return () => this.runFallbackListeners.delete(fn);
  }

  /** Shows a run made outside the socket (the REST fallback) like a live one. */
  upsertLocalRun(id: string, phase: RunState["phase"], result?: ExecutionResult): void {
    const runs = this.snapshot.runs.filter((r) => r.id !== id);
    const me = this.snapshot.me;
    const output: RunOutputChunk[] = [];
    if (result?.compileOutput) output.push({ stream: "stderr", data: result.compileOutput });
    if (result?.stdout) output.push({ stream: "stdout", data: result.stdout });
    if (result?.stderr) output.push({ stream: "stderr", data: result.stderr });
    const run: RunState = { id, phase, output, outputChars: output.reduce((n, c) => n + c.data.length, 0), clipped: false };
    if (me) {
      run.userId = me.id;
      run.username = me.username;
    }
    if (result) run.result = result;
    this.update({ runs: [...runs, run] });
  }
  /** Types into a running program of ours; `eof` ends its input (like Ctrl+D). */
  sendStdin(run: string, data: string, eof = false): boolean {
    return this.connection.send(eof ? { type: "stdin", run, data, eof } : { type: "stdin", run, data });
  }
  cancelRun(run: string): boolean {
    return this.connection.send({ type: "cancel", run });
  }

  /** Applies an optimistic file-tree change locally (the server's `files` event confirms it). */
  setFiles(files: FileEntry[]): void {
    this.update({ files });
  }

  dismissError(): void {
    this.update({ lastError: null });
  }

  dispose(): void {
    for (const off of this.unsubscribe) off();
    for (const t of this.cursorTimers.values()) this.clearTimeoutFn(t);
    this.connection.send({ type: "leave" });
    this.listeners.clear();
  }

  private update(patch: Partial<SessionSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const fn of [...this.listeners]) fn();
  }

  /** Publishes the documents' loaded/unconfirmed state, only when some value changed. */
  private refreshDocuments(): void {
    let total = 0;
    let changed = false;
    const old = this.snapshot.documents;
    const documents: Record<string, DocumentInfo> = {};
    for (const [file, d] of this.docs) {
      const info = { loaded: d.state !== null, unconfirmed: d.unconfirmedCount };
      total += info.unconfirmed;
      const was = old[file];
      if (was && was.loaded === info.loaded && was.unconfirmed === info.unconfirmed) documents[file] = was;
      else {
        documents[file] = info;
        changed = true;
      }
    }
    if (Object.keys(old).length !== this.docs.size) changed = true;
    if (changed || total !== this.snapshot.unconfirmed) this.update(changed ? { documents, unconfirmed: total } : { unconfirmed: total });
  }

  private handleStatus(status: ConnectionStatus): void {
    if (status === "open") {
      this.connection.send({ type: "join", session: this.session });
    } else {
      for (const d of this.docs.values()) d.connectionLost();
      // Pending chat lines will never be echoed by the old connection.
      const chat = this.snapshot.chat.map((m) => (m.pending ? { ...m, pending: false, failed: true } : m));
      this.update({ joined: false, chat });
    }
    // A tab refused for having too many siblings is let in and closed again
    // at each retry: it stays "refused" until it is really joined, rather
    // than flashing "Connecting…" every few seconds.
    this.update({ connection: status === "open" && this.snapshot.connection === "refused" ? "refused" : status });
  }

  private handleMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case "joined": {
        this.update({
          connection: this.connection.status,
          joined: true,
          me: { id: msg.user.id, username: msg.user.username },
          role: msg.role,
          participants: msg.participants ?? [],
          files: msg.files ?? [],
          fatal: null,
        });
        const readOnly = !this.canEdit;
        for (const d of this.docs.values()) {
          d.readOnly = readOnly;
          d.open();
        }
        return;
      }
      case "doc":
        this.docs.get(msg.file)?.handleDoc(msg.version, msg.content);
        return;
      case "updates":
        this.docs.get(msg.file)?.handleUpdates(msg.version, msg.updates);
        return;
      case "cursor": {
        if (msg.userId === this.snapshot.me?.id) return;
        const who = this.snapshot.participants.find((p) => p.userId === msg.userId);
        this.docs.get(msg.file)?.handleCursor(msg.version, {
          userId: msg.userId,
          name: msg.username ?? who?.username ?? "someone",
          color: safeColor(msg.color ?? who?.color) ?? colorFor(msg.userId),
          ranges: msg.selection.ranges,
        });
        return;
      }
      case "presence": {
        const online = new Set(msg.participants.filter((p) => p.online !== false).map((p) => p.userId));
        for (const p of this.snapshot.participants) {
          if (!online.has(p.userId)) for (const d of this.docs.values()) d.removeCursor(p.userId);
        }
        // The owner changed our role: follow it at once (viewers cannot type).
        const mine = msg.participants.find((p) => p.userId === this.snapshot.me?.id);
        if (mine?.role && mine.role !== this.snapshot.role) {
          this.update({ participants: msg.participants, role: mine.role });
          const readOnly = !this.canEdit;
          for (const d of this.docs.values()) d.readOnly = readOnly;
          return;
        }
        this.update({ participants: msg.participants });
        return;
      }
      case "chat":
        this.receiveChat(msg.message);
        return;
      case "files":
        this.receiveFileEvent(msg.event, msg.file);
        return;
      case "notification":
        for (const fn of [...this.notificationListeners]) fn(msg.notification);
        return;
      case "run":
        this.receiveRun(msg);
        return;
      case "error":
        this.receiveError(msg.code, msg.message, msg.file);
        return;
      case "pong":
        return;
    }
  }

  private receiveChat(message: ChatMessage): void {
    const chat = this.snapshot.chat;
    if (chat.some((m) => m.id === message.id)) return;
    const pendingIndex = chat.findIndex((m) => m.pending && m.userId === message.userId && m.content === message.content);
    if (pendingIndex >= 0) {
      const next = chat.slice();
      next[pendingIndex] = message;
      this.update({ chat: next });
    } else {
      this.update({ chat: [...chat, message] });
    }
  }

  private receiveFileEvent(event: "created" | "renamed" | "deleted", file: FileEntry): void {
    const others = this.snapshot.files.filter((f) => f.id !== file.id);
    if (event === "deleted") {
      this.update({ files: others });
      return;
    }
    // A created file may replace an optimistic placeholder with the same path.
    this.update({ files: [...others.filter((f) => !(f.id.startsWith("local-") && f.path === file.path)), file] });
  }

  private receiveRun(msg: Extract<ServerMessage, { type: "run" }>): void {
    this.pendingRunRequest = null;
    const id = runId(msg.run);
    const runs = this.snapshot.runs.slice();
    let index = runs.findIndex((r) => r.id === id);
    if (index < 0) {
      runs.push({ id, phase: "queued", output: [], outputChars: 0, clipped: false, userId: msg.userId, username: msg.username });
      index = runs.length - 1;
      if (this.closeStdinOfNextRun && msg.userId && msg.userId === this.snapshot.me?.id && msg.event !== "finished") {
        this.closeStdinOfNextRun = false;
        this.connection.send({ type: "stdin", run: id, data: "", eof: true });
      }
    }
    const run = { ...runs[index]! };
    switch (msg.event) {
      case "queued":
        if (msg.position) run.position = msg.position;
        break;
      case "started":
        run.phase = "running";
        break;
      case "output": {
        const data = msg.data ?? "";
        if (run.outputChars + data.length > this.maxRunOutput) {
          run.clipped = true;
        } else {
          run.output = [...run.output, { stream: msg.stream ?? "stdout", data }];
          run.outputChars += data.length;
        }
        run.phase = "running";
        break;
      }
      case "finished": {
        run.phase = "finished";
        const { type: _t, event: _e, run: _r, result, ...spread } = msg;
        run.result = result ?? (spread as unknown as ExecutionResult);
        // Nothing streamed (a run started elsewhere before we joined): show the final output.
        if (run.output.length === 0 && run.result) {
          const out: RunOutputChunk[] = [];
          if (run.result.compileOutput) out.push({ stream: "stderr", data: run.result.compileOutput });
          if (run.result.stdout) out.push({ stream: "stdout", data: run.result.stdout });
          if (run.result.stderr) out.push({ stream: "stderr", data: run.result.stderr });
          run.output = out;
        }
        break;
      }
    }
    runs[index] = run;
    this.update({ runs });
  }

  private receiveError(code: string, message: string, file: string | undefined): void {
    const error = { code, message };
    // Before joining, or a file-less not_found after: the session is gone or
    // our access to it was taken away (the server has made us leave it).
    if (FATAL_CODES.has(code) && (!this.snapshot.joined || (code === "not_found" && !file))) {
      for (const d of this.docs.values()) d.readOnly = true;
      this.update({ fatal: error });
      return;
    }
    if (code === "invalid_message" && this.pendingRunRequest && /\brun\b/.test(message)) {
      const request = this.pendingRunRequest;
      this.pendingRunRequest = null;
      for (const fn of [...this.runFallbackListeners]) fn(request);
      return;
    }
    // A refused chat line (too long, too fast) answers with a file-less error:
    // the oldest line still waiting is the one it refers to.
    const waiting = this.snapshot.chat.findIndex((m) => m.pending);
    if (!file && waiting >= 0 && (code === "invalid_message" || code === "rate_limited" || code === "too_large")) {
      const chat = this.snapshot.chat.slice();
      chat[waiting] = { ...chat[waiting]!, pending: false, failed: true };
      this.update({ chat, lastError: error });
      return;
    }
    const affected = [...this.docs.values()].filter((d) => (file ? d.file === file : d.hasPushInFlight));
    if (code === "invalid_change" || code === "too_large") {
      for (const d of affected) d.pushRefused();
    } else if (code === "rate_limited" || code === "internal") {
      // Too fast, or the server could not store the change this time: the
      // push is lost, its edits are not; send them again a little later.
      for (const d of affected) d.pushDeferred();
      this.setTimeoutFn(() => {
        for (const d of affected) d.flush();
      }, RATE_LIMIT_RETRY_MS);
    } else if (code === "forbidden" && affected.length > 0) {
      // The owner made us a viewer: our edits will never be accepted. Become
      // read-only and reload the server's text (the lost text is reported).
      for (const d of this.docs.values()) d.readOnly = true;
      this.update({ role: "viewer" });
      for (const d of affected) d.pushRefused();
    }
    this.update({ lastError: error });
  }

  private queueCursor(file: string, version: number, selection: SelectionJSON): void {
    const old = this.cursorTimers.get(file);
    if (old !== undefined) this.clearTimeoutFn(old);
    this.cursorTimers.set(
      file,
      this.setTimeoutFn(() => {
        this.cursorTimers.delete(file);
        this.connection.send({ type: "cursor", file, version, selection });
      }, CURSOR_DELAY_MS),
    );
  }
}
