import { colorFor } from "../collab/colors";
import type { PresenceParticipant } from "../collab/protocol";

export function ParticipantsList({ participants, meId }: { participants: PresenceParticipant[]; meId: string | undefined }) {
  const sorted = [...participants].sort((a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username));
  return (
    <section className="participants" aria-labelledby="participants-h">
      <h2 id="participants-h">
        People <span className="muted">({participants.filter((p) => p.online).length} online)</span>
      </h2>
      <ul>
        {sorted.map((p) => (
          <li key={p.userId} className={p.online ? "online" : "away"}>
            <span className="avatar" style={{ backgroundColor: colorFor(p.userId) }} aria-hidden="true">
              {p.username.slice(0, 1).toUpperCase()}
            </span>
            <span>
              {p.username}
              {p.userId === meId ? " (you)" : ""}
            </span>
            <span className="muted">
              {p.role} · {p.online ? "online" : "offline"}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
