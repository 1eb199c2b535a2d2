/** Cost, requests or tokens per bucket, stacked by model; optionally the previous period's total, dashed. */
import { memo, useMemo } from "react";
import type { Timeseries } from "../../api/client";
import { ErrorState, EmptyState, Skeleton } from "../../components/States";
import { toStackedRows } from "../../lib/chartData";
import { withPreviousTotal } from "../../lib/explore";
import { formatBucket, formatCompact, formatMoney, formatMoneyCompact, formatNumber } from "../../lib/format";
import { StackedBarChart } from "./StackedBarChart";
import { TREND_METRICS, type TrendMetric } from "./trendMetrics";

interface Props {
  data?: Timeseries;
  metric: TrendMetric;
  onMetric: (metric: TrendMetric) => void;
  isPending: boolean;
  isFetching: boolean;
  error: unknown;
  onRetry: () => void;
  /** Overlay the previous period (its total per bucket, on the same x positions). */
  compare: boolean;
  onCompare: (compare: boolean) => void;
  previous?: Timeseries;
  /** Both answers are in and belong to the current view (`data-ready`, which bench/ui.py waits for). */
  ready: boolean;
}

/** Memoised: the overview re-renders as each of its answers arrives; this redraws only for its own. */
export const TrendChart = memo(function TrendChart({ data, metric, onMetric, isPending, isFetching, error, onRetry, compare, onCompare, previous, ready }: Props) {
  const stacked = useMemo(() => (data ? toStackedRows(data.series) : null), [data]);
  const rows = useMemo(() => (stacked ? withPreviousTotal(stacked.rows, compare ? previous : undefined) : []), [stacked, compare, previous]);
  const currency = data?.currency ?? "USD";
  const timezone = data?.timezone ?? "UTC";
  const interval = data?.interval ?? "day";
  const formatValue = (value: number) =>
    metric === "cost" ? formatMoney(value, currency) : metric === "tokens" ? formatCompact(value) : formatNumber(value);
  const formatAxis = (value: number) => (metric === "cost" ? formatMoneyCompact(value, currency) : formatCompact(value));
  const metricLabel = TREND_METRICS.find((m) => m.id === metric)?.label ?? metric;

  return (
    <section className="panel" aria-labelledby="trend-title" data-ready={ready ? "true" : "false"}>
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="trend-title" className="panel-title">
          {metricLabel} by model
        </h2>
        {isFetching && !isPending && <span className="text-xs text-slate-500 dark:text-slate-400">updating…</span>}
        <label className="ml-auto inline-flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-300">
          <input type="checkbox" className="size-3.5 accent-indigo-600" checked={compare} onChange={(event) => onCompare(event.target.checked)} />
          Previous period
        </label>
        <div role="group" aria-label="Metric" className="inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
          {TREND_METRICS.map((option) => (
            <button
              key={option.id}
              type="button"
              aria-pressed={metric === option.id}
              onClick={() => onMetric(option.id)}
              className={`rounded px-2.5 py-1 text-xs font-medium ${
                metric === option.id
                  ? "bg-indigo-600 text-white"
                  : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
              }`}
            >
              {option.label}
            </button>
          ))}
        </div>
      </div>
      {error && !data ? (
        <ErrorState error={error} onRetry={onRetry} />
      ) : !stacked ? (
        <Skeleton className="h-72 w-full" />
      ) : stacked.series.length === 0 ? (
        <EmptyState title="Nothing in this period" />
      ) : (
        <StackedBarChart
          rows={rows}
          series={stacked.series}
          showPrevious={compare && previous !== undefined}
          formatValue={formatValue}
          formatAxis={formatAxis}
          formatBucket={(start) => formatBucket(start, interval, timezone)}
          label={`${metricLabel} per ${interval}, stacked by model: ${stacked.series.map((s) => s.name).join(", ")}${
            compare && previous ? "; the previous period's total dashed" : ""
          }. Focus and use the arrow keys for each ${interval}'s figures.`}
        />
      )}
    </section>
  );
});
