/** The overview: headline figures, the trend by model, and where the money goes. */
import { useCallback, useMemo } from "react";
import { api } from "../api/client";
import { useAnalytics } from "../api/queries";
import { FilterBar } from "../components/FilterBar";
import { NoCallsPanel } from "../components/States";
import { previousRange } from "../lib/explore";
import { useSession } from "../lib/session";
import { useViewState } from "../lib/useViewState";
import { intervalFor, RANGE_LABELS, resolveRange, toApiParams } from "../lib/urlState";
import { CostBars, ModelDonut, type BreakdownQuery } from "./overview/BreakdownPanels";
import { BudgetsPanel } from "./overview/BudgetsPanel";
import { SummaryCards } from "./overview/SummaryCards";
import { TrendChart } from "./overview/TrendChart";
import { isTrendMetric, type TrendMetric } from "./overview/trendMetrics";
import { UnpricedBanner } from "./overview/UnpricedBanner";

function withParams(base: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

/**
 * One breakdown panel's query, as an object that changes only when what the panel shows does: the
 * panels are memoised, so an answer arriving redraws its own panel, not all of them.
 */
function useBreakdown(base: URLSearchParams, by: string, limit: number): BreakdownQuery {
  const query = useAnalytics("breakdown", withParams(base, { by, sort: "cost", limit: String(limit) }), api.breakdown);
  const { data, error, isPlaceholderData, refetch } = query;
  return useMemo(() => ({ data, error, isPlaceholderData, refetch }), [data, error, isPlaceholderData, refetch]);
}

export default function OverviewPage() {
  const { state, today, params, setExtra } = useViewState();
  const { organization } = useSession();
  const metricParam = params.get("metric");
  const metric: TrendMetric = isTrendMetric(metricParam) ? metricParam : "cost";
  const range = resolveRange(state, today);
  const base = toApiParams(state, today);
  const compare = params.get("compare") === "previous_period";
  const before = previousRange(range);

  const summary = useAnalytics("summary", withParams(base, { compare: "previous_period" }), api.summary);
  const trend = useAnalytics(
    "timeseries",
    withParams(base, { metric, interval: intervalFor(range), group_by: "model", top: "8" }),
    api.timeseries,
  );
  // The previous period's total per bucket, for the trend's dashed overlay (same bucket size).
  const previousTrend = useAnalytics(
    "timeseries",
    withParams(base, { from: before.from, to: before.to, metric, interval: intervalFor(range) }),
    api.timeseries,
    { enabled: compare },
  );
  const trendReady =
    trend.data !== undefined && !trend.isPlaceholderData && (!compare || (previousTrend.data !== undefined && !previousTrend.isPlaceholderData));
  const byModel = useBreakdown(base, "model", 8);
  const byProvider = useBreakdown(base, "provider", 10);
  const byFeature = useBreakdown(base, "feature", 10);
  const byProject = useBreakdown(base, "project", 10);

  const onMetric = useCallback((next: TrendMetric) => setExtra({ metric: next === "cost" ? undefined : next }), [setExtra]);
  const onCompare = useCallback((next: boolean) => setExtra({ compare: next ? "previous_period" : undefined }), [setExtra]);

  const empty = summary.data && summary.data.requests === 0;
  const rangeText = state.range === "custom" ? `${range.from} – ${range.to}` : RANGE_LABELS[state.range];

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Overview</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {rangeText}
            {state.project ? ` · ${state.project}` : " · all projects"} · {organization.timezone} · {summary.data?.currency ?? organization.currency}
          </p>
        </div>
        <FilterBar />
      </div>
      <UnpricedBanner />
      <SummaryCards
        summary={summary.data}
        isPending={summary.isPending}
        ready={summary.data !== undefined && !summary.isPlaceholderData}
        error={summary.error}
        onRetry={summary.refetch}
      />
      <BudgetsPanel timezone={organization.timezone} />
      {empty ? (
        <NoCallsPanel>
          Pick a longer range or clear the filters. To send usage, wrap your client with the SDK or point it at the gateway (see the docs).
        </NoCallsPanel>
      ) : (
        <>
          <TrendChart
            data={trend.data}
            metric={metric}
            onMetric={onMetric}
            compare={compare}
            onCompare={onCompare}
            previous={previousTrend.isPlaceholderData === trend.isPlaceholderData ? previousTrend.data : undefined}
            ready={trendReady}
            isPending={trend.isPending}
            isFetching={trend.isFetching}
            error={trend.error}
            onRetry={trend.refetch}
          />
          <div className="grid gap-4 lg:grid-cols-2">
            <ModelDonut query={byModel} />
            <CostBars title="Cost by provider" query={byProvider} />
            <CostBars title="Cost by feature" query={byFeature} />
            <CostBars title="Cost by project" query={byProject} />
          </div>
        </>
      )}
    </div>
  );
}
