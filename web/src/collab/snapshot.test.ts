import { describe, expect, test } from "vitest";
import { Connection } from "./connection";
import { SessionClient } from "./sessionClient";
import { FakeNetwork } from "./testing/fakeNetwork";
import { ManualClock } from "./testing/manualClock";

function connect(net: FakeNetwork, clock: ManualClock, userId: string) {
  const connection = new Connection({ url: "ws://127.0.0.1/api/ws", createSocket: net.socketFactory(userId), clock, heartbeatMs: 60_000 });
  const session = new SessionClient({ session: "s1", connection, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
  connection.start();
  return session;
}

// The playground renders from the snapshot: a new snapshot object re-renders it.
describe("session snapshot", () => {
  test("others' edits leave the snapshot as it was; our own edits show as unconfirmed until acknowledged", () => {
    const net = new FakeNetwork();
    const clock = new ManualClock();
    net.server.addFile("f1", "hello");
    net.server.roles.set("ann", "owner");
    net.server.roles.set("bob", "editor");
    const ann = connect(net, clock, "ann");
    const bob = connect(net, clock, "bob");
    const a = ann.document("f1");
    const b = bob.document("f1");
    net.run();
    expect(ann.getSnapshot().documents).toEqual({ f1: { loaded: true, unconfirmed: 0 } });

    const before = ann.getSnapshot();
    let renders = 0;
    ann.subscribe(() => renders++);
    b.applyLocal({ changes: { from: 5, insert: " world" } });
    net.run();
    expect(a.state!.doc.toString()).toBe("hello world");
    expect(renders).toBe(0);
    expect(ann.getSnapshot()).toBe(before);

    a.applyLocal({ changes: { from: 0, insert: "¡" } });
    expect(ann.getSnapshot().documents.f1).toEqual({ loaded: true, unconfirmed: 1 });
    expect(ann.getSnapshot().unconfirmed).toBe(1);
    net.run();
    expect(ann.getSnapshot().documents.f1).toEqual({ loaded: true, unconfirmed: 0 });
    expect(ann.getSnapshot().unconfirmed).toBe(0);
  });
});
