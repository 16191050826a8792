import { ApiError, NetworkError, parseRetryAfter, problemFromBody } from "./errors";
import type {
  AccessRequest,
  AccessRequestStatus,
  ChatMessage,
  CodingSession,
  ExecuteRequest,
  ExecutionResult,
  FileContent,
  FileEntry,
  CreatedInvite,
  Invite,
  Language,
  NewSession,
  Notification,
  Participant,
  Role,
  SessionScope,
  Theme,
  User,
} from "./types";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Prefix for every path; "" for the same origin the page came from. */
  baseUrl?: string;
  fetch?: FetchLike;
  now?: () => number;
}

/**
 * Lists may arrive bare (`[...]`) or wrapped (`{items: [...]}`, `{sessions: [...]}`):
 * huma wraps arrays when it adds paging, so accept both.
 */
function asList<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === "object") {
    for (const value of Object.values(body)) {
      if (Array.isArray(value)) return value as T[];
    }
  }
  return [];
}

const enc = encodeURIComponent;

/**
 * Typed access to the CodeBuddy REST API. Errors are thrown as ApiError
 * (problem+json, with the offending field names) or NetworkError.
 * The session cookie does the authentication, so the client holds no token.
 */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    // Bind: calling window.fetch with another `this` throws "Illegal invocation".
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json, application/problem+json" },
    };
    if (body !== undefined) {
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + path, init);
    } catch (err) {
      throw new NetworkError(err);
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) {
      throw problemFromBody(
        response.status,
        response.statusText,
        parsed,
        parseRetryAfter(response.headers.get("Retry-After"), this.now()),
      );
    }
    if (text && parsed === undefined) {
      throw new ApiError({ status: response.status, title: "Unreadable response", detail: "The server answered with something that is not JSON." });
    }
    return parsed as T;
  }

  // Accounts
  register(input: { username: string; password: string; email?: string }): Promise<User> {
    return this.request("POST", "/api/register", input);
  }
  login(input: { username: string; password: string }): Promise<User> {
    return this.request("POST", "/api/login", input);
  }
  async logout(): Promise<void> {
    await this.request("POST", "/api/logout");
  }
  /** The signed-in user, or null when nobody is signed in (401). */
  async currentUser(): Promise<User | null> {
    try {
      return await this.request<User>("GET", "/api/user");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }
  updateUser(patch: { theme?: Theme; email?: string }): Promise<User> {
    return this.request("PATCH", "/api/user", patch);
  }

  // Coding sessions
  /** One page (up to 100) of the sessions in `scope`, most recently updated first. */
  async listSessions(scope: SessionScope = "all"): Promise<CodingSession[]> {
    return asList<CodingSession>(await this.request("GET", `/api/sessions?scope=${scope}&limit=100`));
  }
  createSession(input: NewSession): Promise<CodingSession> {
    return this.request("POST", "/api/sessions", input);
  }
  getSession(id: string): Promise<CodingSession> {
    return this.request("GET", `/api/sessions/${enc(id)}`);
  }
  updateSession(id: string, patch: Partial<NewSession>): Promise<CodingSession> {
    return this.request("PATCH", `/api/sessions/${enc(id)}`, patch);
  }
  async deleteSession(id: string): Promise<void> {
    await this.request("DELETE", `/api/sessions/${enc(id)}`);
  }
  async listParticipants(id: string): Promise<Participant[]> {
    return asList<Participant>(await this.request("GET", `/api/sessions/${enc(id)}/participants`));
  }

  // Sharing
  createInvite(sessionId: string, role: Exclude<Role, "owner">, expiresInHours?: number): Promise<CreatedInvite> {
    return this.request("POST", `/api/sessions/${enc(sessionId)}/invites`, expiresInHours ? { role, expiresInHours } : { role });
  }
  async listInvites(sessionId: string): Promise<Invite[]> {
    return asList<Invite>(await this.request("GET", `/api/sessions/${enc(sessionId)}/invites`));
  }
  async revokeInvite(sessionId: string, inviteId: string): Promise<void> {
    await this.request("DELETE", `/api/sessions/${enc(sessionId)}/invites/${enc(inviteId)}`);
  }
  /** Owner only. */
  async setParticipantRole(sessionId: string, userId: string, role: Exclude<Role, "owner">): Promise<void> {
    await this.request("PATCH", `/api/sessions/${enc(sessionId)}/participants/${enc(userId)}`, { role });
  }
  /** The owner removes someone, or a participant leaves (their own id). */
  async removeParticipant(sessionId: string, userId: string): Promise<void> {
    await this.request("DELETE", `/api/sessions/${enc(sessionId)}/participants/${enc(userId)}`);
  }
  acceptInvite(token: string): Promise<{ session: CodingSession; role: Role }> {
    return this.request("POST", `/api/invites/${enc(token)}/accept`);
  }
  requestAccess(sessionId: string, message?: string): Promise<AccessRequest> {
    return this.request("POST", `/api/sessions/${enc(sessionId)}/requests`, message ? { message } : {});
  }
  async listAccessRequests(sessionId: string): Promise<AccessRequest[]> {
    return asList<AccessRequest>(await this.request("GET", `/api/sessions/${enc(sessionId)}/requests`));
  }
  /** Accepting grants the editor role. */
  answerAccessRequest(id: string, status: Exclude<AccessRequestStatus, "pending">): Promise<AccessRequest> {
    return this.request("PATCH", `/api/requests/${enc(id)}`, { status });
  }

  // Files
  async listFiles(sessionId: string): Promise<FileEntry[]> {
    return asList<FileEntry>(await this.request("GET", `/api/sessions/${enc(sessionId)}/files`));
  }
  createFile(sessionId: string, input: { name: string; parentId?: string | null; content?: string }): Promise<FileEntry> {
    return this.request("POST", `/api/sessions/${enc(sessionId)}/files`, input);
  }
  createFolder(sessionId: string, input: { name: string; parentId?: string | null }): Promise<FileEntry> {
    return this.request("POST", `/api/sessions/${enc(sessionId)}/folders`, input);
  }
  getFile(id: string): Promise<FileContent> {
    return this.request("GET", `/api/files/${enc(id)}`);
  }
  /** Rename and/or move; `parentId: null` moves to the top level. */
  updateFile(id: string, patch: { name?: string; parentId?: string | null }): Promise<FileEntry> {
    return this.request("PATCH", `/api/files/${enc(id)}`, patch);
  }
  /** Replaces the whole content; 409 (ApiError.isConflict) when baseVersion is stale. */
  replaceFileContent(id: string, content: string, baseVersion: number): Promise<FileEntry> {
    return this.request("PATCH", `/api/files/${enc(id)}`, { content, baseVersion });
  }
  async deleteFile(id: string): Promise<void> {
    await this.request("DELETE", `/api/files/${enc(id)}`);
  }

  // Chat
  /** Chat history, newest first; pass the oldest id seen as `before` for the previous page. */
  async listMessages(sessionId: string, before?: string): Promise<ChatMessage[]> {
    const q = before ? `?before=${enc(before)}` : "";
    return asList<ChatMessage>(await this.request("GET", `/api/sessions/${enc(sessionId)}/messages${q}`));
  }
  /** One page of chat history (newest first) and the cursor for the page before it. */
  async messagePage(sessionId: string, before?: string): Promise<{ messages: ChatMessage[]; nextBefore?: string }> {
    const q = before ? `?before=${enc(before)}` : "";
    const body = await this.request<{ messages?: ChatMessage[]; nextBefore?: string } | ChatMessage[]>("GET", `/api/sessions/${enc(sessionId)}/messages${q}`);
    if (Array.isArray(body)) return { messages: body };
    return body.nextBefore ? { messages: body.messages ?? [], nextBefore: body.nextBefore } : { messages: body.messages ?? [] };
  }
  postMessage(sessionId: string, content: string): Promise<ChatMessage> {
    return this.request("POST", `/api/sessions/${enc(sessionId)}/messages`, { content });
  }

  // Notifications
  async listNotifications(): Promise<Notification[]> {
    return asList<Notification>(await this.request("GET", "/api/notifications"));
  }
  async unreadCount(): Promise<number> {
    const body = await this.request<number | { count?: number; unread?: number }>("GET", "/api/notifications/unread-count");
    if (typeof body === "number") return body;
    return body?.count ?? body?.unread ?? 0;
  }
  async markRead(id: string): Promise<void> {
    await this.request("PATCH", `/api/notifications/${enc(id)}/read`);
  }
  async markAllRead(): Promise<void> {
    await this.request("PATCH", "/api/notifications/read-all");
  }
  async deleteNotification(id: string): Promise<void> {
    await this.request("DELETE", `/api/notifications/${enc(id)}`);
  }

  // Execution
  async languages(): Promise<Language[]> {
    return asList<Language>(await this.request("GET", "/api/languages"));
  }
  execute(input: ExecuteRequest): Promise<ExecutionResult> {
    return this.request("POST", "/api/execute", input);
  }
  async listExecutions(sessionId: string): Promise<ExecutionResult[]> {
    return asList<ExecutionResult>(await this.request("GET", `/api/sessions/${enc(sessionId)}/executions`));
  }
}
