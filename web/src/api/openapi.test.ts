import { describe, expect, test } from "vitest";
import { ApiClient } from "./client";
import spec from "./openapi.json";

// openapi.json is the Go server's generated document (GET /api/openapi.json),
// committed so this check runs offline. Refresh it from a running server:
//   curl -s http://127.0.0.1:8080/api/openapi.json > web/src/api/openapi.json

interface Schema {
  properties?: Record<string, unknown>;
  required?: string[];
}
const paths = spec.paths as Record<string, Record<string, unknown>>;
const schemas = spec.components.schemas as Record<string, Schema>;

function matchPath(path: string): string | undefined {
  const bare = path.split("?")[0]!;
  return Object.keys(paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare));
}

/** Every request ApiClient can make, recorded with a fetch that answers 200 {}. */
async function recordRequests(): Promise<{ method: string; path: string; body: unknown }[]> {
  const seen: { method: string; path: string; body: unknown }[] = [];
  const api = new ApiClient({
    fetch: async (input, init) => {
      seen.push({ method: init?.method ?? "GET", path: input, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      return new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
    },
  });
  const calls: (() => Promise<unknown>)[] = [
    () => api.register({ username: "u", password: "p" }),
    () => api.login({ username: "u", password: "p" }),
    () => api.logout(),
    () => api.currentUser(),
    () => api.updateUser({ theme: "dark" }),
    () => api.listSessions("mine"),
    () => api.createSession({ name: "n", language: "python", isPublic: false }),
    () => api.getSession("s"),
    () => api.updateSession("s", { language: "go" }),
    () => api.deleteSession("s"),
    () => api.listParticipants("s"),
    () => api.createInvite("s", "editor"),
    () => api.acceptInvite("t"),
    () => api.listInvites("s"),
    () => api.revokeInvite("s", "i"),
    () => api.setParticipantRole("s", "u", "viewer"),
    () => api.removeParticipant("s", "u"),
    () => api.requestAccess("s", "please"),
    () => api.listAccessRequests("s"),
    () => api.answerAccessRequest("r", "accepted"),
    () => api.listFiles("s"),
    () => api.createFile("s", { name: "a.py", parentId: null }),
    () => api.createFolder("s", { name: "src" }),
    () => api.getFile("f"),
    () => api.updateFile("f", { name: "b.py", parentId: null }),
    () => api.replaceFileContent("f", "x", 3),
    () => api.deleteFile("f"),
    () => api.listMessages("s", "m"),
    () => api.messagePage("s", "m"),
    () => api.postMessage("s", "hi"),
    () => api.listNotifications(),
    () => api.unreadCount(),
    () => api.markRead("n"),
    () => api.markAllRead(),
    () => api.deleteNotification("n"),
    () => api.languages(),
    () => api.execute({ language: "python", code: "print(1)" }),
    () => api.listExecutions("s"),
  ];
  for (const call of calls) await call();
  return seen;
}

describe("the API client against the server's OpenAPI document", () => {
  test("every request names an operation the server has", async () => {
    const requests = await recordRequests();
    const missing = requests.filter((r) => {
      const template = matchPath(r.path);
      return !template || !(r.method.toLowerCase() in paths[template]!);
    });
    expect(missing).toEqual([]);
  });

  test("query parameters the client sends are declared", async () => {
    const requests = await recordRequests();
    for (const r of requests) {
      const query = r.path.split("?")[1];
      if (!query) continue;
      const op = paths[matchPath(r.path)!]![r.method.toLowerCase()] as { parameters?: { name: string; in: string }[] };
      const declared = new Set((op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
      for (const name of new URLSearchParams(query).keys()) expect(declared, `${r.method} ${r.path}`).toContain(name);
    }
  });

  // The fields the UI reads from each response type must exist in the server's schema.
  const reads: Record<string, string[]> = {
    User: ["id", "username", "email", "theme"],
    Session: ["id", "name", "language", "isPublic", "ownerId", "createdAt", "updatedAt", "role", "visitorRole"],
    Participant: ["userId", "username", "role", "online"],
    Invite: ["id", "role", "uses", "revoked", "expiresAt", "createdAt"],
    InviteOutBody: ["invite", "token", "url"],
    "Accept-inviteResponse": ["session", "role"],
    AccessRequest: ["id", "sessionId", "userId", "username", "status", "message", "createdAt"],
    File: ["id", "sessionId", "parentId", "name", "path", "isFolder", "version", "updatedAt", "content"],
    Message: ["id", "userId", "username", "content", "createdAt"],
    Notification: ["id", "kind", "title", "body", "sessionId", "isRead", "createdAt"],
    Language: ["id", "name", "version", "available", "reason", "extensions", "defaultFile"],
    ExecutionResult: ["id", "language", "status", "exitCode", "signal", "stdout", "stderr", "compileOutput", "timeMs", "memoryKb", "stdoutTruncated", "stderrTruncated", "createdAt", "userId"],
    "Unread-countResponse": ["count"],
    "List-sessionsResponse": ["sessions"],
    "List-messagesResponse": ["messages"],
    "List-executionsResponse": ["executions"],
    ErrorModel: ["status", "title", "detail", "errors"],
    ErrorDetail: ["location", "message"],
  };
  test.each(Object.entries(reads))("%s has the fields the client reads", (name, fields) => {
    const schema = schemas[name];
    expect(schema, `schema ${name}`).toBeDefined();
    expect(fields.filter((f) => !(f in (schema!.properties ?? {})))).toEqual([]);
  });

  test("request bodies use only declared fields", async () => {
    const bodies: [string, unknown][] = [
      ["SessionBody", { name: "n", language: "python", isPublic: false, visitorRole: "viewer" }],
      ["FilePatchBody", { name: "b", parentId: null, content: "x", baseVersion: 1 }],
      ["FileCreateBody", { name: "a", parentId: null, content: "" }],
      ["UpdateUserInputBody", { theme: "dark" }],
      ["ExecuteRequest", { language: "python", files: [], entry: "main.py", stdin: "", sessionId: "s" }],
      ["Decide-requestRequest", { status: "accepted" }],
      ["Create-inviteRequest", { role: "editor" }],
      ["Set-participant-roleRequest", { role: "viewer" }],
    ];
    for (const [name, body] of bodies) {
      const props = schemas[name]?.properties ?? {};
      expect(Object.keys(body as object).filter((k) => !(k in props)), name).toEqual([]);
    }
  });
});
