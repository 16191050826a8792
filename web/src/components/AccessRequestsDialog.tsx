import { memo } from "react";
import { describeError } from "../api/errors";
import type { AccessRequest, CodingSession } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";
import { Dialog } from "./Dialog";
import { Skeleton } from "./Skeleton";

/** The owner answers requests to join a private session. */
export const AccessRequestsDialog = memo(function AccessRequestsDialog({ session, onClose }: { session: CodingSession | null; onClose: () => void }) {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const key = session ? `sessions/${session.id}/requests` : null;
  const requests = useQuery<AccessRequest[]>(key, () => api.listAccessRequests(session!.id));
  const pending = (requests.data ?? []).filter((r) => r.status === "pending");

  const answer = async (r: AccessRequest, status: "accepted" | "rejected") => {
    if (!key) return;
    const before = cache.set<AccessRequest[]>(key, (rs) => (rs ?? []).map((x) => (x.id === r.id ? { ...x, status } : x)));
    try {
      await api.answerAccessRequest(r.id, status);
      if (session) cache.invalidate(`sessions/${session.id}/participants`);
      toast.show("success", `${r.username ?? "Request"} ${status === "accepted" ? "can now edit" : "declined"}.`);
    } catch (err) {
      cache.set(key, before ?? []);
      toast.show("error", describeError(err));
    }
  };

  return (
    <Dialog open={session !== null} title={`Access requests for “${session?.name ?? ""}”`} onClose={onClose}>
      {requests.loading ? (
        <Skeleton label="Loading requests" lines={2} />
      ) : requests.error ? (
        <p className="form-error">{describeError(requests.error)}</p>
      ) : pending.length === 0 ? (
        <p className="muted">No pending requests.</p>
      ) : (
        <ul className="request-list">
          {pending.map((r) => (
            <li key={r.id}>
              <span>
                <strong>{r.username ?? r.userId}</strong>
                {r.message && <span className="muted"> — “{r.message}”</span>}
              </span>
              <span className="row-actions">
                <button type="button" className="button small" onClick={() => answer(r, "accepted")}>
                  Accept as editor
                </button>
                <button type="button" className="button small danger" onClick={() => answer(r, "rejected")}>
                  Decline
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
});
