/**
 * The whole period's figure of each series for metrics whose buckets do not add up (error rate,
 * average cost, latency percentiles): asked of the breakdown or performance endpoints, and of the
 * summary for everything together. Nothing is asked for additive metrics: their buckets add up.
 */
import { api, type TimeseriesMetric } from "../../api/client";
import { useAnalytics } from "../../api/queries";
import {
  metricInfo,
  periodValueSource,
  valueFromSummary,
  valuesFromBreakdown,
  valuesFromPerformance,
  type PeriodValues,
} from "../../lib/explore";

const MOST_GROUPS = "1000";

function withParams(base: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

export function usePeriodValues(
  metric: TimeseriesMetric,
  groupBy: string | null,
  filters: URLSearchParams,
  previousFilters: URLSearchParams,
  compare: boolean,
) {
  const needed = !metricInfo(metric).additive;
  const source = needed && groupBy ? periodValueSource(metric) : null;
  const comparing: Record<string, string> = compare ? { compare: "previous_period" } : {};

  const summary = useAnalytics("summary", withParams(filters, comparing), api.summary, { enabled: needed });
  const breakdown = useAnalytics(
    "breakdown",
    withParams(filters, { by: groupBy ?? "model", sort: "requests", limit: MOST_GROUPS, ...comparing }),
    api.breakdown,
    { enabled: source === "breakdown" },
  );
  const performance = useAnalytics("performance", withParams(filters, { by: groupBy ?? "model", limit: MOST_GROUPS }), api.performance, {
    enabled: source === "performance",
  });
  const previousPerformance = useAnalytics(
    "performance",
    withParams(previousFilters, { by: groupBy ?? "model", limit: MOST_GROUPS }),
    api.performance,
    { enabled: source === "performance" && compare },
  );

  if (!needed) return { values: undefined, ready: true };
  const settled = (query: { data?: unknown; isPlaceholderData: boolean }, enabled: boolean) =>
    !enabled || (query.data !== undefined && !query.isPlaceholderData);
  const ready =
    settled(summary, true) &&
    settled(breakdown, source === "breakdown") &&
    settled(performance, source === "performance") &&
    settled(previousPerformance, source === "performance" && compare);

  const byKey = (previous: boolean): Map<string, number | null> => {
    if (source === "breakdown" && breakdown.data) return valuesFromBreakdown(breakdown.data, metric, previous);
    const data = previous ? previousPerformance.data : performance.data;
    if (source === "performance" && data) return valuesFromPerformance(data, metric);
    return new Map();
  };
  const values: { current: PeriodValues; previous?: PeriodValues } = {
    current: { byKey: byKey(false), all: valueFromSummary(summary.data, metric) },
  };
  if (compare) values.previous = { byKey: byKey(true), all: valueFromSummary(summary.data, metric, true) };
  return { values, ready };
}
