/** Budgets: each with its bar (green, amber from 80 %, red from 100 %), figures, and create/edit/delete for admins. */
import { Plus } from "lucide-react";
import { useState } from "react";
import { Link } from "react-router";
import type { BudgetPublic } from "../api/client";
import { useBudgets } from "../api/queries";
import { EmptyState, ErrorState, Skeleton } from "../components/States";
import type { ScopeNames } from "../lib/budgets";
import { useSession } from "../lib/session";
import { BudgetForm } from "./budgets/BudgetForm";
import { DeleteBudget } from "./budgets/DeleteBudget";
import { BudgetBadges, BudgetFigures } from "./budgets/BudgetSummary";
import { useIsAdmin, useScopeNames } from "./budgets/useScopeNames";
import { FormMessage } from "./settings/Field";

function BudgetCard({ budget, names, timezone, canEdit }: { budget: BudgetPublic; names: ScopeNames; timezone: string; canEdit: boolean }) {
  const [editing, setEditing] = useState(false);
  const headingId = `budget-${budget.id}`;
  if (editing) {
    return (
      <li>
        <BudgetForm budget={budget} currency={budget.currency} names={names} onDone={() => setEditing(false)} onCancel={() => setEditing(false)} />
      </li>
    );
  }
  return (
    <li>
      <article aria-labelledby={headingId} className="panel space-y-3" data-testid="budget-row">
        <div className="flex flex-wrap items-start gap-x-3 gap-y-2">
          <div className="min-w-0 flex-1">
            <h2 id={headingId} className="flex flex-wrap items-center gap-2 font-semibold">
              <Link to={`/budgets/${budget.id}`} className="text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                {budget.name}
              </Link>
              <BudgetBadges budget={budget} />
            </h2>
          </div>
          {canEdit && (
            <div className="flex flex-wrap items-start gap-2">
              <button type="button" className="btn-secondary" onClick={() => setEditing(true)} aria-label={`Edit budget ${budget.name}`}>
                Edit
              </button>
              <div>
                <DeleteBudget budget={budget} />
              </div>
            </div>
          )}
        </div>
        <BudgetFigures budget={budget} names={names} timezone={timezone} />
      </article>
    </li>
  );
}

export default function BudgetsPage() {
  const { organization, role } = useSession();
  const canEdit = useIsAdmin();
  const budgets = useBudgets();
  const names = useScopeNames();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const list = budgets.data?.budgets ?? [];

  function startCreating() {
    setCreated(null);
    setCreating(true);
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Budgets</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            Spend limits per period in {organization.currency}, calendar-aligned in {organization.timezone}. Alerts at each threshold; a blocking budget refuses calls at its limit.
          </p>
        </div>
        {canEdit && !creating && list.length > 0 && (
          <button type="button" className="btn-primary" onClick={startCreating}>
            <Plus aria-hidden className="size-4" /> Create budget
          </button>
        )}
      </div>

      {creating && (
        <BudgetForm
          currency={organization.currency}
          names={names}
          onDone={(budget) => {
            setCreating(false);
            setCreated(budget.name);
          }}
          onCancel={() => setCreating(false)}
        />
      )}
      {created && <FormMessage tone="success">Budget “{created}” created.</FormMessage>}

      {budgets.isError ? (
        <div className="panel">
          <ErrorState error={budgets.error} onRetry={() => budgets.refetch()} />
        </div>
      ) : budgets.isPending ? (
        <div className="space-y-4" aria-busy="true">
          {Array.from({ length: 3 }, (_, i) => (
            <Skeleton key={i} className="h-36 w-full" />
          ))}
        </div>
      ) : list.length === 0 ? (
        !creating && (
          <div className="panel">
            <EmptyState title="No budgets yet">
              <p>Set a monthly limit for the organisation, a project, a team, a customer or a model, and get alerted before it is spent.</p>
              {canEdit ? (
                <button type="button" className="btn-primary mt-3" onClick={startCreating}>
                  <Plus aria-hidden className="size-4" /> Create budget
                </button>
              ) : (
                <p className="mt-2">Your role is {role}: ask an owner or admin to create one.</p>
              )}
            </EmptyState>
          </div>
        )
      ) : (
        <ul aria-label="Budgets" className="space-y-4">
          {list.map((budget) => (
            <BudgetCard key={budget.id} budget={budget} names={names} timezone={organization.timezone} canEdit={canEdit} />
          ))}
        </ul>
      )}
    </div>
  );
}
