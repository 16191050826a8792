import { memo, useId, useState, type FormEvent } from "react";
import { ApiError, describeError } from "../api/errors";
import type { CodingSession } from "../api/types";
import { Dialog } from "./Dialog";

/** The owner renames a session and sets who may see it without an invite. */
export const SessionSettingsDialog = memo(function SessionSettingsDialog({
  session,
  onClose,
  onSave,
}: {
  session: CodingSession | null;
  onClose: () => void;
  onSave: (patch: { name: string; isPublic: boolean; visitorRole: "editor" | "viewer" }) => Promise<void>;
}) {
  const nameId = useId();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await onSave({
        name: String(data.get("name") ?? "").trim(),
        isPublic: data.get("visibility") !== "private",
        visitorRole: data.get("visibility") === "public-edit" ? "editor" : "viewer",
      });
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const visibility = !session?.isPublic ? "private" : session.visitorRole === "editor" ? "public-edit" : "public-view";
  const nameError = error instanceof ApiError ? error.fieldMessage("name") : undefined;
  return (
    <Dialog open={session !== null} title="Session settings" onClose={onClose}>
      {session && (
        <form onSubmit={submit} className="stack" key={session.id}>
          {error !== null && !nameError && (
            <p className="form-error" role="alert">
              {describeError(error)}
            </p>
          )}
          <div className="field">
            <label htmlFor={nameId}>Name</label>
            <input id={nameId} name="name" defaultValue={session.name} required maxLength={400} aria-invalid={Boolean(nameError)} aria-describedby={`${nameId}-e`} />
            <span id={`${nameId}-e`} className="field-error">
              {nameError}
            </span>
          </div>
          <fieldset className="field">
            <legend>Who can open it without an invite</legend>
            <label className="radio">
              <input type="radio" name="visibility" value="private" defaultChecked={visibility === "private"} /> Nobody — private
            </label>
            <label className="radio">
              <input type="radio" name="visibility" value="public-view" defaultChecked={visibility === "public-view"} /> Anyone signed in, to watch
            </label>
            <label className="radio">
              <input type="radio" name="visibility" value="public-edit" defaultChecked={visibility === "public-edit"} /> Anyone signed in, to edit
            </label>
          </fieldset>
          <div className="dialog-actions">
            <button type="button" className="button secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="button" disabled={busy}>
              Save
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
});
