import { memo, useId, useState } from "react";
import { describeError } from "../api/errors";
import type { CodingSession, CreatedInvite, Invite } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import { Dialog } from "./Dialog";

/** Creates invite links with a role, copies them, and lists or revokes the existing ones. */
export const ShareDialog = memo(function ShareDialog({ session, onClose }: { session: CodingSession | null; onClose: () => void }) {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const [role, setRole] = useState<"editor" | "viewer">("editor");
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const roleId = useId();
  const linkId = useId();
  const key = session ? `sessions/${session.id}/invites` : null;
  const invites = useQuery<Invite[]>(key, () => api.listInvites(session!.id));

  const link = created ? created.url || `${window.location.origin}/invite/${encodeURIComponent(created.token)}` : "";
  const create = async () => {
    if (!session || !key) return;
    setError(null);
    setCopied(false);
    try {
      const made = await api.createInvite(session.id, role);
      setCreated(made);
      cache.set<Invite[]>(key, (list) => [made.invite, ...(list ?? [])]);
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (invite: Invite) => {
    if (!session || !key) return;
    const before = cache.set<Invite[]>(key, (list) => (list ?? []).map((i) => (i.id === invite.id ? { ...i, revoked: true } : i)));
    try {
      await api.revokeInvite(session.id, invite.id);
      if (created?.invite.id === invite.id) setCreated(null);
    } catch (err) {
      cache.set(key, before ?? []);
      toast.show("error", `Could not revoke the link: ${describeError(err)}`);
    }
  };
  const close = () => {
    setCreated(null);
    setError(null);
    setCopied(false);
    onClose();
  };
  const active = (invites.data ?? []).filter((i) => !i.revoked);

  return (
    <Dialog open={session !== null} title={`Share “${session?.name ?? ""}”`} onClose={close} description="Anyone with a link joins with the role you choose.">
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
        {created && (
          <div className="field">
            <label htmlFor={linkId}>New invite link ({created.invite.role}) — shown only now</label>
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
        {active.length > 0 && (
          <section aria-label="Active links">
            <h3 className="small">Active links</h3>
            <ul className="invite-list">
              {active.map((i) => (
                <li key={i.id}>
                  <span>
                    {i.role} · used {i.uses} time{i.uses === 1 ? "" : "s"} · created {new Date(i.createdAt).toLocaleDateString()}
                    {i.expiresAt ? ` · expires ${new Date(i.expiresAt).toLocaleDateString()}` : ""}
                  </span>
                  <button type="button" className="link-button danger-text" onClick={() => void revoke(i)}>
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </Dialog>
  );
});
