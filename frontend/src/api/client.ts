/**
 * A thin typed client of the TokenOptimizer REST API.
 *
 * The types mirror the server's Pydantic schemas (each capability's `schemas.py`) by hand for now; they are meant
 * to be generated from `/openapi.json` later (see frontend/README.md). Requests go to the same
 * origin with the session cookie; errors become `ApiError` with the status and FastAPI's detail.
 */

// ---- accounts -------------------------------------------------------------------------------

export interface UserPublic {
  id: string;
  email: string;
  name: string;
}

export interface OrganizationPublic {
  id: string;
  name: string;
  timezone: string;
  currency: string;
  markup_percent: number;
  fee_percents: number[];
  fixed_fx_rate: number | null;
  electricity_zone: string | null;
  m2_per_kg_co2e: number;
}

export interface MePublic {
  user: UserPublic;
  organization: OrganizationPublic;
  role: string;
}

export interface LoginIn {
  email: string;
  password: string;
}

export interface SignupIn {
  email: string;
  password: string;
  name?: string;
  organization?: string;
}

export interface ProjectPublic {
  id: string;
  name: string;
  created_at: string;
}

export interface OrganizationUpdate {
  name?: string;
  timezone?: string;
  currency?: string;
  markup_percent?: number;
  fee_percents?: number[];
  fixed_fx_rate?: number | null;
  electricity_zone?: string | null;
  m2_per_kg_co2e?: number;
}

export type Scope = "ingest" | "read" | "admin";

export interface ApiKeyPublic {
  id: string;
  name: string;
  prefix: string;
  project_id: string;
  project: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ApiKeyCreate {
  project: string;
  name?: string;
  scopes: Scope[];
}

/** A new key: the only answer that carries the secret. */
export interface ApiKeyCreated extends ApiKeyPublic {
  key: string;
}

// ---- pricing --------------------------------------------------------------------------------

export type OverrideKind = "custom_model" | "discount";

export interface PriceOverrideIn {
  kind: OverrideKind;
  model_pattern: string;
  provider?: string | null;
  input_per_mtok?: number | null;
  cache_read_per_mtok?: number | null;
  cache_write_per_mtok?: number | null;
  output_per_mtok?: number | null;
  reasoning_per_mtok?: number | null;
  discount_percent?: number | null;
  effective_from?: string | null;
  effective_to?: string | null;
  note?: string;
}

export interface PriceOverridePublic extends PriceOverrideIn {
  id: string;
  provider: string | null;
  note: string;
  created_at: string;
  updated_at: string;
}

export interface RepriceIn {
  from: string;
  to: string;
  model?: string | null;
}

export interface RepriceResult {
  events: number;
  changed: number;
  cost_before_usd: number;
  cost_after_usd: number;
  delta_usd: number;
}


export interface UnpricedModel {
  provider: string;
  model: string;
  events: number;
  first_seen: string;
  last_seen: string;
}

// ---- events ---------------------------------------------------------------------------------

export interface EventPublic {
  event_id: string;
  ts: string;
  org_id: string;
  project_id: string;
  api_key_id: string | null;
  provider: string;
  model: string;
  requested_model: string | null;
  endpoint: string | null;
  request_type: string;
  status: string;
  error_type: string | null;
  user: string | null;
  end_user: string | null;
  team: string | null;
  feature: string | null;
  tags: Record<string, string>;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  reasoning_tokens: number;
  latency_ms: number | null;
  time_to_first_token_ms: number | null;
  cost_usd: number;
  cost_input_usd: number;
  cost_cache_read_usd: number;
  cost_cache_write_usd: number;
  cost_output_usd: number;
  cost_reasoning_usd: number;
  billed_cost_usd: number;
  currency: string;
  fx_rate: number;
  cost: number;
  billed_cost: number;
  reported_cost_usd: number | null;
  price_source: string;
  energy_kwh: number | null;
  co2e_kg: number | null;
  water_l: number | null;
  prompt_hash: string | null;
  trace_id: string | null;
  source: string;
  ingested_at: string;
}

export interface EventPage {
  items: EventPublic[];
  next_cursor: string | null;
}

export type EventSort = "ts" | "cost" | "latency" | "tokens";
export type SortOrder = "asc" | "desc";

// ---- analytics ------------------------------------------------------------------------------

export interface Period {
  from: string;
  to: string;
}

export interface Money {
  currency: string;
  fx_rate: number;
}

export interface SummaryFigures {
  requests: number;
  errors: number;
  error_rate: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  cost: number;
  billed_cost_usd: number;
  billed_cost: number;
  avg_cost_usd: number | null;
  avg_cost: number | null;
  latency_avg_ms: number | null;
  latency_p95_ms: number | null;
  period: Period;
}

export interface Summary extends SummaryFigures, Money {
  timezone: string;
  previous: SummaryFigures | null;
  change: Record<string, number | null> | null;
}

export type TimeseriesMetric =
  | "cost"
  | "requests"
  | "tokens"
  | "input_tokens"
  | "output_tokens"
  | "errors"
  | "error_rate"
  | "latency_p50"
  | "latency_p95"
  | "latency_p99"
  | "avg_cost";

export type Interval = "hour" | "day" | "week" | "month";

export interface Point {
  start: string;
  value: number | null;
  value_usd?: number | null;
}

export interface Series {
  key: string | null;
  label?: string | null;
  is_other: boolean;
  points: Point[];
}

export interface Timeseries extends Money {
  metric: string;
  interval: string;
  group_by: string | null;
  timezone: string;
  period: Period;
  series: Series[];
}

export interface BreakdownFigures {
  requests: number;
  cost_usd: number;
  cost: number;
  input_tokens: number;
  output_tokens: number;
  tokens: number;
  errors: number;
  error_rate: number | null;
}

export interface BreakdownRow extends BreakdownFigures {
  key: string | null;
  label?: string | null;
  share: number | null;
  previous?: BreakdownFigures | null;
  change?: number | null;
}

export interface Breakdown extends Money {
  by: string;
  sort: string;
  period: Period;
  rows: BreakdownRow[];
}

export interface PerformanceRow {
  key: string | null;
  label?: string | null;
  requests: number;
  errors: number;
  success_rate: number | null;
  latency_p50_ms: number | null;
  latency_p90_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  error_types: Record<string, number>;
}

export interface ErrorCount {
  error_type: string | null;
  count: number;
}

export interface Performance {
  by: string;
  period: Period;
  rows: PerformanceRow[];
  error_types: ErrorCount[];
}

export type HeatmapMetric = "requests" | "cost";

export interface HeatmapCell {
  /** 1 = Monday … 7 = Sunday, in the organisation's time zone. */
  weekday: number;
  /** 0–23, local. */
  hour: number;
  value: number;
}

export interface Heatmap extends Money {
  metric: string;
  timezone: string;
  period: Period;
  cells: HeatmapCell[];
}

export interface ImpactRow {
  key: string | null;
  requests: number;
  requests_with_impact: number;
  energy_kwh: number;
  co2e_kg: number;
  water_l: number;
  m2_restored: number;
}

export interface Impact {
  by: string;
  interval: string | null;
  timezone: string;
  period: Period;
  m2_per_kg_co2e: number;
  total: ImpactRow;
  rows: ImpactRow[];
}

export interface PromptRow {
  key: string;
  feature: string | null;
  model: string | null;
  requests: number;
  cost_usd: number;
  cost: number;
  cost_per_call_usd: number;
  cost_per_call: number;
  avg_input_tokens: number;
  avg_output_tokens: number;
  share: number | null;
}

export interface TopPrompts extends Money {
  by: string;
  period: Period;
  rows: PromptRow[];
}

// ---- transport ------------------------------------------------------------------------------

/** One entry of FastAPI's 422 `detail` list. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, detail: unknown, fallback: string) {
    super(ApiError.describe(detail) ?? fallback);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** A sentence from FastAPI's `detail`: a string, or a list of field problems. */
  static describe(detail: unknown): string | undefined {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return (detail as ValidationIssue[])
        .map((issue) => {
          const where = (issue.loc ?? []).filter((part) => part !== "body" && part !== "query").join(".");
          return where ? `${where}: ${issue.msg}` : issue.msg;
        })
        .join("; ");
    }
    return undefined;
  }
}

export type Query = URLSearchParams | Record<string, string | number | undefined | null>;

function queryString(query?: Query): string {
  if (!query) return "";
  const params =
    query instanceof URLSearchParams
      ? query
      : new URLSearchParams(
          Object.entries(query)
            .filter(([, value]) => value !== undefined && value !== null && value !== "")
            .map(([key, value]) => [key, String(value)]),
        );
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function request<T>(method: string, path: string, options: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    signal: options.signal ?? null,
  };
  if (options.body !== undefined) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(`${path}${queryString(options.query)}`, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, null, "The server cannot be reached. Is `tokenoptimizer serve` running?");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let payload: unknown = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  if (!response.ok) {
    const detail = payload && typeof payload === "object" && "detail" in payload ? (payload as { detail: unknown }).detail : payload;
    throw new ApiError(response.status, detail, `${response.status} ${response.statusText}`);
  }
  return payload as T;
}

const V1 = "/api/v1";

export const api = {
  login: (body: LoginIn) => request<MePublic>("POST", `${V1}/auth/login`, { body }),
  signup: (body: SignupIn) => request<MePublic>("POST", `${V1}/auth/signup`, { body }),
  logout: () => request<void>("POST", `${V1}/auth/logout`),
  me: (signal?: AbortSignal) => request<MePublic>("GET", `${V1}/me`, { signal }),
  projects: (signal?: AbortSignal) => request<ProjectPublic[]>("GET", `${V1}/projects`, { signal }),
  organization: (signal?: AbortSignal) => request<OrganizationPublic>("GET", `${V1}/organization`, { signal }),
  updateOrganization: (body: OrganizationUpdate) => request<OrganizationPublic>("PATCH", `${V1}/organization`, { body }),
  apiKeys: (signal?: AbortSignal) => request<ApiKeyPublic[]>("GET", `${V1}/api-keys`, { signal }),
  createApiKey: (body: ApiKeyCreate) => request<ApiKeyCreated>("POST", `${V1}/api-keys`, { body }),
  revokeApiKey: (id: string) => request<ApiKeyPublic>("DELETE", `${V1}/api-keys/${encodeURIComponent(id)}`),
  priceOverrides: (signal?: AbortSignal) => request<PriceOverridePublic[]>("GET", `${V1}/price-overrides`, { signal }),
  createPriceOverride: (body: PriceOverrideIn) => request<PriceOverridePublic>("POST", `${V1}/price-overrides`, { body }),
  deletePriceOverride: (id: string) => request<void>("DELETE", `${V1}/price-overrides/${encodeURIComponent(id)}`),
  reprice: (body: RepriceIn) => request<RepriceResult>("POST", `${V1}/reprice`, { body }),
  performance: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Performance>("GET", `${V1}/usage/performance`, { query, signal }),
  unpricedModels: (signal?: AbortSignal) => request<UnpricedModel[]>("GET", `${V1}/models/unpriced`, { signal }),
  events: (query: URLSearchParams, signal?: AbortSignal) => request<EventPage>("GET", `${V1}/events`, { query, signal }),
  summary: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Summary>("GET", `${V1}/usage/summary`, { query, signal }),
  timeseries: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Timeseries>("GET", `${V1}/usage/timeseries`, { query, signal }),
  breakdown: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Breakdown>("GET", `${V1}/usage/breakdown`, { query, signal }),
  heatmap: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Heatmap>("GET", `${V1}/usage/heatmap`, { query, signal }),
  impact: (query: URLSearchParams, signal?: AbortSignal) =>
    request<Impact>("GET", `${V1}/usage/impact`, { query, signal }),
  topPrompts: (query: URLSearchParams, signal?: AbortSignal) =>
    request<TopPrompts>("GET", `${V1}/usage/top-prompts`, { query, signal }),
};
