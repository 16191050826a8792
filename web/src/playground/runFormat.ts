import type { ExecutionResult, RunStatus } from "../api/types";

const LABELS: Record<RunStatus, string> = {
  ok: "Success",
  compile_error: "Compile error",
  runtime_error: "Runtime error",
  time_limit: "Time limit exceeded",
  memory_limit: "Memory limit exceeded",
  output_limit: "Output limit exceeded",
  cancelled: "Cancelled",
  internal_error: "Internal error",
};

export function statusLabel(status: RunStatus | string): string {
  return LABELS[status as RunStatus] ?? status;
}

export function formatMemory(kb: number): string {
  if (!Number.isFinite(kb)) return "";
  return kb >= 1024 ? `${(kb / 1024).toFixed(1)} MB` : `${kb} KB`;
}

/** One sentence for the live region and the status line. */
export function describeResult(r: Pick<ExecutionResult, "status" | "exitCode" | "timeMs" | "memoryKb" | "signal">): string {
  const parts = [statusLabel(r.status)];
  if (r.status !== "ok" && r.status !== "cancelled" && r.exitCode !== undefined && r.exitCode !== null) parts.push(`exit code ${r.exitCode}`);
  if (r.signal) parts.push(`signal ${r.signal}`);
  if (typeof r.timeMs === "number") parts.push(`${r.timeMs} ms`);
  if (typeof r.memoryKb === "number") parts.push(formatMemory(r.memoryKb));
  return parts.join(" · ");
}
