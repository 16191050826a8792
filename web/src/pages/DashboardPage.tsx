import { useState } from "react";
import { describeError } from "../api/errors";
import type { CodingSession, Language, User } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { Link, useRouter } from "../app/router";
import { useApi } from "../app/services";
import { LANGUAGES_KEY } from "../app/sessionQueries";
import { useToast } from "../app/toasts";
import { AccessRequestsDialog } from "../components/AccessRequestsDialog";
import { AppHeader } from "../components/AppHeader";
import { CreateSessionDialog } from "../components/CreateSessionDialog";
import { ConfirmDialog } from "../components/Dialog";
import { ShareDialog } from "../components/ShareDialog";
import { Skeleton } from "../components/Skeleton";

const MINE_KEY = "sessions/mine";
const SHARED_KEY = "sessions/shared";
const PUBLIC_KEY = "sessions/public";

/** Public sessions that are not already listed as mine or shared. */
export function otherPublic(publicOnes: readonly CodingSession[], mine: readonly CodingSession[], shared: readonly CodingSession[]): CodingSession[] {
  const listed = new Set([...mine, ...shared].map((s) => s.id));
  return publicOnes.filter((s) => !listed.has(s.id));
}

export function DashboardPage(_props: { user: User }) {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const { navigate } = useRouter();
  const mine = useQuery<CodingSession[]>(MINE_KEY, () => api.listSessions("mine"));
  const shared = useQuery<CodingSession[]>(SHARED_KEY, () => api.listSessions("shared"));
  const publicOnes = useQuery<CodingSession[]>(PUBLIC_KEY, () => api.listSessions("public"));
  const languages = useQuery<Language[]>(LANGUAGES_KEY, () => api.languages());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<CodingSession | null>(null);
  const [sharing, setSharing] = useState<CodingSession | null>(null);
  const [answering, setAnswering] = useState<CodingSession | null>(null);

  const create = async (input: { name: string; language: string; isPublic: boolean }) => {
    const created = await api.createSession(input);
    cache.set<CodingSession[]>(MINE_KEY, (ss) => [created, ...(ss ?? [])]);
    navigate(`/s/${encodeURIComponent(created.id)}`);
    return created;
  };

  const remove = async (s: CodingSession) => {
    setDeleting(null);
    const before = cache.set<CodingSession[]>(MINE_KEY, (ss) => (ss ?? []).filter((x) => x.id !== s.id));
    try {
      await api.deleteSession(s.id);
      toast.show("success", `Deleted “${s.name}”.`);
    } catch (err) {
      cache.set(MINE_KEY, before ?? []);
      toast.show("error", `Could not delete “${s.name}”: ${describeError(err)}`);
    }
  };

  const failed = [mine, shared, publicOnes].find((q) => q.error !== undefined && !q.data);
  const groups =
    mine.data && shared.data && publicOnes.data ? { mine: mine.data, shared: shared.data, publicOnes: otherPublic(publicOnes.data, mine.data, shared.data) } : null;
  const retry = () => [mine, shared, publicOnes].forEach((q) => q.refetch());
  const langName = (id: string) => languages.data?.find((l) => l.id === id)?.name ?? id;

  return (
    <>
      <AppHeader />
      <main id="main" className="dashboard">
        <div className="page-title">
          <h1>Your sessions</h1>
          <button type="button" className="button" onClick={() => setCreating(true)}>
            New session
          </button>
        </div>
        {failed ? (
          <div role="alert" className="error-panel">
            <p>Could not load sessions: {describeError(failed.error)}</p>
            <button type="button" className="button" onClick={retry}>
              Retry
            </button>
          </div>
        ) : !groups ? (
          <Skeleton label="Loading sessions" lines={4} />
        ) : (
          <>
            <SessionSection
              title="My sessions"
              empty="No sessions yet. Create one to start coding."
              sessions={groups.mine}
              langName={langName}
              actions={(s) => (
                <>
                  <button type="button" className="link-button" onClick={() => setSharing(s)} aria-label={`Share ${s.name}`}>
                    Share
                  </button>
                  <button type="button" className="link-button" onClick={() => setAnswering(s)} aria-label={`Access requests for ${s.name}`}>
                    Requests
                  </button>
                  <button type="button" className="link-button danger-text" onClick={() => setDeleting(s)} aria-label={`Delete ${s.name}`}>
                    Delete
                  </button>
                </>
              )}
            />
            <SessionSection title="Shared with me" empty="Nothing shared with you yet." sessions={groups.shared} langName={langName} />
            <SessionSection title="Public sessions" empty="No public sessions." sessions={groups.publicOnes} langName={langName} />
          </>
        )}
      </main>
      <CreateSessionDialog open={creating} languages={languages.data} onClose={() => setCreating(false)} onCreate={create} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete session?"
        description={`“${deleting?.name ?? ""}” and all its files, chat and run history will be deleted for everyone. This cannot be undone.`}
        confirmLabel="Delete session"
        onConfirm={() => deleting && remove(deleting)}
        onClose={() => setDeleting(null)}
      />
      <ShareDialog session={sharing} onClose={() => setSharing(null)} />
      <AccessRequestsDialog session={answering} onClose={() => setAnswering(null)} />
    </>
  );
}

function SessionSection({
  title,
  empty,
  sessions,
  langName,
  actions,
}: {
  title: string;
  empty: string;
  sessions: CodingSession[];
  langName: (id: string) => string;
  actions?: (s: CodingSession) => React.ReactNode;
}) {
  const headingId = `h-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <section aria-labelledby={headingId} className="session-section">
      <h2 id={headingId}>{title}</h2>
      {sessions.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="session-list">
          {sessions.map((s) => (
            <li key={s.id} className="session-card">
              <Link href={`/s/${encodeURIComponent(s.id)}`} className="session-name">
                {s.name}
              </Link>
              <span className="muted">
                {langName(s.language)} · {s.isPublic ? "Public" : "Private"}
                {s.role && s.role !== "owner" ? ` · ${s.role}` : ""} · updated{" "}
                <time dateTime={s.updatedAt}>{formatDate(s.updatedAt)}</time>
              </span>
              {actions && <span className="row-actions">{actions(s)}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
