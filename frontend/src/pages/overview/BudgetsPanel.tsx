/** The three budgets closest to their limit, shown on the overview when the organisation has any. */
import { Link } from "react-router";
import { useBudgets } from "../../api/queries";
import { BudgetBar } from "../../components/BudgetBar";
import { formatPeriodRange, topBudgets } from "../../lib/budgets";
import { formatMoney } from "../../lib/format";

export function BudgetsPanel({ timezone }: { timezone: string }) {
  const budgets = useBudgets();
  const all = budgets.data?.budgets ?? [];
  const top = topBudgets(all);
  if (top.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="overview-budgets-title">
      <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="overview-budgets-title" className="panel-title">
          Budgets
        </h2>
        <Link to="/budgets" className="text-sm font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
          {all.length > top.length ? `All ${all.length} budgets` : "Manage budgets"}
        </Link>
      </div>
      <ul className="grid gap-4 md:grid-cols-3">
        {top.map((budget) => {
          const status = budget.status!;
          return (
            <li key={budget.id} className="min-w-0 space-y-1.5">
              <div className="flex items-baseline justify-between gap-2 text-sm">
                <Link to={`/budgets/${budget.id}`} className="truncate font-medium underline-offset-2 hover:underline">
                  {budget.name}
                </Link>
                <span className="shrink-0 text-xs text-slate-500 dark:text-slate-400">{formatPeriodRange(status.period_start, status.period_end, timezone)}</span>
              </div>
              <BudgetBar name={budget.name} percent={status.percent} thresholds={budget.thresholds} size="sm" />
              <p className="text-xs text-slate-600 dark:text-slate-300">
                {formatMoney(status.spent, status.currency)} of {formatMoney(status.limit, status.currency)}
              </p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
