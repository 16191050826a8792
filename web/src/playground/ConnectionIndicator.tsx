import type { ConnectionStatus } from "../collab/connection";

/** Says whether edits reach the others right now, and how many wait. */
export function ConnectionIndicator({ status, joined, unconfirmed }: { status: ConnectionStatus; joined: boolean; unconfirmed: number }) {
  const online = status === "open" && joined;
  const kept = `${unconfirmed} edit${unconfirmed === 1 ? "" : "s"} kept`;
  const text = online
    ? unconfirmed > 0
      ? "Saving…"
      : "All changes saved"
    : status === "connecting" || (status === "open" && !joined)
      ? "Connecting…"
      : status === "refused"
        ? `Offline — too many tabs open for your account; close one to reconnect${unconfirmed > 0 ? ` (${kept})` : ""}`
        : unconfirmed > 0
          ? `Offline — ${kept}, reconnecting…`
          : "Offline — reconnecting…";
  return (
    <span className={`connection ${online ? "online" : "offline"}`} role="status">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
