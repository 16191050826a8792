import type { Clock } from "../connection";

/** Test-only clock: timers fire only when the test advances time. */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers: { id: number; at: number; fn: () => void }[] = [];
  /** Delays passed to setTimeout, in order, for asserting backoff. */
  readonly delays: number[] = [];

  constructor(private readonly randomValue = 0.5) {}

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.delays.push(ms);
    this.timers.push({ id, at: this.t + ms, fn });
    return id;
  };

  clearTimeout = (id: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };

  now = (): number => this.t;
  random = (): number => this.randomValue;

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
