/** Cumulative spend in the budget's period against its limit, and the forecast to the period's end. */
import { useMemo } from "react";
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, type BudgetPublic, type BudgetStatus } from "../../api/client";
import { useAnalytics } from "../../api/queries";
import { EmptyState, ErrorState, Skeleton } from "../../components/States";
import { spendChartData, spendChartQuery } from "../../lib/budgets";
import { formatMoney, formatMoneyCompact } from "../../lib/format";
import { ChartTooltip } from "../overview/ChartTooltip";

const SPENT_COLOR = "#6366f1";
const FORECAST_COLOR = "#f59e0b";
const LIMIT_COLOR = "#e11d48";

function useNow(): number {
  // One instant per mount: the chart's "now" must not move between renders.
  return useMemo(() => Date.now(), []);
}

export function SpendChart({ budget, status, timezone }: { budget: BudgetPublic; status: BudgetStatus; timezone: string }) {
  const now = useNow();
  const params = useMemo(() => spendChartQuery(budget, status, now) ?? new URLSearchParams(), [budget, status, now]);
  const series = useAnalytics("timeseries", params, api.timeseries);
  const from = Date.parse(params.get("from") ?? "") || now;
  const chart = useMemo(
    () => (series.data ? spendChartData(series.data.series[0]?.points ?? [], status, now, from) : null),
    [series.data, status, now, from],
  );
  const currency = status.currency;
  const hourly = budget.period === "day";
  const tick = (t: number) =>
    new Intl.DateTimeFormat(undefined, hourly ? { timeZone: timezone, hour: "2-digit", minute: "2-digit" } : { timeZone: timezone, month: "short", day: "numeric" }).format(t);
  const label = (t: unknown) =>
    new Intl.DateTimeFormat(undefined, { timeZone: timezone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(Number(t));

  const description = `Cumulative spend ${formatMoney(status.spent, currency)} against a limit of ${formatMoney(status.limit, currency)}${
    status.forecast_period_spend !== null ? `; forecast ${formatMoney(status.forecast_period_spend, currency)} by the period's end` : ""
  }.`;
  return (
    <section className="panel" aria-labelledby="spend-chart-title">
      <div className="mb-3">
        <h2 id="spend-chart-title" className="panel-title">
          Spend in this period
        </h2>
        <p className="text-xs text-slate-500 dark:text-slate-400">
          {budget.period === "total" && !status.period_end ? "Last 90 days of a budget that never resets. " : ""}
          Cumulative, with the limit and a forecast at the current pace.
        </p>
      </div>
      {!status.period_start ? (
        <EmptyState title="This budget's first period has not started">It starts on {budget.starts_on}.</EmptyState>
      ) : series.isError && !series.data ? (
        <ErrorState error={series.error} onRetry={() => series.refetch()} />
      ) : !chart ? (
        <Skeleton className="h-64 w-full" />
      ) : (
        <div className="h-64 text-slate-500 dark:text-slate-400" role="img" aria-label={description}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={chart.rows} margin={{ top: 12, right: 12, bottom: 0, left: 0 }}>
              <CartesianGrid vertical={false} stroke="currentColor" strokeOpacity={0.15} />
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={chart.domain}
                tickFormatter={tick}
                tick={{ fill: "currentColor", fontSize: 11 }}
                stroke="currentColor"
                strokeOpacity={0.3}
                minTickGap={24}
              />
              <YAxis
                domain={[0, chart.yMax]}
                tickFormatter={(v: number) => formatMoneyCompact(v, currency)}
                tick={{ fill: "currentColor", fontSize: 11 }}
                stroke="currentColor"
                strokeOpacity={0.3}
                width={72}
              />
              <Tooltip
                content={(props) => (
                  <ChartTooltip
                    active={props.active}
                    payload={props.payload as never}
                    label={props.label as string}
                    formatValue={(v) => formatMoney(v, currency)}
                    formatLabel={label}
                    showTotal={false}
                  />
                )}
              />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <ReferenceLine
                y={status.limit}
                stroke={LIMIT_COLOR}
                strokeDasharray="6 4"
                ifOverflow="extendDomain"
                label={{ value: `Limit ${formatMoneyCompact(status.limit, currency)}`, position: "insideTopLeft", fill: "currentColor", fontSize: 11 }}
              />
              <Line type="linear" dataKey="spent" name="Spent" stroke={SPENT_COLOR} strokeWidth={2} dot={false} connectNulls isAnimationActive={false} />
              <Line
                type="linear"
                dataKey="forecast"
                name="Forecast"
                stroke={FORECAST_COLOR}
                strokeWidth={2}
                strokeDasharray="5 4"
                dot={false}
                connectNulls
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}
