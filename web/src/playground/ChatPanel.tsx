import { memo, useEffect, useId, useRef, type FormEvent } from "react";
import type { ChatEntry } from "../collab/sessionClient";

/** Chat with a polite live region: new messages from others are announced. */
interface ChatPanelProps {
  messages: ChatEntry[];
  meId: string | undefined;
  onSend: (text: string) => void;
  onRetry: (id: string) => void;
  /** Present while older history remains on the server. */
  onLoadOlder?: (() => void) | undefined;
}

export const ChatPanel = memo(function ChatPanel({ messages, meId, onSend, onRetry, onLoadOlder }: ChatPanelProps) {
  const inputId = useId();
  const listRef = useRef<HTMLOListElement>(null);
  // Follow new messages at the bottom; loading older ones at the top does not jump.
  const lastId = messages.at(-1)?.id;
  useEffect(() => {
    const el = listRef.current;
    if (!el || lastId === undefined) return;
    // Reading scrollHeight forces layout; in the next frame it comes with the paint.
    const frame = requestAnimationFrame(() => (el.scrollTop = el.scrollHeight));
    return () => cancelAnimationFrame(frame);
  }, [lastId]);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const text = String(new FormData(form).get("text") ?? "");
    if (!text.trim()) return;
    onSend(text);
    form.reset();
  };
  return (
    <section className="chat" aria-labelledby="chat-h">
      <h2 id="chat-h">Chat</h2>
      {onLoadOlder && (
        <button type="button" className="link-button" onClick={onLoadOlder}>
          Load older messages
        </button>
      )}
      <ol className="chat-log" ref={listRef} role="log" aria-live="polite" aria-relevant="additions" tabIndex={0} aria-label="Chat messages">
        {messages.length === 0 && <li className="muted">No messages yet.</li>}
        {messages.map((m) => (
          <li key={m.id} className={m.userId === meId ? "mine" : undefined}>
            <span className="chat-author">{m.username}</span>{" "}
            <time className="muted" dateTime={m.createdAt}>
              {new Date(m.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
            </time>
            <p className="chat-text">{m.content}</p>
            {m.pending && <span className="muted"> sending…</span>}
            {m.failed && (
              <span className="form-error">
                Not sent.{" "}
                <button type="button" className="link-button" onClick={() => onRetry(m.id)}>
                  Retry
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="chat-form">
        <label htmlFor={inputId} className="visually-hidden">
          Message
        </label>
        <input id={inputId} name="text" autoComplete="off" maxLength={2000} placeholder="Message" />
        <button type="submit" className="button small">
          Send
        </button>
      </form>
    </section>
  );
});
