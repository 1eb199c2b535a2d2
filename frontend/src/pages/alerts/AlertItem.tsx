/** One alert: severity stripe, title, message, time, its budget, and "Acknowledge" (which updates the bell at once). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Check } from "lucide-react";
import { Link } from "react-router";
import { api, type AlertPublic } from "../../api/client";
import { queryKeys } from "../../api/queries";
import { errorMessage, Spinner } from "../../components/States";
import { ackedBy, alertKindLabel, SEVERITY_CLASSES, severityTone, timeAgo } from "../../lib/alerts";
import { formatDateTime } from "../../lib/format";
import { useSession } from "../../lib/session";

export function AlertItem({ alert, timezone, now }: { alert: AlertPublic; timezone: string; now: number }) {
  const queryClient = useQueryClient();
  const { user } = useSession();
  const ack = useMutation({
    mutationFn: () => api.ackAlert(alert.id),
    onSuccess: () => {
      // The bell at once (no wait for its next poll), then every alerts query refetches, the bell's included.
      if (!alert.acked_at) queryClient.setQueryData<number>(queryKeys.unreadAlerts, (count) => Math.max(0, (count ?? 1) - 1));
      void queryClient.invalidateQueries({ queryKey: queryKeys.alerts });
    },
  });
  const tone = severityTone(alert.severity);
  const classes = SEVERITY_CLASSES[tone];
  const ago = timeAgo(alert.created_at, now);
  const acked = alert.acked_at !== null || ack.isSuccess;
  const who = ackedBy(ack.data?.acked_by ?? alert.acked_by, user.id);
  const budgetName = typeof alert.details.budget_name === "string" ? alert.details.budget_name : null;
  const headingId = `alert-${alert.id}`;
  return (
    <li>
      <article
        aria-labelledby={headingId}
        data-severity={tone}
        className={`rounded-lg border border-l-4 border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900 ${classes.stripe} ${acked ? "opacity-80" : ""}`}
      >
        <div className="flex flex-col gap-x-3 gap-y-2 sm:flex-row sm:items-start">
          <div className="min-w-0 flex-1 space-y-1">
            <div className="flex flex-wrap items-center gap-2 text-xs">
              <span className={`rounded px-1.5 py-0.5 font-semibold uppercase tracking-wide ${classes.label}`}>{tone}</span>
              <span className="text-slate-600 dark:text-slate-300">{alertKindLabel(alert.kind)}</span>
              <time dateTime={alert.created_at} title={formatDateTime(alert.created_at, timezone)} className="text-slate-600 dark:text-slate-300">
                {ago ?? formatDateTime(alert.created_at, timezone)}
              </time>
              {!acked && <span className="font-semibold text-indigo-700 dark:text-indigo-300">unread</span>}
            </div>
            <h2 id={headingId} className="font-semibold">
              {alert.title}
            </h2>
            <p className="text-sm text-slate-700 dark:text-slate-300">{alert.message}</p>
            {alert.budget_id && (
              <p className="text-sm">
                <Link to={`/budgets/${alert.budget_id}`} className="font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                  Budget {budgetName ?? "details"}
                </Link>
              </p>
            )}
          </div>
          <div className="shrink-0 sm:text-right">
            {acked ? (
              <p className="inline-flex items-center gap-1 text-sm text-slate-600 dark:text-slate-300">
                <Check aria-hidden className="size-4" />
                {who ? `Acknowledged by ${who}` : "Acknowledged"}
              </p>
            ) : (
              <button type="button" className="btn-secondary" onClick={() => ack.mutate()} disabled={ack.isPending} aria-label={`Acknowledge: ${alert.title}`}>
                {ack.isPending ? <Spinner label="Acknowledging" /> : "Acknowledge"}
              </button>
            )}
            {ack.isError && (
              <p role="alert" className="mt-1 text-xs text-rose-700 dark:text-rose-300">
                Not acknowledged: {errorMessage(ack.error)}
              </p>
            )}
          </div>
        </div>
      </article>
    </li>
  );
}
