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
  /** Present when the server says how the caller relates to the session. */
  role?: Role;
  ownerName?: string;
}

export interface NewSession {
  name: string;
  language: string;
  isPublic: boolean;
}

export interface Participant {
  userId: string;
  username: string;
  role: Role;
  online: boolean;
}

export interface Invite {
  token: string;
  role: Role;
  url?: string;
  expiresAt?: string;
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
  userId: string;
  username: string;
  content: string;
  createdAt: string;
}

export interface Notification {
  id: string;
  type: string;
  title?: string;
  message?: string;
  link?: string;
  read: boolean;
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
