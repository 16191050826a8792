import { parseServerMessage, type ClientMessage, type ServerMessage } from "./protocol";

/** The part of the browser WebSocket this module uses, so tests can pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/**
 * "refused": the server closed the connection because this account has too
 * many open (close code 4030, one per tab); retried only at the backoff cap,
 * since a quick retry cannot succeed until another tab closes.
 */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "refused" | "closed";

/** The close code of a connection beyond the account's limit. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4030;

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
  /** In [0, 1); spreads reconnects of many clients after a server restart. */
  random(): number;
}

export interface ConnectionOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  /** First reconnect delay and the cap the doubling stops at. */
  backoff?: { initialMs: number; maxMs: number };
  /** A ping goes out this often; no frame for twice as long means the link is dead. */
  heartbeatMs?: number;
  clock?: Clock;
}

const OPEN = 1;

const browserClock: Clock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
  random: () => Math.random(),
};

/** The default WebSocket URL: /api/ws on the page's own origin. */
export function defaultSocketUrl(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/api/ws`;
}

/**
 * One WebSocket to the server that comes back after it drops: exponential
 * backoff with jitter, reset once a connection opens. It knows nothing about
 * sessions or documents; listeners re-join and resync on every "open".
 */
export class Connection {
  private readonly url: string;
  private readonly createSocket: (url: string) => SocketLike;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly heartbeatMs: number;
  private readonly clock: Clock;

  private socket: SocketLike | null = null;
  private currentStatus: ConnectionStatus = "closed";
  private attempt = 0;
  private retryTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private lastFrameAt = 0;
  private stopped = true;

  private readonly messageListeners = new Set<(msg: ServerMessage) => void>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();

  constructor(options: ConnectionOptions) {
    this.url = options.url;
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.backoff = options.backoff ?? { initialMs: 500, maxMs: 15_000 };
    this.heartbeatMs = options.heartbeatMs ?? 20_000;
    this.clock = options.clock ?? browserClock;
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  onMessage(fn: (msg: ServerMessage) => void): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onStatus(fn: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect("connecting");
  }

  /** Closes for good (leaving the page); no reconnects after this. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, "leaving");
    }
    this.setStatus("closed");
  }

  /** Skips the remaining backoff (the browser came back online). */
  reconnectNow(): void {
    if (this.stopped || this.currentStatus === "open" || this.currentStatus === "connecting") return;
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect("reconnecting");
  }

  /**
   * Drops the current socket at once and reconnects with backoff. For when
   * the browser says it went offline: waiting for the heartbeat would leave
   * the UI claiming "connected" for up to two heartbeats.
   */
  interrupt(reason = "offline"): void {
    const socket = this.socket;
    if (!socket) return;
    socket.close(4001, reason);
    // Browsers deliver close late (or never) for a dead link; handle it now.
    socket.onclose?.({ code: 4001, reason });
  }

  /**
   * Sends a frame if the socket is open. Nothing is queued while offline:
   * callers resync from their own state on the next "open" instead, because
   * a queued push would name a stale version.
   */
  send(msg: ClientMessage): boolean {
    if (!this.socket || this.socket.readyState !== OPEN || this.currentStatus !== "open") return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const fn of [...this.statusListeners]) fn(status);
  }

  private connect(status: ConnectionStatus): void {
    this.setStatus(status);
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.lastFrameAt = this.clock.now();
      this.setStatus("open");
      this.scheduleHeartbeat();
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = this.clock.now();
      const msg = parseServerMessage(ev.data);
      if (!msg || msg.type === "pong") return;
      for (const fn of [...this.messageListeners]) fn(msg);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clock.clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = null;
      if (!this.stopped) this.scheduleReconnect(ev?.code === CLOSE_TOO_MANY_CONNECTIONS);
    };
    // An error is always followed by close; the close handler does the work.
    socket.onerror = () => {};
  }

  private scheduleReconnect(refused = false): void {
    this.setStatus(refused ? "refused" : "reconnecting");
    const base = refused ? this.backoff.maxMs : Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    this.attempt++;
    // "Equal jitter": at least half the delay, so retries never stampede at 0 ms.
    const delay = base / 2 + (this.clock.random() * base) / 2;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      // A refused client keeps saying why while it tries again.
      if (!this.stopped) this.connect(this.currentStatus === "refused" ? "refused" : "reconnecting");
    }, delay);
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = null;
      const socket = this.socket;
      if (!socket || this.currentStatus !== "open") return;
      if (this.clock.now() - this.lastFrameAt > 2 * this.heartbeatMs) {
        // Half-open TCP connections can stay silent for minutes; force a reconnect.
        this.interrupt("heartbeat timeout");
        return;
      }
      this.send({ type: "ping" });
      this.scheduleHeartbeat();
    }, this.heartbeatMs);
  }

  private clearTimers(): void {
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.heartbeatTimer);
    this.retryTimer = null;
    this.heartbeatTimer = null;
  }
}
