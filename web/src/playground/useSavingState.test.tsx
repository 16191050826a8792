// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { DocumentInfo } from "../collab/sessionClient";
import { useBarUnconfirmed, useUnsavedTabs } from "./useSavingState";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;
beforeEach(() => {
  vi.useFakeTimers();
  host = document.createElement("div");
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  vi.useRealTimers();
});

function Bar({ online, unconfirmed }: { online: boolean; unconfirmed: number }) {
  return <span>{useBarUnconfirmed(online, unconfirmed)}</span>;
}
const bar = (online: boolean, unconfirmed: number) => {
  act(() => root.render(<Bar online={online} unconfirmed={unconfirmed} />));
  return host.textContent;
};

test("the bar: a quick save never shows, a slow one does, offline counts at once", () => {
  expect(bar(true, 0)).toBe("0");
  expect(bar(true, 2)).toBe("0"); // a keystroke in flight
  act(() => vi.advanceTimersByTime(100));
  expect(bar(true, 0)).toBe("0"); // acknowledged: nothing flashed
  expect(bar(true, 1)).toBe("0");
  act(() => vi.advanceTimersByTime(400));
  expect(host.textContent).toBe("1"); // slow: "Saving…"
  expect(bar(true, 0)).toBe("0");
  expect(bar(false, 3)).toBe("3"); // offline: edits kept, at once
});

test("back online with kept edits, the bar says saving at once, not saved", () => {
  expect(bar(true, 0)).toBe("0");
  expect(bar(false, 2)).toBe("2"); // a short outage, under the delay
  expect(bar(true, 2)).toBe("1");
  expect(bar(true, 0)).toBe("0");
  expect(bar(true, 1)).toBe("0"); // then typing again is quiet as before
});

function Tabs({ docs }: { docs: Record<string, DocumentInfo> }) {
  const unsaved = useUnsavedTabs(docs);
  return <span>{["a", "b"].filter(unsaved).join(",")}</span>;
}
const tabs = (a: number, b: number) => {
  act(() => root.render(<Tabs docs={{ a: { loaded: true, unconfirmed: a }, b: { loaded: true, unconfirmed: b } }} />));
  return host.textContent;
};

test("a tab's dot shows once it stays unsaved and goes as soon as that tab is saved", () => {
  expect(tabs(0, 0)).toBe("");
  expect(tabs(1, 1)).toBe("");
  act(() => vi.advanceTimersByTime(400));
  expect(host.textContent).toBe("a,b");
  expect(tabs(1, 0)).toBe("a"); // b saved: its dot goes at once
  expect(tabs(0, 0)).toBe("");
});
