/**
 * The budgets pages' pure parts: the colour of a progress bar, scopes in words, the create/edit
 * form (text in, API body and messages out), the API's 422s put next to the form's fields, and the
 * chart of cumulative spend against the limit. Tested in budgets.test.ts.
 */
import {
  ApiError,
  BUDGET_DIMENSIONS,
  type BudgetAction,
  type BudgetDimension,
  type BudgetIn,
  type BudgetPeriod,
  type BudgetPublic,
  type BudgetStatus,
  type Point,
  type ValidationIssue,
} from "../api/client";
import { parseOptionalNumber } from "./settings";

// ---- progress -----------------------------------------------------------------------------------

/** ok below 80 % of the limit, warn from 80 %, over from 100 %. */
export type BudgetTone = "ok" | "warn" | "over";

export const WARN_PERCENT = 80;

export function budgetTone(percent: number): BudgetTone {
  if (percent >= 100) return "over";
  if (percent >= WARN_PERCENT) return "warn";
  return "ok";
}

/** The bar's fill per tone (the class is what the browser tests look for). */
export const TONE_BAR_CLASS: Record<BudgetTone, string> = {
  ok: "bg-emerald-500",
  warn: "bg-amber-500",
  over: "bg-rose-600",
};

/** The percentage as text next to the bar, text colours readable on white and on slate-900. */
export const TONE_TEXT_CLASS: Record<BudgetTone, string> = {
  ok: "text-slate-700 dark:text-slate-200",
  warn: "text-amber-700 dark:text-amber-300",
  over: "text-rose-700 dark:text-rose-300",
};

/** The width of the bar's fill: 0–100 % (a budget over its limit is a full bar). */
export function barWidth(percent: number): number {
  if (!Number.isFinite(percent) || percent <= 0) return 0;
  return Math.min(100, percent);
}

/** "85%", "0.5%", "123%": whole numbers except below 10 %. */
export function formatBudgetPercent(percent: number): string {
  if (!Number.isFinite(percent)) return "—";
  const rounded = percent < 10 ? Math.round(percent * 10) / 10 : Math.round(percent);
  return `${rounded}%`;
}

/** The three budgets closest to (or past) their limit, for the overview. */
export function topBudgets(budgets: BudgetPublic[], count = 3): BudgetPublic[] {
  return budgets
    .filter((b) => b.enabled && b.status)
    .sort((a, b) => (b.status?.percent ?? 0) - (a.status?.percent ?? 0) || a.name.localeCompare(b.name))
    .slice(0, count);
}

// ---- words --------------------------------------------------------------------------------------

export const DIMENSION_LABELS: Record<BudgetDimension, string> = {
  project: "Project",
  team: "Team",
  user: "User",
  end_user: "End user",
  api_key: "API key",
  feature: "Feature",
  model: "Model",
};

export const PERIOD_LABELS: Record<BudgetPeriod, string> = {
  day: "Daily",
  week: "Weekly",
  month: "Monthly",
  quarter: "Quarterly",
  total: "Total (no reset)",
};

export interface ScopeNames {
  /** Project id → name (budgets store projects by id). */
  projects?: ReadonlyMap<string, string>;
  /** API key id → its name or prefix. */
  apiKeys?: ReadonlyMap<string, string>;
}

/** A scope's conditions in the fixed dimension order, ids replaced by names where known. */
export function scopeParts(scope: BudgetPublic["scope"], names: ScopeNames = {}): { dimension: BudgetDimension; label: string; value: string }[] {
  return BUDGET_DIMENSIONS.filter((d) => scope[d] !== undefined && scope[d] !== "").map((dimension) => {
    const raw = scope[dimension] ?? "";
    const value =
      dimension === "project" ? (names.projects?.get(raw) ?? raw) : dimension === "api_key" ? (names.apiKeys?.get(raw) ?? raw) : raw;
    return { dimension, label: DIMENSION_LABELS[dimension], value };
  });
}

/** "Whole organisation", or "Project web-app · Model gpt-4o". */
export function formatScope(scope: BudgetPublic["scope"], names: ScopeNames = {}): string {
  const parts = scopeParts(scope, names);
  if (parts.length === 0) return "Whole organisation";
  return parts.map((p) => `${p.label} ${p.value}`).join(" · ");
}

/** A period's days, end exclusive: "May 1 – May 31, 2026"; a total budget: "since Jan 5, 2026". */
export function formatPeriodRange(start: string | null, end: string | null, timeZone: string, locale?: string): string {
  if (!start) return "not started";
  const day = new Intl.DateTimeFormat(locale, { timeZone, month: "short", day: "numeric", year: "numeric" });
  const from = new Date(start);
  if (from.getTime() <= 0 && !end) return "all time";
  if (!end) return `since ${day.format(from)}`;
  const lastInstant = new Date(new Date(end).getTime() - 1);
  return day.formatRange(from, lastInstant);
}

// ---- the form -----------------------------------------------------------------------------------

export interface ScopeRow {
  /** A stable React key (rows can be removed from the middle). */
  key: number;
  dimension: BudgetDimension;
  value: string;
}

export interface BudgetForm {
  name: string;
  scope: ScopeRow[];
  period: BudgetPeriod;
  starts_on: string;
  limit: string;
  thresholds: number[];
  action: BudgetAction;
  rollover: boolean;
  channel_ids: string[];
  enabled: boolean;
}

export const DEFAULT_THRESHOLDS = [50, 80, 100];

export const EMPTY_BUDGET: BudgetForm = {
  name: "",
  scope: [],
  period: "month",
  starts_on: "",
  limit: "",
  thresholds: DEFAULT_THRESHOLDS,
  action: "alert",
  rollover: false,
  channel_ids: [],
  enabled: true,
};

/** The form of an existing budget, its projects and keys shown by name where known. */
export function budgetForm(budget: BudgetPublic, names: ScopeNames = {}): BudgetForm {
  return {
    name: budget.name,
    scope: scopeParts(budget.scope, names).map((part, index) => ({ key: index, dimension: part.dimension, value: part.value })),
    period: budget.period,
    starts_on: budget.starts_on ?? "",
    limit: String(budget.limit),
    thresholds: [...budget.thresholds],
    action: budget.action,
    rollover: budget.rollover,
    channel_ids: [...budget.channel_ids],
    enabled: budget.enabled,
  };
}

/** Field name → message; scope problems are keyed `scope.<row key>` so they show on their row. */
export type BudgetFormErrors = Record<string, string>;

/**
 * The POST/PATCH body of the form, and what the browser can already tell is wrong. Range checks
 * the API makes too (a limit above 1e12, …) come back as 422s shown on the same fields.
 */
export function budgetBody(form: BudgetForm): { body: BudgetIn; errors: BudgetFormErrors } {
  const errors: BudgetFormErrors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the budget a name.";

  const scope: BudgetIn["scope"] = {};
  for (const row of form.scope) {
    const value = row.value.trim();
    if (!value) errors[`scope.${row.key}`] = `Enter the ${DIMENSION_LABELS[row.dimension].toLowerCase()}, or remove this condition.`;
    else if (scope[row.dimension] !== undefined)
      errors[`scope.${row.key}`] = `${DIMENSION_LABELS[row.dimension]} is already used: a budget matches one value per dimension.`;
    else scope[row.dimension] = value;
  }

  const limit = parseOptionalNumber(form.limit);
  let limitValue = 0;
  if (limit === null) errors.limit = "Enter the limit, e.g. 500.";
  else if (Number.isNaN(limit)) errors.limit = "Enter a number, e.g. 500 or 12.50.";
  else if (limit <= 0) errors.limit = "The limit must be more than 0.";
  else limitValue = limit;

  if (form.starts_on && !/^\d{4}-\d{2}-\d{2}$/.test(form.starts_on)) errors.starts_on = "Enter a date, e.g. 2026-01-15.";
  if (form.rollover && form.period === "total") errors.rollover = "Rollover needs a repeating period: a total budget has no previous period.";

  const body: BudgetIn = {
    name,
    scope,
    period: form.period,
    starts_on: form.starts_on || null,
    limit: limitValue,
    thresholds: [...form.thresholds].sort((a, b) => a - b),
    action: form.action,
    rollover: form.period === "total" ? false : form.rollover,
    channel_ids: form.channel_ids,
    enabled: form.enabled,
  };
  return { body, errors };
}

/** Adds a threshold typed as text ("90", "90%", "12.5"); the list stays sorted and distinct. */
export function addThreshold(thresholds: number[], text: string): { thresholds: number[]; error: string | null } {
  const value = parseOptionalNumber(text.replace("%", ""));
  if (value === null) return { thresholds, error: "Enter a percentage of the limit, e.g. 90." };
  if (Number.isNaN(value) || value <= 0 || value > 1000) return { thresholds, error: "A threshold is a percentage above 0 and at most 1000." };
  if (thresholds.includes(value)) return { thresholds, error: `${value}% is already a threshold.` };
  if (thresholds.length >= 10) return { thresholds, error: "At most 10 thresholds." };
  return { thresholds: [...thresholds, value].sort((a, b) => a - b), error: null };
}

/** Pydantic prefixes validator messages with "Value error, "; people do not need it. */
function clean(msg: string): string {
  return msg.replace(/^Value error, /, "");
}

/**
 * A 422 from POST/PATCH /budgets next to the form's fields: `scope.<dimension>` issues go to the
 * row of that dimension, the rest to their field; problems of no field go to `general`.
 */
export function budgetApiErrors(error: unknown, form: BudgetForm): { fields: BudgetFormErrors; general: string | null } {
  if (!(error instanceof ApiError)) return { fields: {}, general: error instanceof Error ? error.message : error ? "Something went wrong." : null };
  if (error.status !== 422 || !Array.isArray(error.detail)) return { fields: {}, general: error.message };
  const fields: BudgetFormErrors = {};
  const general: string[] = [];
  const add = (key: string, msg: string) => {
    fields[key] = fields[key] ? `${fields[key]}; ${msg}` : msg;
  };
  for (const issue of error.detail as ValidationIssue[]) {
    const loc = (issue.loc ?? []).filter((part) => part !== "body");
    const msg = clean(issue.msg ?? "invalid");
    const [field, sub] = loc;
    if (field === "scope") {
      const row = form.scope.find((r) => r.dimension === sub);
      add(row ? `scope.${row.key}` : "scope", msg);
    } else if (field === "thresholds") {
      const which = typeof sub === "number" ? form.thresholds[sub] : undefined;
      add("thresholds", which !== undefined ? `${which}%: ${msg}` : msg);
    } else if (typeof field === "string") add(field, msg);
    else general.push(msg);
  }
  // A model-level rule about rollover names no field: put it on the checkbox.
  const rollover = general.findIndex((msg) => msg.startsWith("rollover"));
  if (rollover >= 0) add("rollover", general.splice(rollover, 1)[0] ?? "");
  return { fields, general: general.length > 0 ? general.join("; ") : null };
}

// ---- the chart ----------------------------------------------------------------------------------

/** The analytics filters that select a budget's usage (the API's names match the scope's). */
export function scopeFilters(scope: BudgetPublic["scope"]): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const dimension of BUDGET_DIMENSIONS) {
    const value = scope[dimension];
    if (value) filters[dimension] = value;
  }
  return filters;
}

const DAY_MS = 86_400_000;
/** A total budget has no period end; its chart shows the last 90 days. */
export const TOTAL_CHART_DAYS = 90;

/** The time series query of a budget's chart: its period (or the last 90 days of a total budget). */
export function spendChartQuery(budget: Pick<BudgetPublic, "period" | "scope">, status: BudgetStatus, now: number): URLSearchParams | null {
  if (!status.period_start) return null;
  const start = Date.parse(status.period_start);
  const from = status.period_end ? start : Math.max(start, now - TOTAL_CHART_DAYS * DAY_MS);
  const to = status.period_end ? Date.parse(status.period_end) : now;
  const params = new URLSearchParams({
    metric: "cost",
    interval: budget.period === "day" ? "hour" : "day",
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    ...scopeFilters(budget.scope),
  });
  return params;
}

export interface SpendChartRow {
  /** Milliseconds since the epoch. */
  t: number;
  spent?: number;
  forecast?: number;
}

export interface SpendChart {
  rows: SpendChartRow[];
  domain: [number, number];
  /** The y axis' top: the limit, the spend or the forecast, whichever is larger, plus room. */
  yMax: number;
}

/**
 * Cumulative spend through the period, ending at the budget's own figure (`status.spent`, what the
 * counters say now), then a straight forecast line to the period's end.
 *
 * Each bucket's total is placed at the bucket's end (the next bucket's start, or now for the
 * current one), so the line climbs as the money was spent. Spend before the chart's first bucket
 * (a total budget's older history) is the starting level, so the line always ends at `spent`.
 */
export function spendChartData(points: Point[], status: BudgetStatus, now: number, from: number): SpendChart {
  const end = status.period_end ? Date.parse(status.period_end) : now;
  const past = points
    .map((p) => ({ t: Date.parse(p.start), value: p.value ?? 0 }))
    .filter((p) => Number.isFinite(p.t) && p.t <= now)
    .sort((a, b) => a.t - b.t);
  const total = past.reduce((sum, p) => sum + p.value, 0);
  let running = Math.max(0, status.spent - total);
  const rows: SpendChartRow[] = [{ t: from, spent: running }];
  past.forEach((p, index) => {
    running += p.value;
    const next = past[index + 1];
    const t = Math.min(next ? next.t : now, now);
    if (t > from) rows.push({ t, spent: running });
  });
  const last = rows[rows.length - 1];
  if (last && last.t < now) rows.push({ t: now, spent: running });
  const current = rows[rows.length - 1];
  if (current && status.forecast_period_spend !== null && status.period_end && end > now) {
    current.forecast = current.spent;
    rows.push({ t: end, forecast: status.forecast_period_spend });
  }
  const top = Math.max(status.limit, running, status.forecast_period_spend ?? 0);
  return { rows, domain: [from, Math.max(end, now)], yMax: top * 1.1 || 1 };
}
