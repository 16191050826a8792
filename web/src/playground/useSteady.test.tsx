// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { useSteady } from "./useSteady";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;
const seen: number[] = [];
function Probe({ value }: { value: number }) {
  const shown = useSteady(value, 0, 400);
  seen.push(shown);
  return <span>{shown}</span>;
}
const render = (value: number) => act(() => root.render(<Probe value={value} />));

beforeEach(() => {
  vi.useFakeTimers();
  host = document.createElement("div");
  root = createRoot(host);
  seen.length = 0;
});
afterEach(() => {
  act(() => root.unmount());
  vi.useRealTimers();
});

test("a change shorter than the delay never shows: a keystroke's save does not flash", () => {
  render(0);
  render(1);
  act(() => vi.advanceTimersByTime(50));
  render(0);
  act(() => vi.advanceTimersByTime(1000));
  expect(seen.every((v) => v === 0)).toBe(true);
  expect(host.textContent).toBe("0");
});

test("a change that lasts shows after the delay, and the return to quiet shows at once", () => {
  render(0);
  render(1);
  act(() => vi.advanceTimersByTime(399));
  expect(host.textContent).toBe("0");
  act(() => vi.advanceTimersByTime(1));
  expect(host.textContent).toBe("1");
  render(0);
  expect(host.textContent).toBe("0");
  render(2); // a new change waits again
  expect(host.textContent).toBe("0");
  act(() => vi.advanceTimersByTime(400));
  expect(host.textContent).toBe("2");
});
