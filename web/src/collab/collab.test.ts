import { ChangeSet, EditorSelection } from "@codemirror/state";
import { describe, expect, test } from "vitest";
import { Connection } from "./connection";
import { DocumentSync } from "./documentSync";
import type { ChangesJSON, ClientMessage } from "./protocol";
import { remoteCursorsField } from "./remoteCursors";
import { SessionClient } from "./sessionClient";
import { FakeNetwork } from "./testing/fakeNetwork";
import { ManualClock } from "./testing/manualClock";

const FILE = "f1";

function setup(initial = "hello") {
  const net = new FakeNetwork();
  const clock = new ManualClock();
  net.server.addFile(FILE, initial);
  net.server.roles.set("ann", "owner");
  net.server.roles.set("bob", "editor");
  return { net, clock };
}

function connect(net: FakeNetwork, clock: ManualClock, userId: string) {
  const connection = new Connection({
    url: "ws://127.0.0.1/api/ws",
    createSocket: net.socketFactory(userId),
    clock,
    backoff: { initialMs: 100, maxMs: 1600 },
    heartbeatMs: 60_000,
  });
  const session = new SessionClient({ session: "s1", connection, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
  connection.start();
  return { connection, session };
}

function textOf(doc: DocumentSync): string {
  return doc.state!.doc.toString();
}

function insert(doc: DocumentSync, at: number, text: string) {
  doc.applyLocal({ changes: { from: at, insert: text } });
}

describe("collaboration over the protocol", () => {
  test("two editors typing at the same time (emoji included) converge on the server's text", () => {
    const { net, clock } = setup("hello world");
    const ann = connect(net, clock, "ann");
    const bob = connect(net, clock, "bob");
    const a = ann.session.document(FILE);
    const b = bob.session.document(FILE);
    net.run();
    expect(textOf(a)).toBe("hello world");

    // Both edit before either hears of the other; surrogate pairs count as 2 UTF-16 units.
    insert(a, 5, " 😀");
    insert(b, 11, "! 🌍");
    insert(b, 0, "¡");
    insert(a, 0, "👋 ");
    net.run();

    const server = net.server.text(FILE);
    expect(server).toContain("😀");
    expect(server).toContain("🌍");
    expect(server).toContain("👋");
    expect(textOf(a)).toBe(server);
    expect(textOf(b)).toBe(server);
    expect(a.version).toBe(net.server.version(FILE));
    expect(b.version).toBe(net.server.version(FILE));
    expect(ann.session.getSnapshot().unconfirmed).toBe(0);
    expect(bob.session.getSnapshot().unconfirmed).toBe(0);
  });

  test("a frame with several updates is applied one update at a time (DESIGN.md example)", () => {
    const { net, clock } = setup("abcdefgh");
    const ann = connect(net, clock, "ann");
    const a = ann.session.document(FILE);
    net.run();

    // Ann replaces "fg" with "N0"; the push is on its way.
    a.applyLocal({ changes: { from: 5, to: 7, insert: "N0" } });
    // Meanwhile the server accepts B1 (delete "def") and B2 (insert "N1" at 3) from someone else.
    const b1 = ChangeSet.of({ from: 3, to: 6 }, 8);
    const b2 = ChangeSet.of({ from: 3, insert: "N1" }, 5);
    net.server.inject(FILE, "other", "bob", [b1.toJSON() as ChangesJSON, b2.toJSON() as ChangesJSON]);
    net.run();

    // Stepwise rebasing gives abcN1N0h; a client composing the frame would show abcN0N1h.
    expect(net.server.text(FILE)).toBe("abcN1N0h");
    expect(textOf(a)).toBe("abcN1N0h");
    expect(a.unconfirmedCount).toBe(0);
  });

  test("an edit made offline is kept through the reconnect and reaches everyone", () => {
    const { net, clock } = setup("shared");
    const ann = connect(net, clock, "ann");
    const bob = connect(net, clock, "bob");
    const a = ann.session.document(FILE);
    const b = bob.session.document(FILE);
    net.run();

    net.offline.add("ann");
    net.socketsOf("ann")[0]!.drop();
    net.run();
    expect(ann.connection.status).toBe("reconnecting");
    expect(a.phase).toBe("offline");

    insert(a, 0, "ann:");
    insert(b, 6, ":bob");
    net.run();
    clock.advance(100); // first retry is refused while offline
    net.run();
    expect(ann.connection.status).toBe("reconnecting");
    expect(ann.session.getSnapshot().unconfirmed).toBe(1);

    net.offline.delete("ann");
    clock.advance(1600);
    net.run();

    expect(ann.connection.status).toBe("open");
    expect(net.server.text(FILE)).toBe("ann:shared:bob");
    expect(textOf(a)).toBe("ann:shared:bob");
    expect(textOf(b)).toBe("ann:shared:bob");
    expect(ann.session.getSnapshot().unconfirmed).toBe(0);
  });

  test("a push the server accepted just before the link dropped is confirmed, not sent twice", () => {
    const { net, clock } = setup("x");
    const ann = connect(net, clock, "ann");
    const a = ann.session.document(FILE);
    net.run();

    insert(a, 1, "y");
    net.step(); // the server commits the push; its echo is queued
    expect(net.server.text(FILE)).toBe("xy");
    net.socketsOf("ann")[0]!.drop(); // the echo is lost with the connection
    net.run();
    expect(a.unconfirmedCount).toBe(1);

    clock.advance(1000);
    net.run();

    expect(net.server.text(FILE)).toBe("xy");
    expect(net.server.version(FILE)).toBe(1);
    expect(textOf(a)).toBe("xy");
    expect(a.unconfirmedCount).toBe(0);
  });

  test("when the server's history is gone its document wins and the lost text is reported", () => {
    const { net, clock } = setup("base");
    const ann = connect(net, clock, "ann");
    const bob = connect(net, clock, "bob");
    const a = ann.session.document(FILE);
    const b = bob.session.document(FILE);
    const discarded: string[] = [];
    ann.session.onEditsDiscarded((_file, text) => discarded.push(text));
    net.run();

    net.socketsOf("ann")[0]!.drop();
    net.run();
    insert(a, 4, " by ann");
    insert(b, 0, "bob's ");
    net.run();
    net.server.compact(FILE);
    clock.advance(1000);
    net.run();

    expect(discarded).toEqual(["base by ann"]);
    expect(textOf(a)).toBe("bob's base");
    expect(a.version).toBe(net.server.version(FILE));
    expect(a.unconfirmedCount).toBe(0);
  });

  test("a push the server could not store (internal error) is sent again, not stuck in flight", () => {
    const { net, clock } = setup("abc");
    const ann = connect(net, clock, "ann");
    const a = ann.session.document(FILE);
    net.run();
    net.server.failPushes = 1;
    insert(a, 3, "d");
    net.run();
    expect(net.server.text(FILE)).toBe("abc");
    expect(a.unconfirmedCount).toBe(1);
    clock.advance(2000);
    net.run();
    expect(net.server.text(FILE)).toBe("abcd");
    expect(a.unconfirmedCount).toBe(0);
    insert(a, 4, "e");
    net.run();
    expect(net.server.text(FILE)).toBe("abcde");
  });

  test("a viewer receives updates but never pushes", () => {
    const { net, clock } = setup("read me");
    net.server.roles.set("vic", "viewer");
    const vic = connect(net, clock, "vic");
    const bob = connect(net, clock, "bob");
    const v = vic.session.document(FILE);
    const b = bob.session.document(FILE);
    net.run();
    expect(vic.session.getSnapshot().role).toBe("viewer");
    expect(v.readOnly).toBe(true);

    insert(b, 0, "please ");
    insert(v, 0, "sneaky ");
    net.run();

    expect(net.server.received.filter((r) => r.from === "vic" && r.msg.type === "push")).toEqual([]);
    expect(net.server.text(FILE)).toBe("please read me");
  });

  test("an editor demoted to viewer mid-session becomes read-only and keeps their text for copying", () => {
    const { net, clock } = setup("base");
    const bob = connect(net, clock, "bob");
    const b = bob.session.document(FILE);
    const discarded: string[] = [];
    bob.session.onEditsDiscarded((_f, text) => discarded.push(text));
    net.run();
    net.server.roles.set("bob", "viewer");
    insert(b, 4, " edit");
    net.run();
    expect(bob.session.getSnapshot().role).toBe("viewer");
    expect(b.readOnly).toBe(true);
    expect(textOf(b)).toBe("base");
    expect(discarded).toEqual(["base edit"]);
    expect(bob.session.getSnapshot().lastError?.code).toBe("forbidden");
  });

  test("a role change reaches an open session at once: promoted viewers edit, demoted editors stop", () => {
    const { net, clock } = setup("base");
    net.server.roles.set("bob", "viewer");
    const bob = connect(net, clock, "bob");
    const b = bob.session.document(FILE);
    net.run();
    expect(b.readOnly).toBe(true);

    net.server.setRole("bob", "editor");
    net.run();
    expect(bob.session.getSnapshot().role).toBe("editor");
    expect(b.readOnly).toBe(false);
    insert(b, 4, "!");
    net.run();
    expect(net.server.text(FILE)).toBe("base!");

    net.server.setRole("bob", "viewer");
    net.run();
    expect(bob.session.getSnapshot().role).toBe("viewer");
    expect(b.readOnly).toBe(true);
  });

  test("access taken away mid-session shows the access-denied view", () => {
    const { net, clock } = setup("base");
    const bob = connect(net, clock, "bob");
    const b = bob.session.document(FILE);
    net.run();
    expect(bob.session.getSnapshot().fatal).toBeNull();
    net.server.revoke("bob");
    net.run();
    expect(bob.session.getSnapshot().fatal?.code).toBe("not_found");
    expect(b.readOnly).toBe(true);
  });

  test("remote cursors arrive with the sender's name and follow local edits", () => {
    const { net, clock } = setup("hello");
    const ann = connect(net, clock, "ann");
    const bob = connect(net, clock, "bob");
    const a = ann.session.document(FILE);
    const b = bob.session.document(FILE);
    net.run();

    b.applyLocal({ selection: EditorSelection.cursor(3) });
    // applyLocal reports no selection (no view); send it the way the view hook does.
    bob.connection.send({ type: "cursor", file: FILE, version: b.version!, selection: { main: 0, ranges: [{ anchor: 3, head: 3 }] } });
    net.run();
    const cursor = a.state!.field(remoteCursorsField).get("bob");
    expect(cursor).toMatchObject({ name: "bob", ranges: [{ anchor: 3, head: 3 }] });

    insert(a, 0, ">>");
    expect(a.state!.field(remoteCursorsField).get("bob")?.ranges).toEqual([{ anchor: 5, head: 5 }]);
  });

  test("a cursor sent against an older version is mapped over the updates since", () => {
    const { net, clock } = setup("hello");
    const ann = connect(net, clock, "ann");
    const a = ann.session.document(FILE);
    net.run();
    net.server.inject(FILE, "c1", "bob", [ChangeSet.of({ from: 0, insert: "123" }, 5).toJSON() as ChangesJSON]);
    net.run();
    // bob's cursor at 4 in version 0 ("hell|o") is at 7 in version 1.
    a.handleCursor(0, { userId: "bob", name: "bob", color: "#1f6feb", ranges: [{ anchor: 4, head: 4 }] });
    expect(a.state!.field(remoteCursorsField).get("bob")?.ranges).toEqual([{ anchor: 7, head: 7 }]);
  });

  test("chat is shown at once and replaced by the server's copy; offline lines are marked failed", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    net.run();
    ann.session.sendChat("  hi all  ");
    expect(ann.session.getSnapshot().chat).toMatchObject([{ content: "hi all", pending: true }]);
    net.run();
    expect(ann.session.getSnapshot().chat).toEqual([net.server.chat[0]]);

    net.socketsOf("ann")[0]!.drop();
    net.run();
    ann.session.sendChat("anyone?");
    expect(ann.session.getSnapshot().chat.at(-1)).toMatchObject({ content: "anyone?", failed: true });
  });

  test("a chat line the server refuses is marked failed, not left sending", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    net.run();
    ann.session.sendChat("x".repeat(4001));
    net.run();
    expect(ann.session.getSnapshot().chat).toMatchObject([{ failed: true, pending: false }]);
    expect(ann.session.getSnapshot().lastError?.code).toBe("invalid_message");
  });

  test("join refused as not_found makes the session fatal (access-denied view)", () => {
    const { net, clock } = setup();
    const eve = connect(net, clock, "eve");
    net.run();
    expect(eve.session.getSnapshot().fatal).toEqual({ code: "not_found", message: "no such session" });
    expect(eve.session.getSnapshot().joined).toBe(false);
  });

  test("a server without socket runs hands the request to the REST fallback", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    net.run();
    const fallback: unknown[] = [];
    ann.session.onRunFallback((req) => fallback.push(req));
    expect(ann.session.startRun({ language: "python", entry: "main.py", stdin: "1\n" })).toBe(true);
    net.run();
    expect(fallback).toEqual([{ language: "python", entry: "main.py", stdin: "1\n" }]);
    expect(ann.session.getSnapshot().lastError).toBeNull();
  });

  test("presence without an online flag (the Go server's form) counts as online", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    const a = ann.session.document(FILE);
    net.run();
    a.handleCursor(0, { userId: "bob", name: "bob", color: "#1f6feb", ranges: [{ anchor: 1, head: 1 }] });
    const socket = net.socketsOf("ann")[0]!;
    socket.deliver({ type: "presence", participants: [{ userId: "ann", username: "ann", role: "owner", color: "#d0312d", state: "active" }] });
    net.run();
    expect(ann.session.getSnapshot().participants.map((p) => p.userId)).toEqual(["ann"]);
    // bob is gone from presence, so his cursor goes too — but only if he was listed before.
    socket.deliver({ type: "presence", participants: [{ userId: "ann", username: "ann", role: "owner" }, { userId: "bob", username: "bob", role: "editor" }] });
    socket.deliver({ type: "presence", participants: [{ userId: "ann", username: "ann", role: "owner" }] });
    net.run();
    expect(a.state!.field(remoteCursorsField).has("bob")).toBe(false);
  });

  test("a run started with closeStdin gets end-of-input once the server names it", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    net.run();
    ann.session.startRun({ language: "python", stdin: "3\n" }, { closeStdin: true });
    net.run();
    const socket = net.socketsOf("ann")[0]!;
    socket.deliver({ type: "run", event: "queued", run: "r9", userId: "bob" }); // someone else's run
    socket.deliver({ type: "run", event: "queued", run: "r7", userId: "ann", position: 2 });
    net.run();
    const stdin = net.server.received.filter((r) => r.msg.type === "stdin").map((r) => r.msg);
    expect(stdin).toEqual([{ type: "stdin", run: "r7", data: "", eof: true }]);
    expect(ann.session.getSnapshot().runs.find((r) => r.id === "r7")?.position).toBe(2);
  });

  test("run events stream output and end with the result", () => {
    const { net, clock } = setup();
    const ann = connect(net, clock, "ann");
    net.run();
    const socket = net.socketsOf("ann")[0]!;
    socket.deliver({ type: "run", event: "queued", run: "r1", userId: "ann" });
    socket.deliver({ type: "run", event: "started", run: "r1" });
    socket.deliver({ type: "run", event: "output", run: "r1", stream: "stdout", data: "hel" });
    socket.deliver({ type: "run", event: "output", run: "r1", stream: "stderr", data: "warn\n" });
    socket.deliver({ type: "run", event: "output", run: "r1", stream: "stdout", data: "lo\n" });
    net.run();
    const run = ann.session.getSnapshot().runs[0]!;
    expect(run.phase).toBe("running");
    expect(run.output.map((c) => c.data).join("")).toBe("helwarn\nlo\n");

    socket.deliver({
      type: "run",
      event: "finished",
      run: "r1",
      status: "ok",
      exitCode: 0,
      stdout: "hello\n",
      stderr: "warn\n",
      timeMs: 12,
      cpuMs: 10,
      memoryKb: 2048,
    });
    net.run();
    const done = ann.session.getSnapshot().runs[0]!;
    expect(done.phase).toBe("finished");
    expect(done.result).toMatchObject({ status: "ok", timeMs: 12, memoryKb: 2048 });
    expect(done.output).toHaveLength(3);
  });
});

describe("DocumentSync ordering", () => {
  function standalone() {
    const sent: ClientMessage[] = [];
    const doc = new DocumentSync({ file: FILE, send: (m) => (sent.push(m), true), clientID: "me" });
    doc.handleDoc(0, "abc");
    return { doc, sent };
  }
  const ins = (at: number, text: string, len: number) => ChangeSet.of({ from: at, insert: text }, len).toJSON() as ChangesJSON;

  test("an update after a gap waits for a pull and is then applied in order", () => {
    const { doc, sent } = standalone();
    doc.handleUpdates(1, [{ clientID: "x", changes: ins(4, "2", 4) }]);
    expect(textOf(doc)).toBe("abc");
    expect(sent).toEqual([{ type: "pull", file: FILE, version: 0 }]);

    doc.handleUpdates(0, [{ clientID: "x", changes: ins(3, "1", 3) }]);
    expect(textOf(doc)).toBe("abc12");
    expect(doc.version).toBe(2);
  });

  test("duplicated updates are ignored", () => {
    const { doc } = standalone();
    const u = { clientID: "x", changes: ins(0, "z", 3) };
    doc.handleUpdates(0, [u]);
    doc.handleUpdates(0, [u]);
    expect(textOf(doc)).toBe("zabc");
    expect(doc.version).toBe(1);
  });

  test("a change that does not fit the document triggers a fresh open instead of throwing", () => {
    const { doc, sent } = standalone();
    doc.handleUpdates(0, [{ clientID: "x", changes: ins(0, "z", 99) }]);
    expect(textOf(doc)).toBe("abc");
    expect(sent.at(-1)).toEqual({ type: "open", file: FILE });
    doc.handleDoc(5, "fresh");
    expect(textOf(doc)).toBe("fresh");
    expect(doc.version).toBe(5);
  });

  test("only one push is in flight; the rest goes after the echo", () => {
    const { doc, sent } = standalone();
    insert(doc, 0, "1");
    insert(doc, 0, "2");
    const pushes = () => sent.filter((m) => m.type === "push");
    expect(pushes()).toHaveLength(1);
    doc.handleUpdates(0, [{ clientID: "me", changes: ins(0, "1", 3) }]);
    expect(pushes()).toHaveLength(2);
    expect(pushes()[1]).toMatchObject({ version: 1, updates: [{ clientID: "me" }] });
  });
});

describe("Connection", () => {
  test("reconnect delays double up to the cap and reset after a successful open", () => {
    const { net, clock } = setup();
    net.offline.add("ann");
    const { connection } = connect(net, clock, "ann");
    net.run();
    for (let i = 0; i < 6; i++) {
      clock.advance(10_000);
      net.run();
    }
    // random() = 0.5 → delay = 3/4 of min(cap, 100·2^n).
    expect(clock.delays.slice(0, 7)).toEqual([75, 150, 300, 600, 1200, 1200, 1200]);

    net.offline.delete("ann");
    clock.advance(10_000);
    net.run();
    expect(connection.status).toBe("open");
    net.socketsOf("ann")[0]!.drop();
    net.run();
    expect(clock.delays.at(-1)).toBe(75);
  });

  test("a connection refused for too many tabs says so, keeps its edits and retries only at the cap", () => {
    const { net, clock } = setup();
    const { connection, session } = connect(net, clock, "ann");
    net.run();
    const doc = session.document(FILE);
    net.run();
    const statuses: string[] = [];
    connection.onStatus((s) => statuses.push(s));
    net.socketsOf("ann")[0]!.close(4030, "too many open connections for this account (32): close a tab");
    net.run();
    insert(doc, 0, "X"); // made while refused: kept
    expect(connection.status).toBe("refused");
    expect(session.getSnapshot().connection).toBe("refused");
    expect(session.getSnapshot().unconfirmed).toBe(1);
    const shown: string[] = [];
    session.subscribe(() => shown.push(session.getSnapshot().connection));
    // The server refuses the next tries as well: still "refused", never "reconnecting".
    net.overLimit.add("ann");
    for (let i = 0; i < 3; i++) {
      clock.advance(1600);
      net.run();
    }
    net.overLimit.delete("ann");
    expect(statuses).not.toContain("reconnecting");
    // Each try is let in and closed again: the session keeps saying "refused"
    // through it rather than flashing "open" (the indicator's "Connecting…").
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((s) => s !== "refused").join(",")).toBe("");
    // Every retry waited for the cap (random() = 0.5: 3/4 of 1600), not 75 ms.
    expect(clock.delays.filter((d) => d !== 60_000).slice(-4)).toEqual([1200, 1200, 1200, 1200]); // 60 s: heartbeats
    // Once a tab is closed the next try gets in and the edit goes through.
    clock.advance(1600);
    net.run();
    expect(connection.status).toBe("open");
    expect(session.getSnapshot().connection).toBe("open");
    expect(session.getSnapshot().joined).toBe(true);
    expect(session.getSnapshot().unconfirmed).toBe(0);
    expect(textOf(doc)).toBe("Xhello");
    expect(net.server.text(FILE)).toBe("Xhello");
  });

  test("a silent link is closed by the heartbeat and replaced", () => {
    const net = new FakeNetwork();
    const clock = new ManualClock();
    net.server.roles.set("ann", "owner");
    const connection = new Connection({ url: "ws://x", createSocket: net.socketFactory("ann"), clock, heartbeatMs: 1000 });
    connection.start();
    net.run();
    const first = net.socketsOf("ann")[0]!;
    // Swallow everything the server would answer, including pongs.
    first.deliver = () => {};
    clock.advance(1000); // ping 1
    clock.advance(1000); // ping 2
    clock.advance(1000); // silent for 3 s > 2 heartbeats: close
    net.run();
    expect(first.readyState).toBe(3);
    clock.advance(1000);
    net.run();
    expect(connection.status).toBe("open");
    expect(net.socketsOf("ann")).toHaveLength(1);
    expect(net.socketsOf("ann")[0]).not.toBe(first);
  });

  test("interrupt (the browser went offline) drops the link at once and comes back", () => {
    const { net, clock } = setup();
    const { connection, session } = connect(net, clock, "ann");
    net.run();
    expect(session.getSnapshot().joined).toBe(true);
    connection.interrupt();
    expect(connection.status).toBe("reconnecting");
    expect(session.getSnapshot().joined).toBe(false);
    clock.advance(1000);
    net.run();
    expect(connection.status).toBe("open");
    expect(session.getSnapshot().joined).toBe(true);
  });

  test("stop closes for good", () => {
    const { net, clock } = setup();
    const { connection } = connect(net, clock, "ann");
    net.run();
    connection.stop();
    net.run();
    clock.advance(60_000);
    net.run();
    expect(connection.status).toBe("closed");
    expect(net.socketsOf("ann")).toHaveLength(0);
    expect(connection.send({ type: "ping" })).toBe(false);
  });
});
