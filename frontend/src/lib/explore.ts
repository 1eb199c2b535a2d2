/**
 * The explore page's state and data, pure so they are tested without a browser.
 *
 * The page owns a few URL parameters beside the shared view state of urlState.ts (range, project
 * and the header's filters): `metric`, `group_by`, `interval`, `chart`, `compare`, the filters
 * the header has not (`end_user`, `team`, `api_key`) and tag filters `tag.<key>=<value>`, named
 * as the analytics API names them, so a shared link reads like the API call it makes. Defaults
 * are left out of the URL and the order is fixed, so equal views give equal links.
 *
 * The previous period is fetched as its own series (the API's `compare` covers summaries and
 * breakdowns, not series) and drawn on the same x positions: bucket i of the previous period
 * beside bucket i of this one.
 */
import type { Breakdown, Interval, Performance, Series, Summary, Timeseries, TimeseriesMetric } from "../api/client";
import { seriesName } from "./chartData";
import { csvLine } from "./csv";
import { addDays, intervalFor, rangeDays, toApiParams, type DateRange, type ViewState } from "./urlState";

// ---- what can be chosen -------------------------------------------------------------------------

export type MetricKind = "money" | "count" | "tokens" | "rate" | "duration";

export interface MetricInfo {
  id: TimeseriesMetric;
  label: string;
  kind: MetricKind;
  /** Buckets add up to the period's figure (cost, counts); rates and percentiles do not. */
  additive: boolean;
  /** For the change column's colour: true when down is good, null when neither. */
  lowerIsBetter: boolean | null;
}

export const EXPLORE_METRICS: readonly MetricInfo[] = [
  { id: "cost", label: "Cost", kind: "money", additive: true, lowerIsBetter: true },
  { id: "requests", label: "Requests", kind: "count", additive: true, lowerIsBetter: null },
  { id: "tokens", label: "Tokens", kind: "tokens", additive: true, lowerIsBetter: null },
  { id: "input_tokens", label: "Input tokens", kind: "tokens", additive: true, lowerIsBetter: null },
  { id: "output_tokens", label: "Output tokens", kind: "tokens", additive: true, lowerIsBetter: null },
  { id: "errors", label: "Errors", kind: "count", additive: true, lowerIsBetter: true },
  { id: "error_rate", label: "Error rate", kind: "rate", additive: false, lowerIsBetter: true },
  { id: "latency_p50", label: "Latency p50", kind: "duration", additive: false, lowerIsBetter: true },
  { id: "latency_p95", label: "Latency p95", kind: "duration", additive: false, lowerIsBetter: true },
  { id: "latency_p99", label: "Latency p99", kind: "duration", additive: false, lowerIsBetter: true },
  { id: "avg_cost", label: "Avg cost / request", kind: "money", additive: false, lowerIsBetter: true },
];

export const DEFAULT_METRIC: TimeseriesMetric = "cost";

export function metricInfo(metric: TimeseriesMetric): MetricInfo {
  return EXPLORE_METRICS.find((m) => m.id === metric) ?? EXPLORE_METRICS[0]!;
}

export const INTERVALS: readonly Interval[] = ["hour", "day", "week", "month"];
export const INTERVAL_LABELS: Record<Interval, string> = { hour: "Hour", day: "Day", week: "Week", month: "Month" };

export const CHART_TYPES = ["line", "area", "bar"] as const;
export type ChartType = (typeof CHART_TYPES)[number];
export const CHART_LABELS: Record<ChartType, string> = { line: "Line", area: "Stacked area", bar: "Bars" };

/** Dimensions a series can be split by (besides `tag.<key>`), as the API names them. */
export const GROUP_DIMENSIONS = [
  "model",
  "provider",
  "feature",
  "project",
  "user",
  "end_user",
  "team",
  "api_key",
  "status",
  "error_type",
  "request_type",
] as const;
export type GroupDimension = (typeof GROUP_DIMENSIONS)[number];

export const DIMENSION_LABELS: Record<GroupDimension, string> = {
  model: "Model",
  provider: "Provider",
  feature: "Feature",
  project: "Project",
  user: "User",
  end_user: "End user",
  team: "Team",
  api_key: "API key",
  status: "Status",
  error_type: "Error type",
  request_type: "Request type",
};

/** The filters this page adds to the header's (model, provider, feature, user, status; project). */
export const EXTRA_FILTER_DIMENSIONS = ["end_user", "team", "api_key"] as const;
export type ExtraFilterDimension = (typeof EXTRA_FILTER_DIMENSIONS)[number];

export const TAG_PREFIX = "tag.";

/** Series kept by the API when grouping; the rest is one "Other" series. */
export const TOP_SERIES = 10;

export function isTagDimension(value: string): boolean {
  return value.startsWith(TAG_PREFIX) && value.length > TAG_PREFIX.length;
}

/** A dimension a series can be grouped by: a known one or `tag.<key>`. */
export function isGroupDimension(value: string | null): value is string {
  return value !== null && ((GROUP_DIMENSIONS as readonly string[]).includes(value) || isTagDimension(value));
}

export function dimensionLabel(dimension: string): string {
  if (isTagDimension(dimension)) return `Tag ${dimension.slice(TAG_PREFIX.length)}`;
  return DIMENSION_LABELS[dimension as GroupDimension] ?? dimension;
}

// ---- the state in the URL -----------------------------------------------------------------------

export interface ExploreState {
  metric: TimeseriesMetric;
  /** A dimension or `tag.<key>`; null = one series for everything. */
  groupBy: string | null;
  /** null = chosen from the range's length (hours for a day or two, days, weeks). */
  interval: Interval | null;
  chart: ChartType;
  /** Overlay the previous period of equal length. */
  compare: boolean;
  filters: Partial<Record<ExtraFilterDimension, string[]>>;
  /** Tag key → values (several values of a key mean OR; different keys AND). */
  tags: Record<string, string[]>;
}

export const DEFAULT_EXPLORE: ExploreState = {
  metric: DEFAULT_METRIC,
  groupBy: null,
  interval: null,
  chart: "line",
  compare: false,
  filters: {},
  tags: {},
};

const COMPARE_VALUE = "previous_period";
const OWNED = new Set<string>(["metric", "group_by", "interval", "chart", "compare", ...EXTRA_FILTER_DIMENSIONS]);

function isOwned(key: string): boolean {
  return OWNED.has(key) || key.startsWith(TAG_PREFIX);
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ""))].sort();
}

function includes<T extends string>(list: readonly T[], value: string | null): value is T {
  return value !== null && (list as readonly string[]).includes(value);
}

/** The explore state of a query string; anything invalid falls back to its default. */
export function parseExplore(search: string | URLSearchParams): ExploreState {
  const params = typeof search === "string" ? new URLSearchParams(search) : search;
  const metric = params.get("metric");
  const groupBy = params.get("group_by");
  const interval = params.get("interval");
  const chart = params.get("chart");
  const state: ExploreState = {
    metric: includes(EXPLORE_METRICS.map((m) => m.id), metric) ? metric : DEFAULT_METRIC,
    groupBy: isGroupDimension(groupBy) ? groupBy : null,
    interval: includes(INTERVALS, interval) ? interval : null,
    chart: includes(CHART_TYPES, chart) ? chart : DEFAULT_EXPLORE.chart,
    compare: params.get("compare") === COMPARE_VALUE,
    filters: {},
    tags: {},
  };
  for (const dim of EXTRA_FILTER_DIMENSIONS) {
    const values = uniqueSorted(params.getAll(dim));
    if (values.length > 0) state.filters[dim] = values;
  }
  for (const key of new Set(params.keys())) {
    if (!isTagDimension(key)) continue;
    const values = uniqueSorted(params.getAll(key));
    if (values.length > 0) state.tags[key.slice(TAG_PREFIX.length)] = values;
  }
  return state;
}

/**
 * The query string with this page's parameters replaced by `state` (defaults left out, fixed
 * order); the shared view state and anything else in `base` is kept as it is.
 */
export function serializeExplore(state: ExploreState, base: URLSearchParams | string = ""): URLSearchParams {
  const source = typeof base === "string" ? new URLSearchParams(base) : base;
  const params = new URLSearchParams();
  for (const [key, value] of source) if (!isOwned(key)) params.append(key, value);
  if (state.metric !== DEFAULT_METRIC) params.set("metric", state.metric);
  if (state.groupBy) params.set("group_by", state.groupBy);
  if (state.interval) params.set("interval", state.interval);
  if (state.chart !== DEFAULT_EXPLORE.chart) params.set("chart", state.chart);
  if (state.compare) params.set("compare", COMPARE_VALUE);
  for (const dim of EXTRA_FILTER_DIMENSIONS) {
    for (const value of uniqueSorted(state.filters[dim] ?? [])) params.append(dim, value);
  }
  for (const key of Object.keys(state.tags).sort()) {
    for (const value of uniqueSorted(state.tags[key] ?? [])) params.append(`${TAG_PREFIX}${key}`, value);
  }
  return params;
}

/** Toggle one value of one of this page's filters; `tag.<key>` names a tag filter. */
export function toggleExploreFilter(state: ExploreState, dimension: string, value: string): ExploreState {
  const flip = (values: string[] = []) => uniqueSorted(values.includes(value) ? values.filter((v) => v !== value) : [...values, value]);
  if (isTagDimension(dimension)) {
    const key = dimension.slice(TAG_PREFIX.length);
    const tags = { ...state.tags, [key]: flip(state.tags[key]) };
    if (tags[key]!.length === 0) delete tags[key];
    return { ...state, tags };
  }
  if (!includes(EXTRA_FILTER_DIMENSIONS, dimension)) return state;
  const filters = { ...state.filters, [dimension]: flip(state.filters[dimension]) };
  if (filters[dimension]!.length === 0) delete filters[dimension];
  return { ...state, filters };
}

export function exploreFilterCount(state: ExploreState): number {
  const extra = EXTRA_FILTER_DIMENSIONS.reduce((n, dim) => n + (state.filters[dim]?.length ?? 0), 0);
  return extra + Object.values(state.tags).reduce((n, values) => n + values.length, 0);
}

// ---- API parameters -----------------------------------------------------------------------------

/** The period of equal length that ends where `range` starts (as the API's `previous_period`). */
export function previousRange(range: DateRange): DateRange {
  const days = rangeDays(range);
  return { from: addDays(range.from, -days), to: addDays(range.from, -1) };
}

export function effectiveInterval(state: Pick<ExploreState, "interval">, range: DateRange): Interval {
  return state.interval ?? intervalFor(range);
}

/** The filters of both the header and this page, over `range` (the view's by default). */
export function exploreFilterParams(view: ViewState, today: string, state: ExploreState, range?: DateRange): URLSearchParams {
  const params = toApiParams(view, today);
  if (range) {
    params.set("from", range.from);
    params.set("to", range.to);
  }
  for (const dim of EXTRA_FILTER_DIMENSIONS) {
    for (const value of uniqueSorted(state.filters[dim] ?? [])) params.append(dim, value);
  }
  for (const key of Object.keys(state.tags).sort()) {
    for (const value of uniqueSorted(state.tags[key] ?? [])) params.append(`${TAG_PREFIX}${key}`, value);
  }
  return params;
}

/** `/usage/timeseries` parameters of the view (or of another range: the previous period). */
export function timeseriesParams(view: ViewState, today: string, state: ExploreState, range: DateRange, interval: Interval): URLSearchParams {
  const params = exploreFilterParams(view, today, state, range);
  params.set("metric", state.metric);
  params.set("interval", interval);
  if (state.groupBy) {
    params.set("group_by", state.groupBy);
    params.set("top", String(TOP_SERIES));
  }
  return params;
}

// ---- the chart ----------------------------------------------------------------------------------

export interface ChartSeries {
  /** Data key of this period's values in each row. */
  id: string;
  /** Data key of the previous period's values, aligned on the same rows. */
  previousId: string;
  key: string | null;
  name: string;
  isOther: boolean;
}

export type ChartRow = Record<string, number | string | null>;

export interface ExploreChart {
  series: ChartSeries[];
  /** One row per bucket of this period: `start`, one column per series, `previousStart` when compared. */
  rows: ChartRow[];
  hasPrevious: boolean;
  /** Additive metrics stack (area, bars) and their previous period is drawn as one total line. */
  stackable: boolean;
}

/** Key of the previous period's total per bucket (drawn over stacked charts). */
export const PREVIOUS_TOTAL = "previousTotal";

function seriesIdentity(series: Pick<Series, "key" | "is_other">): string {
  return series.is_other ? "\u0000other" : series.key === null ? "\u0000none" : `=${series.key}`;
}

function seriesSum(series: Series): number {
  return series.points.reduce((sum, point) => sum + (point.value ?? 0), 0);
}

/** Series in drawing order: the largest first (for rates: as the API ranked them), "Other" last. */
function ordered(series: Series[], additive: boolean): Series[] {
  const kept = series.filter((s) => s.points.some((p) => p.value !== null && p.value !== 0));
  const ranked = kept.map((s, index) => ({ s, index, total: additive ? seriesSum(s) : -index }));
  ranked.sort((a, b) => Number(a.s.is_other ?? false) - Number(b.s.is_other ?? false) || b.total - a.total || a.index - b.index);
  return ranked.map(({ s }) => s);
}

export function toExploreChart(current: Timeseries, previous: Timeseries | undefined, metric: TimeseriesMetric): ExploreChart {
  const additive = metricInfo(metric).additive;
  const kept = ordered(current.series, additive);
  const previousBySeries = new Map((previous?.series ?? []).map((s) => [seriesIdentity(s), s]));
  const series: ChartSeries[] = kept.map((s, index) => ({
    id: `s${index}`,
    previousId: `p${index}`,
    key: s.key,
    name: ungroupedName(current, s),
    isOther: s.is_other ?? false,
  }));
  const starts = kept[0]?.points.map((p) => p.start) ?? current.series[0]?.points.map((p) => p.start) ?? [];
  const previousStarts = previous?.series[0]?.points.map((p) => p.start) ?? [];
  const rows: ChartRow[] = starts.map((start, bucket) => {
    const row: ChartRow = { start };
    kept.forEach((s, index) => {
      const value = s.points[bucket]?.value ?? null;
      row[`s${index}`] = additive ? (value ?? 0) : value;
      if (previous) {
        const match = previousBySeries.get(seriesIdentity(s));
        row[`p${index}`] = match?.points[bucket]?.value ?? null;
      }
    });
    if (previous) {
      row.previousStart = previousStarts[bucket] ?? null;
      if (additive) {
        const values = previous.series.map((s) => s.points[bucket]?.value ?? null);
        row[PREVIOUS_TOTAL] = values.every((v) => v === null) ? null : values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
      }
    }
    return row;
  });
  return { series, rows, hasPrevious: previous !== undefined, stackable: additive };
}

/**
 * Rows of another chart (one per bucket, in order) with the previous period's total per bucket
 * added on the same positions, as `previousTotal` (and `previousStart`): the overview's overlay.
 */
export function withPreviousTotal<Row extends Record<string, unknown>>(rows: Row[], previous: Timeseries | undefined): Row[] {
  if (!previous) return rows;
  const starts = previous.series[0]?.points.map((p) => p.start) ?? [];
  return rows.map((row, bucket) => {
    const values = previous.series.map((s) => s.points[bucket]?.value ?? null);
    const total = values.every((v) => v === null) ? null : values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
    return { ...row, [PREVIOUS_TOTAL]: total, previousStart: starts[bucket] ?? null };
  });
}

function ungroupedName(data: Timeseries, series: Series): string {
  return data.group_by ? seriesName(series) : "Total";
}

// ---- the totals table ---------------------------------------------------------------------------

export interface TotalRow {
  /** The chart's series id (for its colour), or "all" for the total of every series. */
  id: string;
  name: string;
  key: string | null;
  isOther: boolean;
  value: number | null;
  previous: number | null;
  /** Relative change from the previous period (0.25 = +25 %); null without a baseline. */
  change: number | null;
  /** Part of the whole (additive metrics only). */
  share: number | null;
}

/** The whole period's figure of each series, for metrics that do not add up (from another endpoint). */
export interface PeriodValues {
  /** By series key (`null` key as the empty string's stand-in, see `periodKey`). */
  byKey: Map<string, number | null>;
  /** The figure over everything. */
  all: number | null;
}

export function periodKey(key: string | null): string {
  return key === null ? "\u0000none" : key;
}

function change(value: number | null, previous: number | null): number | null {
  if (value === null || previous === null || previous === 0) return null;
  return (value - previous) / previous;
}

/**
 * One row per drawn series and one for everything. Additive metrics are the sums of their
 * buckets (the previous period's: of all its buckets, matched by series key); for the others
 * the figure comes from `periodValues` (a percentile of a period is not a sum of its days').
 */
export function seriesTotals(
  chart: ExploreChart,
  current: Timeseries,
  previous: Timeseries | undefined,
  metric: TimeseriesMetric,
  periodValues?: { current?: PeriodValues; previous?: PeriodValues },
): TotalRow[] {
  const additive = metricInfo(metric).additive;
  const byIdentity = new Map(current.series.map((s) => [seriesIdentity(s), s]));
  const previousByIdentity = new Map((previous?.series ?? []).map((s) => [seriesIdentity(s), s]));
  const identityOf = (row: ChartSeries) => seriesIdentity({ key: row.key, is_other: row.isOther });
  const grand = additive ? current.series.reduce((sum, s) => sum + seriesSum(s), 0) : (periodValues?.current?.all ?? null);
  const previousGrand = !previous
    ? null
    : additive
      ? previous.series.reduce((sum, s) => sum + seriesSum(s), 0)
      : (periodValues?.previous?.all ?? null);
  const lookup = (values: PeriodValues | undefined, row: ChartSeries) =>
    row.isOther || !values ? null : (values.byKey.get(periodKey(row.key)) ?? null);
  const rows: TotalRow[] = chart.series.map((row) => {
    const mine = byIdentity.get(identityOf(row));
    const theirs = previousByIdentity.get(identityOf(row));
    let value: number | null;
    let before: number | null = null;
    if (!current.group_by) {
      value = grand;
      before = previousGrand;
    } else if (additive) {
      value = mine ? seriesSum(mine) : 0;
      if (previous) before = theirs ? seriesSum(theirs) : 0;
    } else {
      value = lookup(periodValues?.current, row);
      if (previous) before = lookup(periodValues?.previous, row);
    }
    return {
      id: row.id,
      name: row.name,
      key: row.key,
      isOther: row.isOther,
      value,
      previous: before,
      change: change(value, before),
      share: additive && grand ? (value ?? 0) / grand : null,
    };
  });
  if (current.group_by) {
    rows.push({
      id: "all",
      name: "All",
      key: null,
      isOther: false,
      value: grand,
      previous: previousGrand,
      change: change(grand, previousGrand),
      share: additive && grand ? 1 : null,
    });
  }
  return rows;
}

/**
 * Figures per key from `/usage/breakdown` (error rate, average cost); `previous` reads the
 * figures of the period before, which the breakdown carries with `compare=previous_period`.
 */
export function valuesFromBreakdown(data: Breakdown, metric: TimeseriesMetric, previous = false): Map<string, number | null> {
  const values = new Map<string, number | null>();
  for (const row of data.rows) {
    const figures = previous ? row.previous : row;
    let value: number | null = null;
    if (figures && metric === "error_rate") value = figures.error_rate;
    else if (figures && metric === "avg_cost") value = figures.requests ? figures.cost / figures.requests : null;
    values.set(periodKey(row.key), value);
  }
  return values;
}

const LATENCY_FIELDS = { latency_p50: "latency_p50_ms", latency_p95: "latency_p95_ms", latency_p99: "latency_p99_ms" } as const;

/** Latency percentiles per key from `/usage/performance`. */
export function valuesFromPerformance(data: Performance, metric: TimeseriesMetric): Map<string, number | null> {
  const values = new Map<string, number | null>();
  const field = LATENCY_FIELDS[metric as keyof typeof LATENCY_FIELDS];
  for (const row of data.rows) values.set(periodKey(row.key), field ? row[field] : null);
  return values;
}

/**
 * The figure over everything from `/usage/summary` (`previous`: of the period before, with
 * `compare=previous_period`); null where the summary has none (p50, p99).
 */
export function valueFromSummary(data: Summary | undefined, metric: TimeseriesMetric, previous = false): number | null {
  const figures = previous ? data?.previous : data;
  if (!figures) return null;
  if (metric === "error_rate") return figures.error_rate;
  if (metric === "avg_cost") return figures.avg_cost;
  if (metric === "latency_p95") return figures.latency_p95_ms;
  return null;
}

/** Which endpoint gives a non-additive metric's figure per group. */
export function periodValueSource(metric: TimeseriesMetric): "breakdown" | "performance" | null {
  if (metric === "error_rate" || metric === "avg_cost") return "breakdown";
  if (metric in LATENCY_FIELDS) return "performance";
  return null;
}

// ---- CSV ----------------------------------------------------------------------------------------

/** The totals table as CSV: raw numbers (money in the display currency), no formatting. */
export function totalsCsv(rows: TotalRow[], metric: TimeseriesMetric, compare: boolean, currency: string): string {
  const info = metricInfo(metric);
  const unit = info.kind === "money" ? ` (${currency})` : info.kind === "duration" ? " (ms)" : "";
  const header = ["series", `${info.label}${unit}`];
  if (compare) header.push("previous period", "change");
  if (info.additive) header.push("share");
  const lines = [csvLine(header)];
  for (const row of rows) {
    const cells: unknown[] = [row.name, row.value];
    if (compare) cells.push(row.previous, row.change);
    if (info.additive) cells.push(row.share);
    lines.push(csvLine(cells));
  }
  return lines.join("");
}

/** Every point of the chart as CSV: one line per bucket, one column per series (and previous). */
export function pointsCsv(chart: ExploreChart): string {
  const header = ["bucket_start", ...chart.series.map((s) => s.name)];
  if (chart.hasPrevious) header.push("previous_bucket_start", ...chart.series.map((s) => `${s.name} (previous period)`));
  const lines = [csvLine(header)];
  for (const row of chart.rows) {
    const cells: unknown[] = [row.start, ...chart.series.map((s) => row[s.id])];
    if (chart.hasPrevious) cells.push(row.previousStart, ...chart.series.map((s) => row[s.previousId]));
    lines.push(csvLine(cells));
  }
  return lines.join("");
}
