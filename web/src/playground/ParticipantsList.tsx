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

export const ParticipantsList = memo(function ParticipantsList({ members, presence, meId }: { members: readonly Participant[]; presence: readonly PresenceParticipant[]; meId: string | undefined }) {
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
              {p.role} · {p.online ? (p.idle ? "idle" : "online") : "offline"}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
});
