import { memo, useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { ExecutionResult } from "../api/types";
import type { RunState } from "../collab/sessionClient";
import { Skeleton } from "../components/Skeleton";
import { describeResult, statusLabel } from "./runFormat";

interface RunPanelProps {
  runs: RunState[];
  history: ExecutionResult[] | undefined;
  historyLoading: boolean;
  meId: string | undefined;
  stdin: string;
  onStdinChange: (value: string) => void;
  onSendInput: (run: string, data: string, eof?: boolean) => void;
  /** History entries carry only the user id. */
  nameOf: (userId: string | undefined) => string;
}

/** Program input, the live output of the latest run, and the session's run history. */
export const RunPanel = memo(function RunPanel({ runs, history, historyLoading, meId, stdin, onStdinChange, onSendInput, nameOf }: RunPanelProps) {
  const [view, setView] = useState<"output" | "input" | "history">("output");
  const [picked, setPicked] = useState<ExecutionResult | null>(null);
  const latest = runs.at(-1);
  const outputRef = useRef<HTMLPreElement>(null);
  const stdinId = useId();
  const liveId = useId();
  const [announcement, setAnnouncement] = useState("");

  // A new run replaces a picked history entry.
  useEffect(() => {
    if (latest) {
      setPicked(null);
      setView("output");
    }
  }, [latest?.id]);

  useEffect(() => {
    if (latest?.phase === "finished" && latest.result) setAnnouncement(`Run finished: ${describeResult(latest.result)}`);
    else if (latest?.phase === "running") setAnnouncement("Running…");
  }, [latest?.id, latest?.phase, latest?.result]);

  const outputChars = latest?.outputChars ?? 0;
  useEffect(() => {
    const el = outputRef.current;
    if (!el || outputChars === 0) return;
    // Follow the output in the next frame, not with a forced layout now.
    const frame = requestAnimationFrame(() => (el.scrollTop = el.scrollHeight));
    return () => cancelAnimationFrame(frame);
  }, [outputChars]);

  const shown = picked
    ? {
        chunks: [
          ...(picked.compileOutput ? [{ stream: "stderr" as const, data: picked.compileOutput }] : []),
          { stream: "stdout" as const, data: picked.stdout },
          { stream: "stderr" as const, data: picked.stderr },
        ],
        result: picked,
        phase: "finished" as const,
        clipped: picked.stdoutTruncated || picked.stderrTruncated,
      }
    : latest
      ? { chunks: latest.output, result: latest.result, phase: latest.phase, clipped: latest.clipped || Boolean(latest.result?.stdoutTruncated || latest.result?.stderrTruncated) }
      : null;

  const interactive = latest && latest.phase === "running" && (!latest.userId || latest.userId === meId) && !picked;

  return (
    <section className="run-panel" aria-label="Run">
      <div
        className="panel-tabs"
        role="tablist"
        aria-label="Run panel"
        onKeyDown={(e) => {
          const order = ["output", "input", "history"] as const;
          const i = order.indexOf(view);
          const next = e.key === "ArrowRight" ? order[(i + 1) % 3] : e.key === "ArrowLeft" ? order[(i + 2) % 3] : undefined;
          if (!next) return;
          e.preventDefault();
          setView(next);
          document.getElementById(`run-tab-${next}`)?.focus();
        }}
      >
        {(["output", "input", "history"] as const).map((v) => (
          <button
            key={v}
            type="button"
            role="tab"
            aria-selected={view === v}
            aria-controls={`run-${v}`}
            id={`run-tab-${v}`}
            tabIndex={view === v ? 0 : -1}
            onClick={() => setView(v)}
          >
            {v === "output" ? "Output" : v === "input" ? "Input (stdin)" : "History"}
          </button>
        ))}
        <span className="run-status" aria-hidden="true">
          {shown?.phase === "finished" && shown.result
            ? describeResult(shown.result)
            : shown?.phase === "running"
              ? "Running…"
              : shown?.phase === "queued"
                ? latest?.position
                  ? `Queued (position ${latest.position})…`
                  : "Queued…"
                : ""}
        </span>
      </div>
      <div id={liveId} className="visually-hidden" aria-live="polite" role="status">
        {announcement}
      </div>

      <div id="run-output" role="tabpanel" aria-labelledby="run-tab-output" hidden={view !== "output"} className="run-view">
        {!shown ? (
          <p className="muted">Press Run (Ctrl+Enter) to run the program. Its output appears here for everyone.</p>
        ) : (
          <>
            {picked && (
              <p className="muted">
                Showing a past run ({new Date(picked.createdAt ?? "").toLocaleString()}).{" "}
                <button type="button" className="link-button" onClick={() => setPicked(null)}>
                  Back to the latest
                </button>
              </p>
            )}
            <pre className="output" ref={outputRef} tabIndex={0} aria-label="Program output">
              {shown.chunks.map((c, i) => (
                <span key={i} className={c.stream === "stderr" ? "stderr" : undefined}>
                  {c.data}
                </span>
              ))}
              {shown.phase === "finished" && shown.chunks.every((c) => !c.data) && <span className="muted">(no output)</span>}
            </pre>
            {shown.clipped && <p className="muted">Output was cut off at the limit.</p>}
            {interactive && latest && <InteractiveInput onSend={(data, eof) => onSendInput(latest.id, data, eof)} />}
          </>
        )}
      </div>

      <div id="run-input" role="tabpanel" aria-labelledby="run-tab-input" hidden={view !== "input"} className="run-view">
        <label htmlFor={stdinId}>Input given to the program when it starts</label>
        <textarea id={stdinId} value={stdin} onChange={(e) => onStdinChange(e.target.value)} rows={5} spellCheck={false} aria-describedby={`${stdinId}-hint`} />
        <p id={`${stdinId}-hint`} className="hint">
          With text here the program reads it and then end-of-input. Leave it empty to type into the program while it runs (Output tab).
        </p>
      </div>

      <div id="run-history" role="tabpanel" aria-labelledby="run-tab-history" hidden={view !== "history"} className="run-view">
        {historyLoading ? (
          <Skeleton label="Loading run history" lines={3} />
        ) : !history?.length ? (
          <p className="muted">No runs yet.</p>
        ) : (
          <table className="history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Result</th>
                <th scope="col">Time</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr key={h.id}>
                  <td>{h.createdAt ? new Date(h.createdAt).toLocaleString() : ""}</td>
                  <td>{h.username ?? nameOf(h.userId)}</td>
                  <td>{statusLabel(h.status)}</td>
                  <td>{h.timeMs} ms</td>
                  <td>
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => {
                        setPicked(h);
                        setView("output");
                      }}
                    >
                      Show output
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
});

/** Typing into the running program: Enter sends a line, "End input" (or Ctrl+D) closes stdin. */
function InteractiveInput({ onSend }: { onSend: (data: string, eof?: boolean) => void }) {
  const id = useId();
  const [ended, setEnded] = useState(false);
  const end = (input: HTMLInputElement | null) => {
    onSend(input?.value ?? "", true);
    if (input) input.value = "";
    setEnded(true);
  };
  if (ended) return <p className="muted">Input closed.</p>;
  return (
    <form
      className="inline interactive-input"
      onSubmit={(e: FormEvent<HTMLFormElement>) => {
        e.preventDefault();
        const form = e.currentTarget;
        onSend(String(new FormData(form).get("line") ?? "") + "\n");
        form.reset();
      }}
    >
      <label htmlFor={id}>Send a line to the running program</label>
      <input
        id={id}
        name="line"
        autoComplete="off"
        aria-keyshortcuts="Control+D"
        onKeyDown={(e) => {
          if (e.ctrlKey && (e.key === "d" || e.key === "D")) {
            e.preventDefault();
            end(e.currentTarget);
          }
        }}
      />
      <button type="submit" className="button small secondary">
        Send
      </button>
      <button type="button" className="button small secondary" onClick={(e) => end(e.currentTarget.form?.elements.namedItem("line") as HTMLInputElement | null)}>
        End input
      </button>
    </form>
  );
}
