// Wire types of the REST API (DESIGN.md "HTTP API"). Field names are the
// server's camelCase JSON; timestamps are RFC 3339 strings.

export type Theme = "system" | "light" | "dark";
export type Role = "owner" | "editor" | "viewer";

export interface User {
  id: string;
  username: string;
  email?: string;
  theme?: Theme;
  createdAt?: string;
}

export interface CodingSession {
  id: string;
  name: string;
  language: string;
  isPublic: boolean;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
  /** The role people get when they open a public session without an invite. */
  visitorRole?: "editor" | "viewer";
  /** The caller's role; the list endpoint fills it only for the owner. */
  role?: Role;
}

export type SessionScope = "mine" | "shared" | "public" | "all";

export interface NewSession {
  name: string;
  language: string;
  isPublic: boolean;
  visitorRole?: "editor" | "viewer";
}

export interface Participant {
  userId: string;
  username: string;
  role: Role;
  online: boolean;
  joinedAt?: string;
}

export interface Invite {
  id: string;
  sessionId: string;
  role: "editor" | "viewer";
  expiresAt?: string;
  maxUses?: number;
  uses: number;
  revoked: boolean;
  createdAt: string;
}

/** POST /api/sessions/{id}/invites: the token and link are shown only once. */
export interface CreatedInvite {
  invite: Invite;
  token: string;
  url: string;
}

export type AccessRequestStatus = "pending" | "accepted" | "rejected";

export interface AccessRequest {
  id: string;
  sessionId: string;
  userId: string;
  username?: string;
  status: AccessRequestStatus;
  message?: string;
  createdAt: string;
}

export interface FileEntry {
  id: string;
  sessionId: string;
  parentId: string | null;
  name: string;
  path: string;
  isFolder: boolean;
  version: number;
  updatedAt: string;
}

export interface FileContent extends FileEntry {
  content: string;
}

export interface ChatMessage {
  id: string;
  sessionId?: string;
  userId: string;
  username: string;
  content: string;
  createdAt: string;
}

export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string;
  /** The session it is about, for a link. */
  sessionId?: string;
  isRead: boolean;
  createdAt: string;
}

export interface Language {
  id: string;
  name: string;
  version: string;
  available: boolean;
  reason?: string;
  extensions: string[];
  defaultFile: string;
}

export type RunStatus =
  | "ok"
  | "compile_error"
  | "runtime_error"
  | "time_limit"
  | "memory_limit"
  | "output_limit"
  | "cancelled"
  | "internal_error";

export interface ExecuteRequest {
  language: string;
  code?: string;
  files?: { path: string; content: string }[];
  entry?: string;
  stdin?: string;
  sessionId?: string;
}

export interface ExecutionResult {
  id: string;
  language: { id: string; version: string };
  status: RunStatus;
  exitCode: number;
  signal?: string;
  stdout: string;
  stderr: string;
  compileOutput?: string;
  timeMs: number;
  cpuMs: number;
  memoryKb: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Present in run history. */
  createdAt?: string;
  userId?: string;
  username?: string;
}
