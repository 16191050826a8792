// JSON frames of the real-time protocol (DESIGN.md "Real-time protocol").
// Positions and lengths count UTF-16 code units, as CodeMirror does.
import type { ChatMessage, ExecuteRequest, ExecutionResult, FileEntry, Notification, Role } from "../api/types";

/** ChangeSet.toJSON() form: numbers keep, [d, ...lines] delete d and insert the lines. */
export type ChangesJSON = (number | [number, ...string[]])[];

export interface SelectionJSON {
  main: number;
  ranges: { anchor: number; head: number }[];
}

/** Someone connected to the session right now (presence lists only those). */
export interface PresenceParticipant {
  userId: string;
  username: string;
  role: Role;
  /** The server-assigned colour for cursors and avatars. */
  color?: string;
  /** Files the participant has open. */
  files?: string[];
  /** "idle" after a while without activity. */
  state?: "active" | "idle";
  /** Absent from the real server (everyone listed is online); false only in older frames. */
  online?: boolean;
}

export type ClientMessage =
  | { type: "join"; session: string }
  | { type: "open"; file: string }
  | { type: "close"; file: string }
  | { type: "push"; file: string; version: number; updates: { clientID: string; changes: ChangesJSON }[] }
  | { type: "pull"; file: string; version: number }
  | { type: "cursor"; file: string; version: number; selection: SelectionJSON }
  | { type: "chat"; text: string }
  | { type: "leave" }
  | { type: "ping" }
  | ({ type: "run" } & ExecuteRequest)
  /** `eof` closes the program's standard input (runs over the socket keep it open). */
  | { type: "stdin"; run: string; data: string; eof?: boolean }
  | { type: "cancel"; run: string };

export interface ReceivedUpdate {
  clientID: string;
  changes: ChangesJSON;
  userId?: string;
}

export type RunEvent = "queued" | "started" | "output" | "finished";

export type ServerMessage =
  | {
      type: "joined";
      session: string;
      user: { id: string; username: string; theme?: string };
      role: Role;
      participants: PresenceParticipant[];
      files: FileEntry[];
    }
  | { type: "doc"; file: string; version: number; content: string }
  | { type: "updates"; file: string; version: number; updates: ReceivedUpdate[] }
  | { type: "cursor"; userId: string; username?: string; color?: string; file: string; version: number; selection: SelectionJSON }
  | { type: "presence"; participants: PresenceParticipant[] }
  | { type: "chat"; message: ChatMessage }
  | { type: "files"; event: "created" | "renamed" | "deleted"; file: FileEntry }
  | { type: "notification"; notification: Notification }
  | {
      type: "run";
      event: RunEvent;
      /** The run's id (a server may also send the run as an object with an id). */
      run: string | { id: string };
      userId?: string;
      username?: string;
      /** queued: 1 = next to start. */
      position?: number;
      stream?: "stdout" | "stderr";
      data?: string;
      /** `finished` carries the execute result, nested or spread into the frame. */
      result?: ExecutionResult;
    } & Partial<ExecutionResult>
  | { type: "pong" }
  | { type: "error"; code: string; message: string; file?: string };

/** Parses one text frame; null for anything that is not an object with a string type. */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object" || typeof (value as { type?: unknown }).type !== "string") return null;
  return value as ServerMessage;
}

export function runId(run: string | { id: string }): string {
  return typeof run === "string" ? run : run.id;
}
