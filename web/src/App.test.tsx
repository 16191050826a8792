// @vitest-environment jsdom
import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, expect, test } from "vitest";
import { App } from "./App";

// React only enables act() warnings-free rendering when this flag is set.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

afterEach(() => {
  document.body.innerHTML = "";
});

test("landing page names the product and links to sign in", () => {
  const host = document.createElement("div");
  document.body.append(host);
  const root = createRoot(host);
  act(() => root.render(<App />));
  expect(host.querySelector("h1")?.textContent).toBe("CodeBuddy");
  const link = host.querySelector("a");
  expect(link?.textContent).toBe("Sign in");
  expect(link?.getAttribute("href")).toBe("/login");
  act(() => root.unmount());
});
