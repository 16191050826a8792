import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";

export interface Toast {
  id: number;
  kind: "error" | "info" | "success";
  text: string;
  action?: { label: string; run: () => void } | undefined;
}

interface ToastApi {
  show: (kind: Toast["kind"], text: string, action?: Toast["action"]) => void;
}

const ToastContext = createContext<ToastApi | null>(null);

const LIFETIME_MS = 7000;

/** Toasts in a polite live region (errors assertive), dismissible, gone after a while. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const show = useCallback(
    (kind: Toast["kind"], text: string, action?: Toast["action"]) => {
      const id = nextId.current++;
      setToasts((ts) => [...ts.slice(-3), { id, kind, text, action }]);
      // Errors with an action stay until handled.
      if (!action) window.setTimeout(() => dismiss(id), LIFETIME_MS);
    },
    [dismiss],
  );
  const api = useMemo(() => ({ show }), [show]);
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" role="region" aria-label="Notifications">
        <div aria-live="polite">
          {toasts
            .filter((t) => t.kind !== "error")
            .map((t) => (
              <ToastView key={t.id} toast={t} onDismiss={dismiss} />
            ))}
        </div>
        <div role="alert">
          {toasts
            .filter((t) => t.kind === "error")
            .map((t) => (
              <ToastView key={t.id} toast={t} onDismiss={dismiss} />
            ))}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

function ToastView({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  return (
    <div className={`toast toast-${toast.kind}`}>
      <span>{toast.text}</span>
      {toast.action && (
        <button
          type="button"
          className="link-button"
          onClick={() => {
            toast.action?.run();
            onDismiss(toast.id);
          }}
        >
          {toast.action.label}
        </button>
      )}
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => onDismiss(toast.id)}>
        ×
      </button>
    </div>
  );
}

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error("useToast outside ToastProvider");
  return api;
}
