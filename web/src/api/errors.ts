/** One offending input named by an RFC 9457 problem's `errors[]`. */
export interface FieldProblem {
  /** The field name without huma's "body." prefix, e.g. "username"; "" when the server named none. */
  field: string;
  message: string;
}

/**
 * An HTTP error answered by the server as application/problem+json (or, for
 * proxies and crashes, anything else: then title is the status text).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly fields: FieldProblem[];
  /** Seconds from a Retry-After header (429, 503), when given. */
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    title: string;
    detail?: string;
    fields?: FieldProblem[];
    retryAfter?: number | undefined;
  }) {
    super(init.detail || init.title);
    this.name = "ApiError";
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail ?? "";
    this.fields = init.fields ?? [];
    this.retryAfter = init.retryAfter;
  }

  /** The message for one field, for showing it next to that input. */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((f) => f.field === field)?.message;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
  /** Private sessions answer 404 to outsiders, so "not found" may mean "no access". */
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
  get isRateLimited(): boolean {
    return this.status === 429;
  }
}

/** The request never got an HTTP answer (offline, DNS, connection reset). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("Cannot reach the server. Check your connection and try again.", { cause });
    this.name = "NetworkError";
  }
}

interface ProblemBody {
  title?: unknown;
  detail?: unknown;
  status?: unknown;
  errors?: unknown;
}

function fieldOf(entry: Record<string, unknown>): string {
  const raw = entry.field ?? entry.location ?? entry.name ?? "";
  if (typeof raw !== "string") return "";
  // huma names locations like "body.username" or "path.id".
  return raw.replace(/^(body|query|path|header)\./, "");
}

/** Parses a problem+json body; tolerant of anything else a proxy may send. */
export function problemFromBody(
  status: number,
  statusText: string,
  body: unknown,
  retryAfter?: number,
): ApiError {
  const p = (body && typeof body === "object" ? body : {}) as ProblemBody;
  const fields: FieldProblem[] = [];
  if (Array.isArray(p.errors)) {
    for (const e of p.errors) {
      if (e && typeof e === "object") {
        const entry = e as Record<string, unknown>;
        const message = typeof entry.message === "string" ? entry.message : String(entry.detail ?? "invalid");
        fields.push({ field: fieldOf(entry), message });
      }
    }
  }
  return new ApiError({
    status,
    title: typeof p.title === "string" && p.title ? p.title : statusText || `HTTP ${status}`,
    detail: typeof p.detail === "string" ? p.detail : "",
    fields,
    retryAfter,
  });
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** A sentence for a toast or an alert, whatever the error was. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.isRateLimited && err.retryAfter !== undefined) {
      return `${err.detail || err.title} Try again in ${err.retryAfter} s.`;
    }
    const fieldText = err.fields
      .map((f) => (f.field ? `${f.field}: ${f.message}` : f.message))
      .join("; ");
    return [err.detail || err.title, fieldText].filter(Boolean).join(" — ");
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
