/** A labelled form control with its hint and its error (from the browser or the API's 422). */
import { useEffect, useRef, useState, type ReactNode } from "react";
import { errorMessage } from "../../components/States";

export function Field({
  id,
  label,
  hint,
  error,
  children,
  className = "",
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  /** The control, given `id`, `aria-invalid` and `aria-describedby` by the caller via `controlProps`. */
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      {children}
      {hint && !error && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}

/** The accessibility attributes of a control shown with `Field`. */
export function controlProps(id: string, error: string | undefined, hasHint = false) {
  return {
    id,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? `${id}-error` : hasHint ? `${id}-hint` : undefined,
  } as const;
}

/** A form-wide message: a problem (alert) or a success (status). */
export function FormMessage({ tone, children }: { tone: "error" | "success"; children: ReactNode }) {
  return tone === "error" ? (
    <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700 dark:bg-rose-500/10 dark:text-rose-300">
      {children}
    </p>
  ) : (
    <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-500/10 dark:text-emerald-300">
      {children}
    </p>
  );
}

/**
 * Asks before something that cannot be undone (revoking a key, deleting an override), in place:
 * focus moves to the confirming button, Escape or Cancel backs out.
 */
export function ConfirmInline({
  label,
  question,
  confirmText,
  busy,
  onConfirm,
  onCancel,
}: {
  label: string;
  question: ReactNode;
  confirmText: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => confirmRef.current?.focus(), []);
  return (
    <div
      role="alertdialog"
      aria-label={label}
      className="flex flex-wrap items-center justify-end gap-2 text-sm"
      onKeyDown={(event) => {
        if (event.key === "Escape") onCancel();
      }}
    >
      <span className="text-slate-700 dark:text-slate-200">{question}</span>
      <button ref={confirmRef} type="button" className="btn-primary bg-rose-600 py-1.5 hover:bg-rose-500" onClick={onConfirm} disabled={busy}>
        {confirmText}
      </button>
      <button type="button" className="btn-secondary" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
    </div>
  );
}

/** A row's destructive action: a button that asks in place before acting, and says if it failed. */
export function ConfirmedAction({
  action,
  target,
  question,
  failure,
  busy,
  error,
  onConfirm,
}: {
  action: string;
  target: string;
  question: ReactNode;
  failure: string;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const label = `${action} ${target}`;
  return (
    <>
      {confirming ? (
        <ConfirmInline
          label={label}
          question={question}
          confirmText={action}
          busy={busy}
          onConfirm={onConfirm}
          onCancel={() => setConfirming(false)}
        />
      ) : (
        <button type="button" className="btn-secondary" onClick={() => setConfirming(true)} aria-label={label}>
          {action}
        </button>
      )}
      {error != null && (
        <p role="alert" className="mt-1 text-xs text-rose-700 dark:text-rose-300">
          {failure}: {errorMessage(error)}
        </p>
      )}
    </>
  );
}
