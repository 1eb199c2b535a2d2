/** A budget's figures: badges, scope, period, the bar, spent / limit, reserved, remaining and forecast. */
import type { BudgetPublic } from "../../api/client";
import { BudgetBar } from "../../components/BudgetBar";
import { formatMoney } from "../../lib/format";
import { formatPeriodRange, formatScope, PERIOD_LABELS, type ScopeNames } from "../../lib/budgets";

export function Badge({ tone, children }: { tone: "neutral" | "alert" | "block" | "muted"; children: string }) {
  const classes = {
    neutral: "border-slate-300 bg-slate-50 text-slate-700 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-200",
    alert: "border-sky-300 bg-sky-50 text-sky-800 dark:border-sky-500/40 dark:bg-sky-500/10 dark:text-sky-200",
    block: "border-rose-300 bg-rose-50 text-rose-800 dark:border-rose-500/40 dark:bg-rose-500/10 dark:text-rose-200",
    muted: "border-slate-300 bg-white text-slate-600 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-300",
  }[tone];
  return <span className={`inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-medium ${classes}`}>{children}</span>;
}

export function BudgetBadges({ budget }: { budget: BudgetPublic }) {
  return (
    <span className="inline-flex flex-wrap gap-1.5">
      <Badge tone={budget.action === "block" ? "block" : "alert"}>{budget.action === "block" ? "block" : "alert"}</Badge>
      <Badge tone="neutral">{PERIOD_LABELS[budget.period]}</Badge>
      {budget.rollover && <Badge tone="neutral">rollover</Badge>}
      {!budget.enabled && <Badge tone="muted">disabled</Badge>}
    </span>
  );
}

function Figure({ label, value, detail }: { label: string; value: string; detail?: string | undefined }) {
  return (
    <div>
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-sm font-medium tabular-nums">
        {value}
        {detail && <span className="block text-xs font-normal text-slate-500 dark:text-slate-400">{detail}</span>}
      </dd>
    </div>
  );
}

export function BudgetFigures({ budget, names, timezone }: { budget: BudgetPublic; names: ScopeNames; timezone: string }) {
  const status = budget.status;
  const currency = status?.currency ?? budget.currency;
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600 dark:text-slate-300">
        {formatScope(budget.scope, names)} · {status ? formatPeriodRange(status.period_start, status.period_end, timezone) : "no status"}
      </p>
      {status && (
        <>
          <BudgetBar name={budget.name} percent={status.percent} thresholds={budget.thresholds} />
          <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
            <Figure
              label="Spent"
              value={`${formatMoney(status.spent, currency)} of ${formatMoney(status.limit, currency)}`}
              detail={status.limit !== budget.limit ? `limit ${formatMoney(budget.limit, currency)} + rollover` : undefined}
            />
            <Figure label="Reserved" value={formatMoney(status.reserved, currency)} detail="held for calls in flight" />
            <Figure label="Remaining" value={formatMoney(status.remaining, currency)} />
            <Figure
              label="Forecast"
              value={status.forecast_period_spend === null ? "—" : formatMoney(status.forecast_period_spend, currency)}
              detail={
                status.forecast_exhaustion_date
                  ? `limit reached ~${new Date(`${status.forecast_exhaustion_date}T12:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" })}`
                  : status.period_end
                    ? "by the period's end"
                    : undefined
              }
            />
          </dl>
        </>
      )}
    </div>
  );
}
