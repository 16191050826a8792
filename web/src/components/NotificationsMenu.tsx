import { useEffect, useRef, useState } from "react";
import { describeError } from "../api/errors";
import type { Notification } from "../api/types";
import { useQuery, useQueryCache } from "../app/queryCache";
import { Link } from "../app/router";
import { useApi } from "../app/services";
import { useToast } from "../app/toasts";

export const UNREAD_KEY = "notifications/unread";
export const NOTIFICATIONS_KEY = "notifications/list";
const POLL_MS = 60_000;

/** The bell with the unread count; opens the list. Live events refresh it via the cache. */
export function NotificationsMenu() {
  const api = useApi();
  const cache = useQueryCache();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const unread = useQuery(UNREAD_KEY, () => api.unreadCount());
  const list = useQuery<Notification[]>(open ? NOTIFICATIONS_KEY : null, () => api.listNotifications());
  const rootRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const t = window.setInterval(() => cache.invalidate(UNREAD_KEY), POLL_MS);
    return () => window.clearInterval(t);
  }, [cache]);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const count = unread.data ?? 0;
  const act = async (fn: () => Promise<void>, optimistic: (ns: Notification[]) => Notification[]) => {
    const before = cache.set<Notification[]>(NOTIFICATIONS_KEY, (ns) => optimistic(ns ?? []));
    try {
      await fn();
    } catch (err) {
      cache.set(NOTIFICATIONS_KEY, before ?? []);
      toast.show("error", describeError(err));
    }
    cache.invalidate("notifications/");
  };

  return (
    <div
      className="menu"
      ref={rootRef}
      onKeyDown={(e) => {
        if (e.key === "Escape") setOpen(false);
      }}
    >
      <button
        type="button"
        className="icon-button bell"
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={count ? `Notifications, ${count} unread` : "Notifications"}
        onClick={() => setOpen((o) => !o)}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
          <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" fill="currentColor" />
        </svg>
        {count > 0 && <span className="badge">{count > 99 ? "99+" : count}</span>}
      </button>
      {open && (
        <div className="menu-panel notifications-panel">
          <div className="menu-panel-header">
            <h2>Notifications</h2>
            <button
              type="button"
              className="link-button"
              disabled={count === 0}
              onClick={() => act(() => api.markAllRead(), (ns) => ns.map((n) => ({ ...n, isRead: true })))}
            >
              Mark all read
            </button>
          </div>
          {list.loading ? (
            <p className="muted">Loading…</p>
          ) : !list.data?.length ? (
            <p className="muted">Nothing new.</p>
          ) : (
            <ul className="notification-list">
              {list.data.map((n) => (
                <li key={n.id} className={n.isRead ? "" : "unread"}>
                  <div>
                    {n.sessionId ? (
                      <Link
                        href={`/s/${encodeURIComponent(n.sessionId)}`}
                        onClick={() => {
                          setOpen(false);
                          // Following a notification reads it.
                          if (!n.isRead) void act(() => api.markRead(n.id), (ns) => ns.map((x) => (x.id === n.id ? { ...x, isRead: true } : x)));
                        }}
                      >
                        {n.title || n.kind}
                      </Link>
                    ) : (
                      <strong>{n.title || n.kind}</strong>
                    )}
                    {n.body && <p>{n.body}</p>}
                    <time className="muted" dateTime={n.createdAt}>
                      {new Date(n.createdAt).toLocaleString()}
                    </time>
                  </div>
                  <div className="row-actions">
                    {!n.isRead && (
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => act(() => api.markRead(n.id), (ns) => ns.map((x) => (x.id === n.id ? { ...x, isRead: true } : x)))}
                      >
                        Mark read
                      </button>
                    )}
                    <button
                      type="button"
                      className="link-button"
                      aria-label={`Delete notification: ${n.title || n.kind}`}
                      onClick={() => act(() => api.deleteNotification(n.id), (ns) => ns.filter((x) => x.id !== n.id))}
                    >
                      Delete
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
