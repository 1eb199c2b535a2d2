/**
 * Explore: any metric over time, split by any dimension or tag, filtered on anything, optionally
 * against the previous period. The whole view lives in the URL (lib/explore.ts), so a link to it
 * shows the same chart to whoever opens it.
 */
import { useMemo } from "react";
import { api } from "../api/client";
import { useAnalytics } from "../api/queries";
import { EmptyState, ErrorState, Skeleton } from "../components/States";
import {
  dimensionLabel,
  effectiveInterval,
  exploreFilterParams,
  INTERVAL_LABELS,
  metricInfo,
  previousRange,
  seriesTotals,
  timeseriesParams,
  toExploreChart,
  type MetricInfo,
} from "../lib/explore";
import { formatCompact, formatDuration, formatMoney, formatMoneyCompact, formatNumber, formatPercent } from "../lib/format";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { RANGE_LABELS, resolveRange } from "../lib/urlState";
import { ExploreChart } from "./explore/ExploreChart";
import { ExploreControls } from "./explore/ExploreControls";
import { ExploreFilters } from "./explore/ExploreFilters";
import { TotalsTable } from "./explore/TotalsTable";
import { useExplore } from "./explore/useExplore";
import { usePeriodValues } from "./explore/usePeriodValues";

interface Formatters {
  /** Exact, for the table and the tooltip. */
  value: (value: number | null) => string;
  /** Short, for the axis. */
  axis: (value: number) => string;
}

function formattersFor(metric: MetricInfo, currency: string): Formatters {
  switch (metric.kind) {
    case "money":
      return { value: (v) => formatMoney(v, currency), axis: (v) => formatMoneyCompact(v, currency) };
    case "rate":
      return { value: (v) => formatPercent(v, undefined, 2), axis: (v) => formatPercent(v, undefined, 0) };
    case "duration":
      return { value: (v) => formatDuration(v), axis: (v) => formatDuration(v) };
    case "tokens":
      return { value: (v) => formatNumber(v), axis: (v) => formatCompact(v) };
    case "count":
    default:
      return { value: (v) => formatNumber(v), axis: (v) => formatCompact(v) };
  }
}

export default function ExplorePage() {
  const { state: view, today } = useViewState();
  const { explore, updateExplore, updateView, updateBoth } = useExplore();
  const { organization } = useSession();
  const range = resolveRange(view, today);
  const before = previousRange(range);
  const interval = effectiveInterval(explore, range);
  const info = metricInfo(explore.metric);

  const current = useAnalytics("timeseries", timeseriesParams(view, today, explore, range, interval), api.timeseries);
  const previous = useAnalytics("timeseries", timeseriesParams(view, today, explore, before, interval), api.timeseries, {
    enabled: explore.compare,
  });
  const period = usePeriodValues(
    explore.metric,
    explore.groupBy,
    exploreFilterParams(view, today, explore),
    exploreFilterParams(view, today, explore, before),
    explore.compare,
  );

  // The previous period only overlays the answer it belongs with (both fresh, or both stale).
  const previousData =
    explore.compare && previous.data && previous.isPlaceholderData === current.isPlaceholderData ? previous.data : undefined;
  const chart = useMemo(
    () => (current.data ? toExploreChart(current.data, previousData, explore.metric) : undefined),
    [current.data, previousData, explore.metric],
  );
  const totals =
    chart && current.data ? seriesTotals(chart, current.data, previousData, explore.metric, period.values) : undefined;

  const currency = current.data?.currency ?? organization.currency;
  const format = formattersFor(info, currency);
  const ready =
    current.data !== undefined &&
    !current.isPlaceholderData &&
    (!explore.compare || (previous.data !== undefined && !previous.isPlaceholderData)) &&
    period.ready;
  const updating = (current.isFetching || (explore.compare && previous.isFetching)) && current.data !== undefined;
  const rangeText = view.range === "custom" ? `${range.from} – ${range.to}` : RANGE_LABELS[view.range];
  const grouping = explore.groupBy ? `by ${dimensionLabel(explore.groupBy).toLowerCase()}` : "in total";
  const missingHint =
    !info.additive && totals?.some((row) => row.value === null)
      ? explore.groupBy
        ? "“Other” gathers several groups, so it has no single rate or percentile."
        : "The API gives this percentile per group only: pick a group-by to see it over the whole period."
      : undefined;

  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-xl font-semibold">Explore</h1>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {rangeText}
          {view.project ? ` · ${view.project}` : " · all projects"} · {organization.timezone} · {currency}
        </p>
      </div>

      <section className="panel" aria-label="Chart settings">
        <ExploreControls
          explore={explore}
          onChange={(change) => updateExplore((current) => ({ ...current, ...change }))}
          autoInterval={effectiveInterval({ interval: null }, range)}
        />
      </section>

      <ExploreFilters
        view={view}
        today={today}
        explore={explore}
        updateView={updateView}
        updateExplore={updateExplore}
        clearAll={() =>
          updateBoth(
            (current) => ({ ...current, filters: {} }),
            (current) => ({ ...current, filters: {}, tags: {} }),
          )
        }
      />

      <section className="panel min-w-0" aria-labelledby="explore-chart-title" data-ready={ready ? "true" : "false"} aria-busy={!ready}>
        <div className="mb-3 flex flex-wrap items-baseline gap-2">
          <h2 id="explore-chart-title" className="panel-title">
            {info.label} per {INTERVAL_LABELS[interval].toLowerCase()}, {grouping}
            {explore.compare ? ", with the previous period dashed" : ""}
          </h2>
          {updating && (
            <span role="status" className="text-xs text-slate-600 dark:text-slate-400">
              updating…
            </span>
          )}
        </div>
        {current.error && !current.data ? (
          <ErrorState error={current.error} onRetry={() => current.refetch()} />
        ) : !chart ? (
          <Skeleton className="h-80 w-full" />
        ) : chart.series.length === 0 ? (
          <EmptyState title="Nothing in this period">Pick a longer range, another metric or fewer filters.</EmptyState>
        ) : (
          <div className={current.isPlaceholderData ? "opacity-60" : undefined}>
            <ExploreChart
              chart={chart}
              type={explore.chart}
              interval={current.data?.interval ?? interval}
              timezone={current.data?.timezone ?? organization.timezone}
              formatValue={(v) => format.value(v)}
              formatAxis={format.axis}
              label={`${info.label} per ${interval} ${grouping}: ${chart.series.map((s) => s.name).join(", ")}. The table below lists the figures.`}
            />
          </div>
        )}
        {explore.compare && previous.error && !previous.data && <ErrorState error={previous.error} onRetry={() => previous.refetch()} compact />}
      </section>

      {chart && totals && chart.series.length > 0 && (
        <TotalsTable
          rows={totals}
          chart={chart}
          metric={info}
          compare={explore.compare && previousData !== undefined}
          currency={currency}
          format={format.value}
          missingHint={missingHint}
          fileStem={`${range.from}-${range.to}`}
        />
      )}
    </div>
  );
}
