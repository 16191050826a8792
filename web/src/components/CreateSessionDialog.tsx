import { useId, useState, type FormEvent } from "react";
import { ApiError, describeError } from "../api/errors";
import type { CodingSession, Language } from "../api/types";
import { Dialog } from "./Dialog";

export function CreateSessionDialog({
  open,
  languages,
  onClose,
  onCreate,
}: {
  open: boolean;
  languages: Language[] | undefined;
  onClose: () => void;
  onCreate: (input: { name: string; language: string; isPublic: boolean }) => Promise<CodingSession>;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const langId = useId();
  const fieldError = (f: string) => (error instanceof ApiError ? error.fieldMessage(f) : undefined);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await onCreate({
        name: String(data.get("name") ?? "").trim(),
        language: String(data.get("language") ?? ""),
        isPublic: data.get("visibility") === "public",
      });
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const langs = languages ?? [];
  return (
    <Dialog open={open} title="New session" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        {error !== null && !(error instanceof ApiError && error.fields.some((f) => f.field)) && (
          <p className="form-error" role="alert">
            {describeError(error)}
          </p>
        )}
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input id={nameId} name="name" required maxLength={100} autoFocus aria-invalid={Boolean(fieldError("name"))} aria-describedby={`${nameId}-e`} />
          <span id={`${nameId}-e`} className="field-error">
            {fieldError("name")}
          </span>
        </div>
        <div className="field">
          <label htmlFor={langId}>Language</label>
          <select id={langId} name="language" required defaultValue={langs.find((l) => l.available)?.id ?? "python"} aria-describedby={`${langId}-e`}>
            {langs.length === 0 && <option value="python">Python</option>}
            {langs.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name} {l.version}
                {l.available ? "" : " (cannot run here)"}
              </option>
            ))}
          </select>
          <span id={`${langId}-e`} className="field-error">
            {fieldError("language")}
          </span>
        </div>
        <fieldset className="field">
          <legend>Visibility</legend>
          <label className="radio">
            <input type="radio" name="visibility" value="private" defaultChecked /> Private — only people you invite
          </label>
          <label className="radio">
            <input type="radio" name="visibility" value="public" /> Public — anyone signed in can watch
          </label>
        </fieldset>
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button" disabled={busy}>
            {busy ? "Creating…" : "Create session"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
