/** One budget: its figures, cumulative spend against the limit with the forecast, settings, and its latest alerts. */
import { useQuery } from "@tanstack/react-query";
import { ArrowLeft } from "lucide-react";
import { useState, type ReactNode } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { queryKeys, useBudget, useChannels } from "../api/queries";
import { EmptyState, ErrorState, Skeleton } from "../components/States";
import { formatScope } from "../lib/budgets";
import { formatDateTime } from "../lib/format";
import { useSession } from "../lib/session";
import { AlertItem } from "./alerts/AlertItem";
import { BudgetForm } from "./budgets/BudgetForm";
import { DeleteBudget } from "./budgets/DeleteBudget";
import { BudgetBadges, BudgetFigures } from "./budgets/BudgetSummary";
import { SpendChart } from "./budgets/SpendChart";
import { useIsAdmin, useScopeNames } from "./budgets/useScopeNames";

function Setting({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex flex-wrap gap-x-2 py-1.5 text-sm">
      <dt className="w-32 shrink-0 text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="min-w-0 flex-1">{children}</dd>
    </div>
  );
}

function RecentAlerts({ budgetId, timezone }: { budgetId: string; timezone: string }) {
  const alerts = useQuery({
    queryKey: [...queryKeys.alerts, "budget", budgetId] as const,
    queryFn: ({ signal }) => api.alerts({ budget_id: budgetId, limit: 5 }, signal),
  });
  return (
    <section className="space-y-3" aria-labelledby="budget-alerts-title">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="budget-alerts-title" className="panel-title">
          Latest alerts
        </h2>
        <Link to={`/alerts?budget=${encodeURIComponent(budgetId)}`} className="text-sm font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
          All alerts of this budget
        </Link>
      </div>
      {alerts.isError ? (
        <ErrorState error={alerts.error} onRetry={() => alerts.refetch()} compact />
      ) : alerts.isPending ? (
        <Skeleton className="h-20 w-full" />
      ) : alerts.data.alerts.length === 0 ? (
        <div className="panel">
          <EmptyState title="No alerts yet">One is raised the first time spend reaches each threshold in a period.</EmptyState>
        </div>
      ) : (
        <ul aria-label="Latest alerts of this budget" className="space-y-3">
          {alerts.data.alerts.map((alert) => (
            <AlertItem key={alert.id} alert={alert} timezone={timezone} now={alerts.dataUpdatedAt} />
          ))}
        </ul>
      )}
    </section>
  );
}

export default function BudgetDetailPage() {
  const { budgetId = "" } = useParams();
  const { organization } = useSession();
  const canEdit = useIsAdmin();
  const names = useScopeNames();
  const budget = useBudget(budgetId);
  const channels = useChannels();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);

  const back = (
    <Link to="/budgets" className="inline-flex items-center gap-1 text-sm font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
      <ArrowLeft aria-hidden className="size-4" /> Budgets
    </Link>
  );
  if (budget.isError) {
    const missing = budget.error instanceof ApiError && budget.error.status === 404;
    return (
      <div className="space-y-4">
        {back}
        <div className="panel">
          {missing ? (
            <EmptyState title="This budget does not exist">It may have been deleted.</EmptyState>
          ) : (
            <ErrorState error={budget.error} onRetry={() => budget.refetch()} />
          )}
        </div>
      </div>
    );
  }
  if (budget.isPending) {
    return (
      <div className="space-y-4" aria-busy="true">
        {back}
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-32 w-full" />
        <Skeleton className="h-64 w-full" />
      </div>
    );
  }
  const b = budget.data;
  const channelNames = new Map((channels.data?.channels ?? []).map((c) => [c.id, c.name]));
  return (
    <div className="space-y-4">
      {back}
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold">
            {b.name} <BudgetBadges budget={b} />
          </h1>
        </div>
        {canEdit && !editing && (
          <div className="flex flex-wrap items-start gap-2">
            <button type="button" className="btn-secondary" onClick={() => setEditing(true)}>
              Edit
            </button>
            <div>
              <DeleteBudget budget={b} onDeleted={() => navigate("/budgets", { replace: true })} />
            </div>
          </div>
        )}
      </div>
      {editing ? (
        <BudgetForm budget={b} currency={b.currency} names={names} onDone={() => setEditing(false)} onCancel={() => setEditing(false)} />
      ) : (
        <section className="panel" aria-label="Status">
          <BudgetFigures budget={b} names={names} timezone={organization.timezone} />
        </section>
      )}
      {b.status && <SpendChart budget={b} status={b.status} timezone={organization.timezone} />}
      <div className="grid gap-4 lg:grid-cols-2">
        <section className="panel" aria-labelledby="budget-settings-title">
          <h2 id="budget-settings-title" className="panel-title mb-2">
            Settings
          </h2>
          <dl className="divide-y divide-slate-100 dark:divide-slate-800">
            <Setting label="Scope">{formatScope(b.scope, names)}</Setting>
            <Setting label="Limit">
              {new Intl.NumberFormat(undefined, { style: "currency", currency: b.currency }).format(b.limit)} per {b.period === "total" ? "lifetime" : b.period}
              {b.starts_on ? `, periods from ${b.starts_on}` : ""}
            </Setting>
            <Setting label="Thresholds">{b.thresholds.length ? b.thresholds.map((t) => `${t}%`).join(", ") : "none"}</Setting>
            <Setting label="At the limit">{b.action === "block" ? "Block calls (gateway and SDK guard)" : "Alert only"}</Setting>
            <Setting label="Rollover">{b.rollover ? "Unused budget rolls over" : "No"}</Setting>
            <Setting label="Notify">
              {b.channel_ids.length === 0 ? "Dashboard only" : b.channel_ids.map((c) => channelNames.get(c) ?? c).join(", ")}
            </Setting>
            <Setting label="Updated">{formatDateTime(b.updated_at, organization.timezone)}</Setting>
          </dl>
        </section>
        <RecentAlerts budgetId={b.id} timezone={organization.timezone} />
      </div>
    </div>
  );
}
