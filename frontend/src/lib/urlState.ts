/**
 * The view state lives in the URL query string, so any view can be shared or reloaded as it is.
 *
 * Everything here is pure: parse a query string into a `ViewState`, write one back (canonical
 * order, defaults left out), resolve a date-range preset against "today" in the organisation's
 * time zone, and turn a state into the analytics API's query parameters. Dates are calendar dates
 * (`YYYY-MM-DD`) in the organisation's time zone; `to` is inclusive, as the API reads a date.
 */

export const RANGE_PRESETS = ["today", "7d", "30d", "this_month", "last_month", "custom"] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export const RANGE_LABELS: Record<RangePreset, string> = {
  today: "Today",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  this_month: "This month",
  last_month: "Last month",
  custom: "Custom",
};

/** Dimensions the header and the logs page filter on; each may hold several values (OR). */
export const FILTER_DIMENSIONS = ["model", "provider", "feature", "user", "status"] as const;
export type FilterDimension = (typeof FILTER_DIMENSIONS)[number];
export type Filters = Partial<Record<FilterDimension, string[]>>;

export const DEFAULT_RANGE: RangePreset = "30d";

export interface ViewState {
  range: RangePreset;
  /** Only with range = custom: first day, inclusive. */
  from?: string;
  /** Only with range = custom: last day, inclusive. */
  to?: string;
  /** Project name or id; absent = every project. */
  project?: string;
  filters: Filters;
}

export interface DateRange {
  from: string;
  to: string;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(value: string | null | undefined): value is string {
  if (!value || !DATE_RE.test(value)) return false;
  const [y, m, d] = value.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function isPreset(value: string | null): value is RangePreset {
  return value !== null && (RANGE_PRESETS as readonly string[]).includes(value);
}

/** Read the view state from a query string; anything invalid falls back to the default. */
export function parseViewState(search: string | URLSearchParams): ViewState {
  const params = typeof search === "string" ? new URLSearchParams(search) : search;
  const rangeParam = params.get("range");
  const from = params.get("from");
  const to = params.get("to");
  let range: RangePreset = isPreset(rangeParam) ? rangeParam : DEFAULT_RANGE;
  // A shared link with explicit dates is a custom range even without `range=custom`.
  if (rangeParam === null && isIsoDate(from) && isIsoDate(to)) range = "custom";

  const state: ViewState = { range, filters: {} };
  if (range === "custom") {
    if (isIsoDate(from) && isIsoDate(to)) {
      [state.from, state.to] = from <= to ? [from, to] : [to, from];
    } else {
      state.range = DEFAULT_RANGE;
    }
  }
  const project = params.get("project");
  if (project) state.project = project;
  for (const dim of FILTER_DIMENSIONS) {
    let values = uniqueSorted(params.getAll(dim).filter((v) => v !== ""));
    // The API refuses any other status (422): drop it instead of breaking every panel.
    if (dim === "status") values = values.filter((v) => v === "ok" || v === "error");
    if (values.length > 0) state.filters[dim] = values;
  }
  return state;
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * Write a view state as query parameters, in a fixed order with defaults left out, so equal
 * states give equal URLs. `extra` keeps parameters owned by a page (e.g. `metric`, `sort`).
 */
export function serializeViewState(state: ViewState, extra?: URLSearchParams): string {
  const params = new URLSearchParams();
  if (state.range === "custom" && state.from && state.to) {
    params.set("range", "custom");
    params.set("from", state.from);
    params.set("to", state.to);
  } else if (state.range !== DEFAULT_RANGE && state.range !== "custom") {
    params.set("range", state.range);
  }
  if (state.project) params.set("project", state.project);
  for (const dim of FILTER_DIMENSIONS) {
    for (const value of uniqueSorted(state.filters[dim] ?? [])) params.append(dim, value);
  }
  if (extra) {
    const owned = new Set<string>(["range", "from", "to", "project", ...FILTER_DIMENSIONS]);
    for (const [key, value] of extra) if (!owned.has(key)) params.append(key, value);
  }
  return params.toString();
}

/** Today's date (`YYYY-MM-DD`) in a time zone. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Add days to a `YYYY-MM-DD` date (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function monthStart(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

/** The inclusive date range a state covers, given today's date in the organisation's zone. */
export function resolveRange(state: Pick<ViewState, "range" | "from" | "to">, today: string): DateRange {
  switch (state.range) {
    case "today":
      return { from: today, to: today };
    case "7d":
      return { from: addDays(today, -6), to: today };
    case "this_month":
      return { from: monthStart(today), to: today };
    case "last_month": {
      const lastDay = addDays(monthStart(today), -1);
      return { from: monthStart(lastDay), to: lastDay };
    }
    case "custom":
      if (state.from && state.to) return { from: state.from, to: state.to };
      return { from: addDays(today, -29), to: today };
    case "30d":
    default:
      return { from: addDays(today, -29), to: today };
  }
}

/** Number of days in an inclusive range. */
export function rangeDays(range: DateRange): number {
  const ms = Date.parse(`${range.to}T00:00:00Z`) - Date.parse(`${range.from}T00:00:00Z`);
  return Math.round(ms / 86_400_000) + 1;
}

/** The analytics/events API's query parameters for a state (dates inclusive, as the API reads them). */
export function toApiParams(state: ViewState, today: string): URLSearchParams {
  const range = resolveRange(state, today);
  const params = new URLSearchParams();
  params.set("from", range.from);
  params.set("to", range.to);
  if (state.project) params.set("project", state.project);
  for (const dim of FILTER_DIMENSIONS) {
    for (const value of uniqueSorted(state.filters[dim] ?? [])) params.append(dim, value);
  }
  return params;
}

/** Offset of a time zone from UTC at an instant, in milliseconds (e.g. +3_600_000 for CET). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant (ISO 8601) at which a calendar day starts in a time zone. */
export function startOfDayInZone(date: string, timeZone: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // Two passes settle the offset also when the day starts next to a daylight-saving change.
  let instant = wall - zoneOffsetMs(wall, timeZone);
  instant = wall - zoneOffsetMs(instant, timeZone);
  return new Date(instant).toISOString().replace(".000Z", "Z");
}

/**
 * The events list takes instants (`to` exclusive), unlike the analytics endpoints which read a
 * date as a whole local day; so the range is sent as the local midnights that bound it.
 */
export function toEventsApiParams(state: ViewState, today: string, timeZone: string): URLSearchParams {
  const params = toApiParams(state, today);
  const range = resolveRange(state, today);
  params.set("from", startOfDayInZone(range.from, timeZone));
  params.set("to", startOfDayInZone(addDays(range.to, 1), timeZone));
  return params;
}

/** Set, add or remove the values of one filter; an empty list removes the filter. */
export function withFilter(state: ViewState, dim: FilterDimension, values: string[]): ViewState {
  const filters: Filters = { ...state.filters };
  const cleaned = uniqueSorted(values.filter((v) => v !== ""));
  if (cleaned.length > 0) filters[dim] = cleaned;
  else delete filters[dim];
  return { ...state, filters };
}

/** Toggle one value of a filter. */
export function toggleFilterValue(state: ViewState, dim: FilterDimension, value: string): ViewState {
  const current = state.filters[dim] ?? [];
  const next = current.includes(value) ? current.filter((v) => v !== value) : [...current, value];
  return withFilter(state, dim, next);
}

/** Choose a preset; a custom range needs its dates. */
export function withRange(state: ViewState, range: RangePreset, custom?: DateRange): ViewState {
  const { from: _from, to: _to, ...rest } = state;
  if (range === "custom") {
    if (!custom || !isIsoDate(custom.from) || !isIsoDate(custom.to)) return state;
    const [from, to] = custom.from <= custom.to ? [custom.from, custom.to] : [custom.to, custom.from];
    return { ...rest, range, from, to };
  }
  return { ...rest, range };
}

/** Pick the project (undefined = all projects). */
export function withProject(state: ViewState, project: string | undefined): ViewState {
  const { project: _old, ...rest } = state;
  return project ? { ...rest, project } : rest;
}

/** Number of active filter values. */
export function activeFilterCount(state: ViewState): number {
  return FILTER_DIMENSIONS.reduce((n, dim) => n + (state.filters[dim]?.length ?? 0), 0);
}

/** Bucket size that keeps a chart readable for a range. */
export function intervalFor(range: DateRange): "hour" | "day" | "week" {
  const days = rangeDays(range);
  if (days <= 2) return "hour";
  if (days <= 120) return "day";
  return "week";
}
