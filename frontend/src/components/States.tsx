/** Loading, empty and error states, the same on every page. */
import { AlertTriangle, Inbox, Loader2 } from "lucide-react";
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-slate-500 dark:text-slate-400">
      <Loader2 aria-hidden className="size-4 animate-spin" />
      {label}…
    </span>
  );
}

/** A grey placeholder of the size of what is loading. */
export function Skeleton({ className = "" }: { className?: string }) {
  return <div aria-hidden className={`animate-pulse rounded-md bg-slate-200 dark:bg-slate-800 ${className}`} />;
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 py-10 text-center text-slate-500 dark:text-slate-400">
      <Inbox aria-hidden className="size-8" />
      <p className="font-medium text-slate-700 dark:text-slate-200">{title}</p>
      {children && <div className="max-w-md text-sm">{children}</div>}
    </div>
  );
}

/** The panel a page shows when the chosen period and filters hold no call at all. */
export function NoCallsPanel({ children }: { children?: ReactNode }) {
  return (
    <div className="panel">
      <EmptyState title="No LLM calls in this period">{children ?? "Pick a longer range or clear the filters."}</EmptyState>
    </div>
  );
}

/** A page loading: a row of card placeholders (`grid` sets the columns) above a chart placeholder. */
export function CardsAndChartSkeleton({ cards, grid }: { cards: number; grid: string }) {
  return (
    <div className="space-y-4" aria-busy="true">
      <div className={`grid gap-4 ${grid}`}>
        {Array.from({ length: cards }, (_, i) => (
          <Skeleton key={i} className="h-24" />
        ))}
      </div>
      <Skeleton className="h-64 w-full" />
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

export function ErrorState({ error, onRetry, compact = false }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  return (
    <div
      role="alert"
      className={`flex flex-col items-center justify-center gap-2 text-center ${compact ? "py-4" : "py-10"}`}
    >
      <AlertTriangle aria-hidden className="size-6 text-rose-500" />
      <p className="text-sm text-slate-700 dark:text-slate-200">Could not load this: {errorMessage(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry} className="btn-secondary">
          Try again
        </button>
      )}
    </div>
  );
}
