import { memo } from "react";
import type { Participant } from "../api/types";
import { colorFor } from "../collab/colors";
import type { PresenceParticipant } from "../collab/protocol";
import { labelTextColor } from "../collab/remoteCursors";

interface Row {
  userId: string;
  username: string;
  role: string;
  online: boolean;
  idle: boolean;
  color: string;
}

/** Everyone with access (REST) merged with who is connected now (presence); visitors appear only while online. */
export function mergeParticipants(members: readonly Participant[], presence: readonly PresenceParticipant[]): Row[] {
  const rows = new Map<string, Row>();
  for (const m of members) {
    rows.set(m.userId, { userId: m.userId, username: m.username, role: m.role, online: false, idle: false, color: colorFor(m.userId) });
  }
  for (const p of presence) {
    if (p.online === false) continue;
    const row = rows.get(p.userId);
    const color = p.color && /^#[0-9a-fA-F]{6}$/.test(p.color) ? p.color : colorFor(p.userId);
    rows.set(p.userId, { userId: p.userId, username: p.username, role: p.role ?? row?.role ?? "viewer", online: true, idle: p.state === "idle", color });
  }
  return [...rows.values()].sort((a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username));
}

interface ParticipantsListProps {
  members: readonly Participant[];
  presence: readonly PresenceParticipant[];
  meId: string | undefined;
  /** Present for the owner: change someone's role or remove them. */
  manage?: {
    setRole: (userId: string, role: "editor" | "viewer") => void;
    remove: (userId: string, username: string) => void;
  };
}

export const ParticipantsList = memo(function ParticipantsList({ members, presence, meId, manage }: ParticipantsListProps) {
  const memberIds = new Set(members.map((m) => m.userId));
  const rows = mergeParticipants(members, presence);
  return (
    <section className="participants" aria-labelledby="participants-h">
      <h2 id="participants-h">
        People <span className="muted">({rows.filter((p) => p.online).length} online)</span>
      </h2>
      <ul>
        {rows.map((p) => (
          <li key={p.userId} className={p.online ? "online" : "away"}>
            <span className="avatar" style={{ backgroundColor: p.color, color: labelTextColor(p.color) }} aria-hidden="true">
              {p.username.slice(0, 1).toUpperCase()}
            </span>
            <span>
              {p.username}
              {p.userId === meId ? " (you)" : ""}
            </span>
            <span className="muted">
              {manage && p.role !== "owner" && memberIds.has(p.userId) ? (
                <>
                  <label className="visually-hidden" htmlFor={`role-${p.userId}`}>
                    Role of {p.username}
                  </label>
                  <select id={`role-${p.userId}`} className="role-select" value={p.role} onChange={(e) => manage.setRole(p.userId, e.target.value as "editor" | "viewer")}>
                    <option value="editor">editor</option>
                    <option value="viewer">viewer</option>
                  </select>
                  <button type="button" className="link-button" aria-label={`Remove ${p.username} from the session`} onClick={() => manage.remove(p.userId, p.username)}>
                    Remove
                  </button>
                </>
              ) : (
                p.role
              )}{" "}
              · {p.online ? (p.idle ? "idle" : "online") : "offline"}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
});
