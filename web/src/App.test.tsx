// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { App } from "./App";
import { ApiClient } from "./api/client";
import { QueryCache } from "./app/queryCache";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Handler = (body: unknown) => { status: number; body?: unknown };

/** Answers like the server would, recording each call. */
function fakeServer(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const fetch = async (input: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, path: input, body });
    const handler = routes[`${method} ${input}`];
    const answer = handler ? handler(body) : { status: 404, body: { status: 404, title: "Not Found" } };
    const isProblem = answer.status >= 400;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "Content-Type": isProblem ? "application/problem+json" : "application/json" },
    });
  };
  return { api: new ApiClient({ fetch }), calls };
}

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
  localStorage.clear();
  localStorage.setItem("codebuddy.onboarded", "1");
});
afterEach(() => {
  act(() => root.unmount());
  document.body.innerHTML = "";
});

async function render(api: ApiClient, path: string) {
  window.history.replaceState(null, "", path);
  await act(async () => root.render(<App api={api} cache={new QueryCache()} />));
  await settle();
}

async function settle() {
  for (let i = 0; i < 5; i++) await act(async () => new Promise((r) => setTimeout(r, 0)));
}

function byLabel(text: string): HTMLInputElement {
  const label = [...document.querySelectorAll("label")].find((l) => l.textContent === text);
  if (!label) throw new Error(`no label ${text}`);
  return document.getElementById(label.htmlFor) as HTMLInputElement;
}

function button(text: string): HTMLButtonElement {
  const b = [...document.querySelectorAll("button")].find((x) => x.textContent?.trim() === text);
  if (!b) throw new Error(`no button ${text}`);
  return b;
}

async function typeInto(input: HTMLInputElement, value: string) {
  await act(async () => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

const ada = { id: "u1", username: "ada", theme: "system" };
const session = (id: string, name: string, extra: object = {}) => ({
  id,
  name,
  language: "python",
  isPublic: false,
  ownerId: "u1",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  ...extra,
});

describe("App", () => {
  test("signed out, the home page offers sign in and sign up", async () => {
    const { api } = fakeServer({ "GET /api/user": () => ({ status: 401, body: { status: 401, title: "Unauthorized" } }) });
    await render(api, "/");
    expect(host.querySelector("h1")?.textContent).toBe("CodeBuddy");
    expect([...host.querySelectorAll("a")].map((a) => a.textContent)).toContain("Sign in");
  });

  test("a session link while signed out leads to sign-in and back", async () => {
    const { api } = fakeServer({ "GET /api/user": () => ({ status: 401, body: { status: 401, title: "Unauthorized" } }) });
    await render(api, "/s/abc");
    expect(window.location.pathname).toBe("/login");
    expect(window.location.search).toBe("?next=%2Fs%2Fabc");
  });

  test("sign-up shows the server's field error next to the field", async () => {
    const { api, calls } = fakeServer({
      "GET /api/user": () => ({ status: 401, body: { status: 401, title: "Unauthorized" } }),
      "POST /api/register": () => ({
        status: 422,
        body: { status: 422, title: "Unprocessable Entity", detail: "validation failed", errors: [{ location: "body.username", message: "is already taken" }] },
      }),
    });
    await render(api, "/signup");
    await typeInto(byLabel("Username"), "ada");
    await typeInto(byLabel("Password"), "long enough password");
    await act(async () => button("Create account").click());
    await settle();
    expect(calls.at(-1)).toMatchObject({ method: "POST", path: "/api/register", body: { username: "ada", password: "long enough password" } });
    const input = byLabel("Username");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(document.getElementById(`${input.id}-error`)?.textContent).toBe("is already taken");
  });

  test("signing in lands on the dashboard with sessions grouped", async () => {
    let signedIn = false;
    const { api } = fakeServer({
      "GET /api/user": () => (signedIn ? { status: 200, body: ada } : { status: 401, body: { status: 401, title: "Unauthorized" } }),
      "POST /api/login": () => ((signedIn = true), { status: 200, body: ada }),
      "GET /api/sessions?scope=mine&limit=100": () => ({ status: 200, body: { sessions: [session("s1", "Mine", { role: "owner", isPublic: true })] } }),
      "GET /api/sessions?scope=shared&limit=100": () => ({ status: 200, body: { sessions: [session("s2", "From Bob", { ownerId: "u2" })] } }),
      "GET /api/sessions?scope=public&limit=100": () => ({
        status: 200,
        body: { sessions: [session("s1", "Mine", { isPublic: true }), session("s3", "Open day", { ownerId: "u3", isPublic: true })] },
      }),
      "GET /api/languages": () => ({ status: 200, body: [{ id: "python", name: "Python", version: "3.12", available: true, extensions: [".py"], defaultFile: "main.py" }] }),
      "GET /api/notifications/unread-count": () => ({ status: 200, body: { count: 2 } }),
    });
    await render(api, "/login");
    await typeInto(byLabel("Username"), "ada");
    await typeInto(byLabel("Password"), "secret-password");
    await act(async () => button("Sign in").click());
    await settle();
    expect(window.location.pathname).toBe("/");
    const sections = [...host.querySelectorAll("section")].map((s) => [s.querySelector("h2")?.textContent, [...s.querySelectorAll(".session-name")].map((a) => a.textContent)]);
    expect(sections).toEqual([
      ["My sessions", ["Mine"]],
      ["Shared with me", ["From Bob"]],
      ["Public sessions", ["Open day"]],
    ]);
    expect(host.querySelector("[aria-label='Notifications, 2 unread']")).not.toBeNull();
  });

  test("deleting a session asks first, then removes it", async () => {
    const { api, calls } = fakeServer({
      "GET /api/user": () => ({ status: 200, body: ada }),
      "GET /api/sessions?scope=mine&limit=100": () => ({ status: 200, body: { sessions: [session("s1", "Scratch")] } }),
      "GET /api/sessions?scope=shared&limit=100": () => ({ status: 200, body: { sessions: [] } }),
      "GET /api/sessions?scope=public&limit=100": () => ({ status: 200, body: { sessions: [] } }),
      "GET /api/languages": () => ({ status: 200, body: [] }),
      "GET /api/notifications/unread-count": () => ({ status: 200, body: 0 }),
      "DELETE /api/sessions/s1": () => ({ status: 204 }),
    });
    await render(api, "/");
    await act(async () => (host.querySelector("[aria-label='Delete Scratch']") as HTMLButtonElement).click());
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    const dialog = [...document.querySelectorAll("dialog")].find((d) => d.textContent?.includes("Delete session?"));
    expect(dialog?.textContent).toContain("cannot be undone");
    await act(async () => button("Delete session").click());
    await settle();
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/sessions/s1"]);
    expect(host.querySelector(".session-name")).toBeNull();
  });
});
