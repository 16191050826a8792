import { useId, useState } from "react";
import { describeError } from "../api/errors";
import type { CodingSession, CreatedInvite } from "../api/types";
import { useApi } from "../app/services";
import { Dialog } from "./Dialog";

/** Creates invite links with a role and copies them. */
export function ShareDialog({ session, onClose }: { session: CodingSession | null; onClose: () => void }) {
  const api = useApi();
  const [role, setRole] = useState<"editor" | "viewer">("editor");
  const [invite, setInvite] = useState<CreatedInvite | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const roleId = useId();
  const linkId = useId();

  const link = invite ? invite.url || `${window.location.origin}/invite/${encodeURIComponent(invite.token)}` : "";
  const create = async () => {
    if (!session) return;
    setError(null);
    setCopied(false);
    try {
      setInvite(await api.createInvite(session.id, role));
    } catch (err) {
      setError(err);
    }
  };
  const close = () => {
    setInvite(null);
    setError(null);
    setCopied(false);
    onClose();
  };

  return (
    <Dialog open={session !== null} title={`Share “${session?.name ?? ""}”`} onClose={close} description="Anyone with the link joins with the role you choose.">
      <div className="stack">
        <div className="field inline">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as "editor" | "viewer")}>
            <option value="editor">Editor — can edit and run</option>
            <option value="viewer">Viewer — read only</option>
          </select>
          <button type="button" className="button" onClick={create}>
            Create link
          </button>
        </div>
        {error !== null && (
          <p className="form-error" role="alert">
            {describeError(error)}
          </p>
        )}
        {invite && (
          <div className="field">
            <label htmlFor={linkId}>Invite link ({invite.invite.role})</label>
            <div className="inline">
              <input id={linkId} readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
              <button
                type="button"
                className="button secondary"
                onClick={() =>
                  navigator.clipboard
                    ?.writeText(link)
                    .then(() => setCopied(true))
                    .catch(() => setCopied(false))
                }
              >
                Copy
              </button>
            </div>
            <span role="status" className="hint">
              {copied ? "Copied to the clipboard." : ""}
            </span>
          </div>
        )}
      </div>
    </Dialog>
  );
}
