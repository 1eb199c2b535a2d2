/** Deleting a budget, after an in-place confirmation; its alerts go with it. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type BudgetList, type BudgetPublic } from "../../api/client";
import { queryKeys } from "../../api/queries";
import { ConfirmedAction } from "../settings/Field";

export function DeleteBudget({ budget, onDeleted }: { budget: BudgetPublic; onDeleted?: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.deleteBudget(budget.id),
    onSuccess: () => {
      queryClient.setQueryData<BudgetList>(queryKeys.budgets, (list) => list && { budgets: list.budgets.filter((b) => b.id !== budget.id) });
      queryClient.removeQueries({ queryKey: queryKeys.budget(budget.id), exact: true });
      void queryClient.invalidateQueries({ queryKey: queryKeys.alerts }); // its alerts go with it
      onDeleted?.();
    },
  });
  return (
    <ConfirmedAction
      action="Delete"
      target={`budget ${budget.name}`}
      question="Its alerts are deleted too."
      failure="Not deleted"
      busy={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
    />
  );
}
