// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { FileEntry } from "../api/types";
import type { RunState } from "../collab/sessionClient";
import { ChatPanel } from "./ChatPanel";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { FileExplorer, type FileActions } from "./FileExplorer";
import { RunPanel } from "./RunPanel";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;
beforeEach(() => {
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  document.body.innerHTML = "";
});

const file = (id: string, name: string, parentId: string | null, isFolder = false): FileEntry => ({
  id,
  sessionId: "s",
  parentId,
  name,
  path: parentId ? `src/${name}` : name,
  isFolder,
  version: 0,
  updatedAt: "",
});

function key(target: Element, k: string) {
  act(() => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
  });
}

describe("FileExplorer", () => {
  const files = [file("d", "src", null, true), file("a", "util.py", "d"), file("m", "main.py", null)];
  function render(calls: string[]) {
    const actions: FileActions = {
      open: (f) => void calls.push(`open ${f.name}`),
      create: async (kind, parent, name) => void calls.push(`create ${kind} ${parent} ${name}`),
      rename: async (f, name) => void calls.push(`rename ${f.name} ${name}`),
      move: async (f, parent) => void calls.push(`move ${f.name} ${parent}`),
      remove: async (f) => void calls.push(`remove ${f.name}`),
    };
    act(() => root.render(<FileExplorer files={files} activeId={null} canEdit actions={actions} />));
  }
  const focused = () => (document.activeElement as HTMLElement).querySelector(".tree-label")?.textContent?.replace(/^[▾▸·]/, "");

  test("arrow keys walk the visible tree, Left/Right fold folders, Enter opens a file", () => {
    const calls: string[] = [];
    render(calls);
    const tree = host.querySelector("[role=tree]")!;
    const items = () => [...host.querySelectorAll("[role=treeitem]")];
    expect(items().map((i) => i.getAttribute("tabindex"))).toEqual(["0", "-1", "-1"]);
    act(() => (items()[0] as HTMLElement).focus());
    key(tree, "ArrowDown");
    expect(focused()).toBe("util.py");
    key(tree, "ArrowLeft"); // to the parent folder
    expect(focused()).toBe("src");
    key(tree, "ArrowLeft"); // fold it
    expect(host.querySelector("[role=treeitem]")!.getAttribute("aria-expanded")).toBe("false");
    key(tree, "ArrowDown");
    expect(focused()).toBe("main.py");
    key(tree, "Enter");
    expect(calls).toEqual(["open main.py"]);
  });

  test("F2 renames through a dialog that checks the name first", async () => {
    const calls: string[] = [];
    render(calls);
    const tree = host.querySelector("[role=tree]")!;
    act(() => (host.querySelectorAll("[role=treeitem]")[2] as HTMLElement).focus());
    expect(focused()).toBe("main.py");
    key(tree, "F2");
    const input = document.querySelector("dialog input[name=name]") as HTMLInputElement;
    expect(input.value).toBe("main.py");
    input.value = "bad/name";
    await act(async () => input.form!.requestSubmit());
    expect(document.querySelector("dialog .field-error")?.textContent).toBe("Names cannot contain / or \\.");
    expect(calls).toEqual([]);
    input.value = "app.py";
    await act(async () => input.form!.requestSubmit());
    expect(calls).toEqual(["rename main.py app.py"]);
  });

  test("viewers get no file actions", () => {
    act(() =>
      root.render(<FileExplorer files={files} activeId={null} canEdit={false} actions={{} as FileActions} />),
    );
    expect(host.querySelector("[role=toolbar]")).toBeNull();
  });
});

describe("ChatPanel", () => {
  test("messages sit in a polite log; sending clears the box", async () => {
    const sent: string[] = [];
    act(() =>
      root.render(
        <ChatPanel
          messages={[{ id: "1", userId: "u2", username: "bob", content: "<b>hi</b>", createdAt: "2026-01-01T10:00:00Z" }]}
          meId="u1"
          onSend={(t) => sent.push(t)}
          onRetry={() => {}}
        />,
      ),
    );
    const log = host.querySelector("[role=log]")!;
    expect(log.getAttribute("aria-live")).toBe("polite");
    // Chat text is shown as text, never as markup.
    expect(log.querySelector("b")).toBeNull();
    expect(log.textContent).toContain("<b>hi</b>");
    const input = host.querySelector("input[name=text]") as HTMLInputElement;
    input.value = "hello bob";
    await act(async () => input.form!.requestSubmit());
    expect(sent).toEqual(["hello bob"]);
    expect(input.value).toBe("");
  });
});

describe("RunPanel", () => {
  const base = { history: [], historyLoading: false, meId: "u1", stdin: "", onStdinChange: () => {}, onSendInput: () => {}, nameOf: () => "" };
  test("streams output, marks stderr, and announces the result", () => {
    const running: RunState = {
      id: "r1",
      phase: "running",
      userId: "u1",
      output: [
        { stream: "stdout", data: "hi\n" },
        { stream: "stderr", data: "oops\n" },
      ],
      outputChars: 8,
      clipped: false,
    };
    act(() => root.render(<RunPanel {...base} runs={[running]} />));
    expect(host.querySelector(".output")!.textContent).toBe("hi\noops\n");
    expect(host.querySelector(".output .stderr")!.textContent).toBe("oops\n");
    // The starter may type into the running program.
    expect(host.querySelector(".interactive-input")).not.toBeNull();

    const done: RunState = {
      ...running,
      phase: "finished",
      result: {
        id: "r1",
        language: { id: "python", version: "3.11" },
        status: "ok",
        exitCode: 0,
        stdout: "hi\n",
        stderr: "oops\n",
        timeMs: 12,
        cpuMs: 10,
        memoryKb: 2048,
        stdoutTruncated: false,
        stderrTruncated: false,
      },
    };
    act(() => root.render(<RunPanel {...base} runs={[done]} />));
    const live = host.querySelector("[aria-live=polite][role=status]")!;
    expect(live.textContent).toBe("Run finished: Success · 12 ms · 2.0 MB");
    expect(host.querySelector(".interactive-input")).toBeNull();
  });
});

describe("ConnectionIndicator", () => {
  function text(status: Parameters<typeof ConnectionIndicator>[0]["status"], joined: boolean, unconfirmed: number) {
    act(() => root.render(<ConnectionIndicator status={status} joined={joined} unconfirmed={unconfirmed} />));
    const el = host.querySelector('[role="status"]')!;
    return { text: el.textContent, online: el.classList.contains("online") };
  }
  test("says what the link is doing and what is kept", () => {
    expect(text("open", true, 0)).toEqual({ text: "All changes saved", online: true });
    expect(text("open", true, 1)).toEqual({ text: "Saving…", online: true });
    expect(text("open", false, 0)).toEqual({ text: "Connecting…", online: false });
    expect(text("reconnecting", false, 2)).toEqual({ text: "Offline — 2 edits kept, reconnecting…", online: false });
    expect(text("refused", false, 0).text).toBe("Offline — too many tabs open for your account; close one to reconnect");
    expect(text("refused", false, 1).text).toBe("Offline — too many tabs open for your account; close one to reconnect (1 edit kept)");
  });
});
