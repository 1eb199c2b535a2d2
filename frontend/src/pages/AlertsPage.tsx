/** Alerts, newest first: all or unread, by kind or budget, page after page; each can be acknowledged. */
import { X } from "lucide-react";
import { useId, useMemo } from "react";
import { Link, useSearchParams } from "react-router";
import { ALERT_KINDS, type AlertQuery } from "../api/client";
import { useAlertPages, useBudgets } from "../api/queries";
import { EmptyState, ErrorState, Skeleton, Spinner } from "../components/States";
import { alertKindLabel } from "../lib/alerts";
import { useSession } from "../lib/session";
import { AlertItem } from "./alerts/AlertItem";

const PAGE_SIZE = 25;

export default function AlertsPage() {
  const id = useId();
  const { organization } = useSession();
  const [params, setParams] = useSearchParams();
  const show = params.get("show") === "unread" ? "unread" : "all";
  const kind = params.get("kind") ?? "";
  const budgetId = params.get("budget") ?? "";
  const filters = useMemo<Omit<AlertQuery, "cursor">>(
    () => ({ limit: PAGE_SIZE, unread: show === "unread" ? true : undefined, kind: kind || undefined, budget_id: budgetId || undefined }),
    [show, kind, budgetId],
  );
  const pages = useAlertPages(filters);
  const budgets = useBudgets();
  // "5 min ago" is counted from the answer's time, so it stays true after each refetch.
  const now = pages.dataUpdatedAt;
  const alerts = pages.data?.pages.flatMap((page) => page.alerts) ?? [];
  const unread = pages.data?.pages[0]?.unread_count ?? 0;
  const budgetName = budgets.data?.budgets.find((b) => b.id === budgetId)?.name;

  function setParam(name: string, value: string | null) {
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  }

  const filtered = show === "unread" || kind || budgetId;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-xl font-semibold">Alerts</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {pages.data ? `${unread} unread` : "Budget thresholds, spend spikes and error rates"} · times in {organization.timezone}
          </p>
        </div>
        <div className="flex flex-wrap items-end gap-3">
          <div role="group" aria-label="Show" className="inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
            {(["all", "unread"] as const).map((option) => (
              <button
                key={option}
                type="button"
                aria-pressed={show === option}
                onClick={() => setParam("show", option === "all" ? null : option)}
                className={`rounded px-3 py-1 text-sm font-medium ${
                  show === option ? "bg-indigo-600 text-white" : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
                }`}
              >
                {option === "all" ? "All" : "Unread"}
              </button>
            ))}
          </div>
          <div>
            <label htmlFor={`${id}-kind`} className="mb-1 block text-xs font-medium text-slate-600 dark:text-slate-300">
              Kind
            </label>
            <select id={`${id}-kind`} className="input" value={kind} onChange={(e) => setParam("kind", e.target.value || null)}>
              <option value="">All kinds</option>
              {ALERT_KINDS.map((k) => (
                <option key={k} value={k}>
                  {alertKindLabel(k)}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>
      {budgetId && (
        <p className="flex flex-wrap items-center gap-2 text-sm">
          Budget:
          <span className="inline-flex items-center gap-1 rounded-full border border-indigo-200 bg-indigo-50 py-0.5 pl-2.5 pr-1 font-medium text-indigo-800 dark:border-indigo-500/40 dark:bg-indigo-500/15 dark:text-indigo-200">
            <Link to={`/budgets/${budgetId}`} className="underline-offset-2 hover:underline">
              {budgetName ?? budgetId}
            </Link>
            <button type="button" className="rounded-full p-0.5 hover:bg-indigo-100 dark:hover:bg-indigo-500/30" aria-label="Show alerts of every budget" onClick={() => setParam("budget", null)}>
              <X aria-hidden className="size-3.5" />
            </button>
          </span>
        </p>
      )}

      {pages.isError ? (
        <div className="panel">
          <ErrorState error={pages.error} onRetry={() => pages.refetch()} />
        </div>
      ) : pages.isPending ? (
        <div className="space-y-3" aria-busy="true">
          {Array.from({ length: 4 }, (_, i) => (
            <Skeleton key={i} className="h-24 w-full" />
          ))}
        </div>
      ) : alerts.length === 0 ? (
        <div className="panel">
          {filtered ? (
            <EmptyState title={show === "unread" ? "No unread alerts" : "No alerts match"}>
              <button type="button" className="btn-secondary mt-2" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
                Show all alerts
              </button>
            </EmptyState>
          ) : (
            <EmptyState title="No alerts yet">
              <p>Alerts appear here when a budget reaches a threshold.</p>
              <Link to="/budgets" className="btn-primary mt-3">
                Set up a budget
              </Link>
            </EmptyState>
          )}
        </div>
      ) : (
        <>
          <ul aria-label="Alerts" className="space-y-3">
            {alerts.map((alert) => (
              <AlertItem key={alert.id} alert={alert} timezone={organization.timezone} now={now} />
            ))}
          </ul>
          {pages.hasNextPage && (
            <div className="flex justify-center">
              <button type="button" className="btn-secondary" onClick={() => pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
                {pages.isFetchingNextPage ? <Spinner label="Loading more" /> : "Load more alerts"}
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}
