import { language } from "@codemirror/language";
import { describe, expect, test } from "vitest";
import type { FileEntry } from "../api/types";
import { Connection } from "../collab/connection";
import { SessionClient } from "../collab/sessionClient";
import { FakeNetwork } from "../collab/testing/fakeNetwork";
import { ManualClock } from "../collab/testing/manualClock";
import { EditorConfig } from "./editorConfig";

function file(id: string, path: string): FileEntry {
  return { id, sessionId: "s1", parentId: null, name: path, path, isFolder: false, version: 0, updatedAt: "" };
}

function setup() {
  const net = new FakeNetwork();
  const clock = new ManualClock();
  net.server.addFile("a", "print('a')\n");
  net.server.addFile("b", "print('b')\n");
  net.server.roles.set("ann", "owner");
  const config = new EditorConfig();
  config.files = [file("a", "a.py"), file("b", "b.py")];
  config.sessionLanguage = "python";
  config.readOnly = false;
  const connection = new Connection({ url: "ws://127.0.0.1/api/ws", createSocket: net.socketFactory("ann"), clock, heartbeatMs: 60_000 });
  const client = new SessionClient({ session: "s1", connection, documentExtensions: config.extensionsFor, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
  connection.start();
  return { net, client, config };
}

describe("EditorConfig", () => {
  test("a document opened after its language mode loaded starts with the mode", async () => {
    const { net, client, config } = setup();
    const a = client.document("a");
    net.run();
    await config.applyMode(client, ["a"], "python");
    expect(a.state!.facet(language)?.name).toBe("python");

    // A second file of the same language: created with the mode already in its
    // language slot (this used to put the slot in twice, and creating the state threw).
    const b = client.document("b");
    net.run();
    expect(b.phase).toBe("synced");
    expect(b.state!.facet(language)?.name).toBe("python");
    expect(client.getSnapshot().documents).toEqual({ a: { loaded: true, unconfirmed: 0 }, b: { loaded: true, unconfirmed: 0 } });
  });

  test("applying the mode or the read-only flag a document already has leaves its state alone", async () => {
    const { net, client, config } = setup();
    await config.preloadMode("python");
    const a = client.document("a");
    net.run();
    const loaded = a.state;
    expect(loaded!.facet(language)?.name).toBe("python");

    await config.applyMode(client, ["a"], "python");
    config.applyReadOnly(client, ["a"], false);
    expect(a.state).toBe(loaded);

    config.applyReadOnly(client, ["a"], true);
    expect(a.state).not.toBe(loaded);
    expect(a.state!.readOnly).toBe(true);
  });
});
