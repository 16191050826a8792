// Test-only: an in-memory authority speaking DESIGN.md's JSON protocol over
// fake sockets, with a delivery queue the test controls. It rebases pushes
// step by step over accepted updates, the way DESIGN.md requires of the Go server.
import { ChangeSet, Text } from "@codemirror/state";
import type { SocketLike } from "../connection";
import type { ChangesJSON, ClientMessage, ServerMessage } from "../protocol";

interface Accepted {
  clientID: string;
  changes: ChangeSet;
  userId: string;
}

interface FileLog {
  base: Text;
  baseVersion: number;
  doc: Text;
  log: Accepted[];
}

export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  userId: string;
  session: string | null = null;
  readonly subscriptions = new Set<string>();

  constructor(
    private readonly net: FakeNetwork,
    userId: string,
  ) {
    this.userId = userId;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.net.enqueue(() => this.net.server.receive(this, JSON.parse(data) as ClientMessage));
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.net.server.disconnect(this);
    this.net.enqueue(() => this.onclose?.({ code, reason }));
  }

  /** The server (or the network) drops the connection. */
  drop(): void {
    this.close(1006, "dropped");
  }

  deliver(msg: ServerMessage): void {
    if (this.readyState !== 1) return;
    const frame = JSON.stringify(msg);
    this.net.enqueue(() => {
      if (this.readyState === 1) this.onmessage?.({ data: frame });
    });
  }
}

export class FakeServer {
  readonly files = new Map<string, FileLog>();
  readonly sockets = new Set<FakeSocket>();
  readonly received: { from: string; msg: ClientMessage }[] = [];
  /** Roles by user; anyone else gets not_found on join. */
  readonly roles = new Map<string, "owner" | "editor" | "viewer">();
  readonly chat: { id: string; userId: string; username: string; content: string; createdAt: string }[] = [];
  /** Pushes to refuse with an `internal` error (the real server's answer when it could not store a change). */
  failPushes = 0;

  addFile(id: string, content: string): void {
    const doc = Text.of(content.split("\n"));
    this.files.set(id, { base: doc, baseVersion: 0, doc, log: [] });
  }

  /** The owner changes a role: everyone gets a presence frame, as from the real server. */
  setRole(userId: string, role: "owner" | "editor" | "viewer"): void {
    this.roles.set(userId, role);
    const participants = [...this.roles].map(([id, r]) => ({ userId: id, username: id, role: r }));
    for (const s of this.sockets) if (s.session) s.deliver({ type: "presence", participants });
  }

  /** The owner removes a participant: their sockets leave the session with a file-less not_found. */
  revoke(userId: string): void {
    this.roles.delete(userId);
    for (const s of this.sockets) {
      if (s.userId !== userId || !s.session) continue;
      s.session = null;
      s.subscriptions.clear();
      s.deliver({ type: "error", code: "not_found", message: "this session was deleted or you no longer have access to it" });
    }
  }

  version(file: string): number {
    const f = this.file(file);
    return f.baseVersion + f.log.length;
  }

  text(file: string): string {
    return this.file(file).doc.toString();
  }

  /** Forgets history before the current version, as if compacted. */
  compact(file: string): void {
    const f = this.file(file);
    f.baseVersion += f.log.length;
    f.base = f.doc;
    f.log = [];
  }

  /** Commits updates from an outside client and broadcasts them as one frame. */
  inject(file: string, clientID: string, userId: string, changes: ChangesJSON[]): void {
    const f = this.file(file);
    const version = this.version(file);
    const accepted: Accepted[] = [];
    for (const json of changes) {
      const c = ChangeSet.fromJSON(json);
      f.doc = c.apply(f.doc);
      accepted.push({ clientID, changes: c, userId });
    }
    f.log.push(...accepted);
    this.broadcast(file, version, accepted);
  }

  receive(socket: FakeSocket, msg: ClientMessage): void {
    this.received.push({ from: socket.userId, msg });
    switch (msg.type) {
      case "join": {
        const role = this.roles.get(socket.userId);
        if (!role) return socket.deliver({ type: "error", code: "not_found", message: "no such session" });
        socket.session = msg.session;
        socket.deliver({
          type: "joined",
          session: msg.session,
          user: { id: socket.userId, username: socket.userId },
          role,
          participants: [...this.roles].map(([userId, r]) => ({ userId, username: userId, role: r, online: [...this.sockets].some((s) => s.userId === userId) })),
          files: [],
        });
        return;
      }
      case "open": {
        const f = this.file(msg.file);
        socket.subscriptions.add(msg.file);
        socket.deliver({ type: "doc", file: msg.file, version: this.version(msg.file), content: f.doc.toString() });
        return;
      }
      case "pull": {
        const f = this.file(msg.file);
        if (msg.version < f.baseVersion) {
          socket.deliver({ type: "doc", file: msg.file, version: this.version(msg.file), content: f.doc.toString() });
          return;
        }
        const updates = f.log.slice(msg.version - f.baseVersion);
        socket.deliver({
          type: "updates",
          file: msg.file,
          version: msg.version,
          updates: updates.map((u) => ({ clientID: u.clientID, changes: u.changes.toJSON() as ChangesJSON, userId: u.userId })),
        });
        return;
      }
      case "push":
        return this.push(socket, msg);
      case "cursor":
        for (const s of this.sockets) {
          if (s !== socket && s.subscriptions.has(msg.file)) {
            s.deliver({ type: "cursor", userId: socket.userId, file: msg.file, version: msg.version, selection: msg.selection });
          }
        }
        return;
      case "chat": {
        if (msg.text.length > 4000) return socket.deliver({ type: "error", code: "invalid_message", message: "chat messages are at most 4000 characters" });
        const message = { id: `m${this.chat.length + 1}`, userId: socket.userId, username: socket.userId, content: msg.text, createdAt: new Date(0).toISOString() };
        this.chat.push(message);
        for (const s of this.sockets) if (s.session) s.deliver({ type: "chat", message });
        return;
      }
      case "leave":
      case "close":
      case "ping":
        return;
      default:
        // As the Go server answers message types it does not handle.
        socket.deliver({ type: "error", code: "invalid_message", message: `unknown message type "${msg.type}"` });
        return;
    }
  }

  disconnect(socket: FakeSocket): void {
    this.sockets.delete(socket);
  }

  private push(socket: FakeSocket, msg: Extract<ClientMessage, { type: "push" }>): void {
    if (this.roles.get(socket.userId) === "viewer") {
      return socket.deliver({ type: "error", code: "forbidden", message: "viewers cannot edit", file: msg.file });
    }
    if (this.failPushes > 0) {
      this.failPushes--;
      return socket.deliver({ type: "error", code: "internal", message: "could not save the change, resend it", file: msg.file });
    }
    const f = this.file(msg.file);
    const start = this.version(msg.file);
    if (msg.version < f.baseVersion || msg.version > start) {
      return socket.deliver({ type: "error", code: "invalid_change", message: "unknown version", file: msg.file });
    }
    let over = f.log.slice(msg.version - f.baseVersion).map((u) => u.changes);
    const accepted: Accepted[] = [];
    let doc = f.doc;
    try {
      for (const u of msg.updates) {
        let c = ChangeSet.fromJSON(u.changes);
        // Step by step: map over each accepted update in turn, and map those
        // over this one so the next pushed update (based on this one) fits.
        const nextOver: ChangeSet[] = [];
        for (const a of over) {
          nextOver.push(a.map(c, true));
          c = c.map(a);
        }
        over = nextOver;
        if (c.length !== doc.length) throw new RangeError("length mismatch");
        doc = c.apply(doc);
        accepted.push({ clientID: u.clientID, changes: c, userId: socket.userId });
      }
    } catch {
      return socket.deliver({ type: "error", code: "invalid_change", message: "the change does not fit the document", file: msg.file });
    }
    f.doc = doc;
    f.log.push(...accepted);
    this.broadcast(msg.file, start, accepted);
  }

  private broadcast(file: string, version: number, accepted: Accepted[]): void {
    const msg: ServerMessage = {
      type: "updates",
      file,
      version,
      updates: accepted.map((u) => ({ clientID: u.clientID, changes: u.changes.toJSON() as ChangesJSON, userId: u.userId })),
    };
    for (const s of this.sockets) if (s.subscriptions.has(file)) s.deliver(msg);
  }

  private file(id: string): FileLog {
    const f = this.files.get(id);
    if (!f) throw new Error(`no file ${id}`);
    return f;
  }
}

/**
 * Frames travel through one FIFO queue; nothing moves until the test calls
 * run(), so tests decide exactly what is in flight when a link drops.
 */
export class FakeNetwork {
  readonly server = new FakeServer();
  private readonly queue: (() => void)[] = [];
  /** Users whose new connections are refused (simulates being offline). */
  readonly offline = new Set<string>();
  /**
   * Users with too many connections: a new one opens and is closed at once
   * with 4030, before anything it sends is read (as the server does).
   */
  readonly overLimit = new Set<string>();

  enqueue(fn: () => void): void {
    this.queue.push(fn);
  }

  /** A socket factory for Connection, connecting as `userId`. */
  socketFactory(userId: string): (url: string) => SocketLike {
    return () => {
      const socket = new FakeSocket(this, userId);
      this.enqueue(() => {
        if (this.offline.has(userId)) {
          socket.readyState = 3;
          socket.onclose?.({ code: 1006, reason: "offline" });
          return;
        }
        socket.readyState = 1;
        if (this.overLimit.has(userId)) {
          socket.onopen?.({});
          socket.readyState = 3;
          socket.onclose?.({ code: 4030, reason: "too many open connections for this account (32): close a tab" });
          return;
        }
        this.server.sockets.add(socket);
        socket.onopen?.({});
      });
      return socket;
    };
  }

  socketsOf(userId: string): FakeSocket[] {
    return [...this.server.sockets].filter((s) => s.userId === userId);
  }

  /** Delivers frames until nothing is left (bounded, so a loop fails the test instead of hanging). */
  run(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const next = this.queue.shift();
      if (!next) return;
      next();
    }
    throw new Error("network did not settle");
  }

  /** Delivers exactly one queued frame or event. */
  step(): void {
    const next = this.queue.shift();
    if (!next) throw new Error("nothing queued");
    next();
  }

  get pending(): number {
    return this.queue.length;
  }
}
