import { memo, useId } from "react";
import type { CodingSession, Language } from "../api/types";
import type { ConnectionStatus } from "../collab/connection";
import { ConnectionIndicator } from "./ConnectionIndicator";

interface ToolbarProps {
  session: CodingSession | undefined;
  languages: Language[] | undefined;
  isOwner: boolean;
  canRun: boolean;
  /** Joined as a viewer: say so where the Run button is. */
  viewOnly: boolean;
  /** The id of a run of ours still going, to offer Stop. */
  activeRunId: string | null;
  connection: ConnectionStatus;
  joined: boolean;
  unconfirmed: number;
  onLanguage: (id: string) => void;
  onRun: () => void;
  onStop: (runId: string) => void;
  onShare: () => void;
  onSettings: () => void;
  /** Pending access requests (owner only). */
  pendingRequests: number;
  onRequests: () => void;
  onShortcuts: () => void;
}

/** The session's name, language, Run/Stop, connection state, sharing and help. */
export const PlaygroundToolbar = memo(function PlaygroundToolbar(p: ToolbarProps) {
  const langSelectId = useId();
  const language = p.languages?.find((l) => l.id === p.session?.language);
  const options = p.languages ?? (p.session ? [{ id: p.session.language, name: p.session.language, version: "", available: true, extensions: [], defaultFile: "" }] : []);
  return (
    <div className="playground-bar">
      <h1 className="session-title">{p.session?.name ?? "Session"}</h1>
      <span className="field inline compact">
        <label htmlFor={langSelectId} className="visually-hidden">
          Language
        </label>
        <select id={langSelectId} value={p.session?.language ?? ""} disabled={!p.isOwner} onChange={(e) => p.onLanguage(e.target.value)}>
          {options.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name} {l.version}
              {l.available ? "" : " (unavailable)"}
            </option>
          ))}
        </select>
      </span>
      {p.activeRunId ? (
        <button type="button" className="button danger" onClick={() => p.onStop(p.activeRunId!)}>
          Stop
        </button>
      ) : (
        <button
          type="button"
          className="button run-button"
          onClick={p.onRun}
          disabled={!p.canRun || language?.available === false}
          title={language?.available === false ? language.reason : "Run (Ctrl+Enter)"}
          aria-keyshortcuts="Control+Enter Meta+Enter"
        >
          ▶ Run
        </button>
      )}
      {language?.available === false && <span className="muted small">{language.reason ?? "This language cannot run here."}</span>}
      {p.viewOnly && (
        <span className="read-only-pill" title="You can follow along but not edit or run.">
          View only
        </span>
      )}
      <ConnectionIndicator status={p.connection} joined={p.joined} unconfirmed={p.unconfirmed} />
      {p.isOwner && (
        <>
          <button type="button" className="button secondary small" onClick={p.onShare}>
            Share
          </button>
          <button type="button" className="button secondary small" onClick={p.onSettings}>
            Settings
          </button>
          {p.pendingRequests > 0 && (
            <button type="button" className="button small" onClick={p.onRequests}>
              Requests ({p.pendingRequests})
            </button>
          )}
        </>
      )}
      <button type="button" className="icon-button" aria-label="Keyboard shortcuts" onClick={p.onShortcuts}>
        ?
      </button>
    </div>
  );
});
