/** Cost, requests or tokens per bucket, stacked by model. */
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Timeseries } from "../../api/client";
import { ErrorState, EmptyState, Skeleton } from "../../components/States";
import { colorFor, toStackedRows } from "../../lib/chartData";
import { formatBucket, formatCompact, formatMoney, formatMoneyCompact, formatNumber } from "../../lib/format";
import { ChartTooltip } from "./ChartTooltip";

export const TREND_METRICS = [
  { id: "cost", label: "Cost" },
  { id: "requests", label: "Requests" },
  { id: "tokens", label: "Tokens" },
] as const;
export type TrendMetric = (typeof TREND_METRICS)[number]["id"];

export function isTrendMetric(value: string | null): value is TrendMetric {
  return TREND_METRICS.some((metric) => metric.id === value);
}

interface Props {
  data?: Timeseries;
  metric: TrendMetric;
  onMetric: (metric: TrendMetric) => void;
  isPending: boolean;
  isFetching: boolean;
  error: unknown;
  onRetry: () => void;
}

export function TrendChart({ data, metric, onMetric, isPending, isFetching, error, onRetry }: Props) {
  const stacked = data ? toStackedRows(data.series) : null;
  const currency = data?.currency ?? "USD";
  const timezone = data?.timezone ?? "UTC";
  const interval = data?.interval ?? "day";
  const formatValue = (value: number) =>
    metric === "cost" ? formatMoney(value, currency) : metric === "tokens" ? formatCompact(value) : formatNumber(value);
  const formatAxis = (value: number) => (metric === "cost" ? formatMoneyCompact(value, currency) : formatCompact(value));
  const metricLabel = TREND_METRICS.find((m) => m.id === metric)?.label ?? metric;

  return (
    <section className="panel" aria-labelledby="trend-title">
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="trend-title" className="panel-title">
          {metricLabel} by model
        </h2>
        {isFetching && !isPending && <span className="text-xs text-slate-500 dark:text-slate-400">updating…</span>}
        <div role="group" aria-label="Metric" className="ml-auto inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
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
        <div className="h-72 text-slate-500 dark:text-slate-400" role="img" aria-label={`${metricLabel} per ${interval}, stacked by model: ${stacked.series.map((s) => s.name).join(", ")}`}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={stacked.rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid vertical={false} stroke="currentColor" strokeOpacity={0.15} />
              <XAxis
                dataKey="start"
                tickFormatter={(value: string) => formatBucket(value, interval, timezone)}
                tick={{ fill: "currentColor", fontSize: 11 }}
                stroke="currentColor"
                strokeOpacity={0.3}
                minTickGap={16}
              />
              <YAxis tickFormatter={formatAxis} tick={{ fill: "currentColor", fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} width={64} />
              <Tooltip
                cursor={{ fill: "currentColor", fillOpacity: 0.08 }}
                content={(props) => (
                  <ChartTooltip
                    active={props.active}
                    payload={props.payload as never}
                    label={props.label as string}
                    formatValue={formatValue}
                    formatLabel={(label) => formatBucket(String(label), interval, timezone)}
                  />
                )}
              />
              {/* Bar order (largest first, Other last), not alphabetical. */}
              <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
              {stacked.series.map((series, index) => (
                <Bar key={series.id} dataKey={series.id} name={series.name} stackId="total" fill={colorFor(index, series.isOther)} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}
