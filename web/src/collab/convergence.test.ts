import { describe, expect, test } from "vitest";
import { Connection } from "./connection";
import { SessionClient } from "./sessionClient";
import { FakeNetwork } from "./testing/fakeNetwork";
import { ManualClock } from "./testing/manualClock";

/** Small seeded PRNG so a failing seed can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["a", "bc", "\n", "😀", "é", "  ", "🌍x", "λ"];

describe("random concurrent editing with dropped connections converges", () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %i", (seed) => {
    const rand = mulberry32(seed);
    const net = new FakeNetwork();
    const clock = new ManualClock();
    net.server.addFile("f", "start\ntext");
    const users = ["u0", "u1", "u2"];
    const clients = users.map((u) => {
      net.server.roles.set(u, "editor");
      const connection = new Connection({ url: "ws://x", createSocket: net.socketFactory(u), clock, backoff: { initialMs: 50, maxMs: 400 }, heartbeatMs: 1e9 });
      const session = new SessionClient({ session: "s", connection, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
      connection.start();
      return { user: u, connection, session, doc: session.document("f") };
    });
    net.run();

    for (let step = 0; step < 300; step++) {
      const r = rand();
      const c = clients[Math.floor(rand() * clients.length)]!;
      const state = c.doc.state!;
      if (r < 0.45) {
        // Never split a surrogate pair: pick a position on a code point boundary.
        const text = state.doc.toString();
        let pos = Math.floor(rand() * (text.length + 1));
        if (pos > 0 && pos < text.length && /[\uDC00-\uDFFF]/.test(text[pos]!)) pos--;
        const len = state.doc.length;
        if (rand() < 0.3 && len > 0) {
          let to = Math.min(len, pos + 1 + Math.floor(rand() * 3));
          if (to < len && /[\uDC00-\uDFFF]/.test(text[to]!)) to++;
          if (pos < to) c.doc.applyLocal({ changes: { from: pos, to } });
        } else {
          c.doc.applyLocal({ changes: { from: pos, insert: PIECES[Math.floor(rand() * PIECES.length)]! } });
        }
      } else if (r < 0.85) {
        if (net.pending) net.step();
      } else if (r < 0.9) {
        const socket = net.socketsOf(c.user)[0];
        if (socket) socket.drop();
      } else {
        clock.advance(Math.floor(rand() * 500));
      }
    }

    // Heal: everybody online, everything delivered.
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      net.run();
    }
    const server = net.server.text("f");
    for (const c of clients) {
      expect(c.connection.status).toBe("open");
      expect(c.doc.state!.doc.toString()).toBe(server);
      expect(c.doc.unconfirmedCount).toBe(0);
      expect(c.doc.version).toBe(net.server.version("f"));
    }
  });
});
