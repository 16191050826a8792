import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ApiClient } from "./client";
import { ApiError, NetworkError, describeError, parseRetryAfter } from "./errors";

// A real HTTP server on 127.0.0.1 answering the way DESIGN.md says the Go server
// does (JSON bodies, problem+json errors), so the client's fetch/parse path runs for real.
interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
function problem(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/problem+json", ...headers });
  res.end(JSON.stringify(body));
}

const routes: Record<string, Handler> = {
  "POST /api/register": (_req, body, res) => {
    const input = JSON.parse(body) as { username: string; password: string };
    if (input.password.length < 8) {
      return problem(res, 422, {
        status: 422,
        title: "Unprocessable Entity",
        detail: "validation failed",
        errors: [{ message: "must be 8 to 256 characters long", location: "body.password", value: input.password }],
      });
    }
    json(res, 201, { id: "u1", username: input.username, theme: "system" });
  },
  "POST /api/login": (_req, _body, res) =>
    problem(res, 429, { status: 429, title: "Too Many Requests", detail: "Too many failed logins." }, { "Retry-After": "120" }),
  "POST /api/logout": (_req, _body, res) => {
    res.writeHead(204);
    res.end();
  },
  "GET /api/user": (_req, _body, res) => problem(res, 401, { status: 401, title: "Unauthorized", detail: "Sign in first." }),
  "GET /api/sessions?scope=all&limit=100": (_req, _body, res) =>
    json(res, 200, { sessions: [{ id: "s1", name: "Demo", language: "python", isPublic: false, ownerId: "u1", createdAt: "", updatedAt: "" }] }),
  "GET /api/sessions/a%2Fb": (_req, _body, res) => problem(res, 404, { status: 404, title: "Not Found", detail: "No such session." }),
  "PATCH /api/files/f1": (_req, body, res) => {
    const input = JSON.parse(body) as { baseVersion?: number };
    if (input.baseVersion !== 7) return problem(res, 409, { status: 409, title: "Conflict", detail: "The file changed; reload it." });
    json(res, 200, { id: "f1", version: 8 });
  },
  "GET /api/languages": (_req, _body, res) =>
    json(res, 200, [
      { id: "python", name: "Python", version: "3.11", available: true, extensions: [".py"], defaultFile: "main.py" },
      { id: "java", name: "Java", version: "17", available: false, reason: "no JDK installed", extensions: [".java"], defaultFile: "Main.java" },
    ]),
  "GET /api/notifications/unread-count": (_req, _body, res) => json(res, 200, { count: 3 }),
  "GET /api/crash": (_req, _body, res) => {
    res.writeHead(502, { "Content-Type": "text/html" });
    res.end("<html>Bad Gateway</html>");
  },
};

let server: Server;
let base = "";
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body });
      const handler = routes[`${req.method} ${req.url}`];
      if (handler) handler(req, body, res);
      else problem(res, 404, { status: 404, title: "Not Found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client() {
  return new ApiClient({ baseUrl: base, now: () => Date.parse("2026-01-01T00:00:00Z") });
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

describe("ApiClient", () => {
  test("register sends JSON and returns the created user", async () => {
    const user = await client().register({ username: "ada", password: "correct horse" });
    expect(user).toEqual({ id: "u1", username: "ada", theme: "system" });
    const req = seen.at(-1)!;
    expect(req.contentType).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({ username: "ada", password: "correct horse" });
  });

  test("validation problems name the offending field without huma's location prefix", async () => {
    const err = await caught(client().register({ username: "ada", password: "short" }));
    expect(err).toBeInstanceOf(ApiError);
    const api = err as ApiError;
    expect(api.status).toBe(422);
    expect(api.fields).toEqual([{ field: "password", message: "must be 8 to 256 characters long" }]);
    expect(api.fieldMessage("password")).toBe("must be 8 to 256 characters long");
    expect(api.fieldMessage("username")).toBeUndefined();
    expect(describeError(api)).toBe("validation failed — password: must be 8 to 256 characters long");
  });

  test("429 carries Retry-After seconds", async () => {
    const err = (await caught(client().login({ username: "ada", password: "wrong-password" }))) as ApiError;
    expect(err.isRateLimited).toBe(true);
    expect(err.retryAfter).toBe(120);
    expect(describeError(err)).toBe("Too many failed logins. Try again in 120 s.");
  });

  test("204 resolves to nothing", async () => {
    await expect(client().logout()).resolves.toBeUndefined();
  });

  test("currentUser maps 401 to null instead of throwing", async () => {
    await expect(client().currentUser()).resolves.toBeNull();
  });

  test("wrapped lists are unwrapped", async () => {
    const sessions = await client().listSessions();
    expect(sessions.map((s) => s.name)).toEqual(["Demo"]);
  });

  test("bare lists keep unavailable languages with their reason", async () => {
    const langs = await client().languages();
    expect(langs.find((l) => l.id === "java")).toMatchObject({ available: false, reason: "no JDK installed" });
  });

  test("path parameters are escaped and 404 is typed", async () => {
    const err = (await caught(client().getSession("a/b"))) as ApiError;
    expect(seen.at(-1)!.url).toBe("/api/sessions/a%2Fb");
    expect(err.isNotFound).toBe(true);
    expect(err.detail).toBe("No such session.");
  });

  test("content replacement sends baseVersion; a stale one is a typed conflict", async () => {
    await expect(client().replaceFileContent("f1", "x", 7)).resolves.toEqual({ id: "f1", version: 8 });
    const err = (await caught(client().replaceFileContent("f1", "x", 6))) as ApiError;
    expect(err.isConflict).toBe(true);
  });

  test("unread count accepts an object body", async () => {
    await expect(client().unreadCount()).resolves.toBe(3);
  });

  test("a non-JSON error page still becomes an ApiError with the status text", async () => {
    const err = (await caught(client().request("GET", "/api/crash"))) as ApiError;
    expect(err.status).toBe(502);
    expect(err.title).toBe("Bad Gateway");
    expect(err.fields).toEqual([]);
  });

  test("an unreachable server is a NetworkError", async () => {
    // Port 1 on loopback refuses connections.
    const err = await caught(new ApiClient({ baseUrl: "http://127.0.0.1:1" }).listSessions());
    expect(err).toBeInstanceOf(NetworkError);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  test.each([
    [null, undefined],
    ["30", 30],
    ["Thu, 01 Jan 2026 00:01:00 GMT", 60],
    ["Wed, 31 Dec 2025 00:00:00 GMT", 0],
    ["soon", undefined],
  ])("%s -> %s", (header, want) => {
    expect(parseRetryAfter(header, now)).toBe(want);
  });
});
