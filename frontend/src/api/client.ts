/**
 * A thin typed client of the TokenOptimizer REST API.
 *
 * Request and response shapes come from `schema.d.ts`, generated from the server's OpenAPI schema
 * (`make openapi`: scripts/export_openapi.py writes `frontend/openapi.json`, `npm run gen:api`
 * turns it into types), so they cannot drift from the routes. Channels, wallets and the gateway
 * are still typed by hand below. Requests go to the same origin with the session cookie; errors
 * become `ApiError` with the status and FastAPI's detail.
 */
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

/**
 * A response shape of the API, by its schema name. Fields with a default are optional in the
 * schema (it describes what is accepted too), though the server always sends them.
 */
type Out<Name extends keyof Schemas> = Schemas[Name];
/** A request body of the API, by its schema name (fields with defaults may be left out). */
type In<Name extends keyof Schemas> = Schemas[Name];
/** The query parameters of a GET endpoint. */
type QueryOf<Path extends keyof paths> = paths[Path] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

// ---- accounts -------------------------------------------------------------------------------

export type UserPublic = Out<"UserPublic">;
export type OrganizationPublic = Out<"OrganizationPublic">;
export type MePublic = Out<"MePublic">;
export type LoginIn = In<"LoginIn">;
export type SignupIn = In<"SignupIn">;
export type ProjectPublic = Out<"ProjectPublic">;
export type OrganizationUpdate = In<"OrganizationUpdate">;
export type Scope = NonNullable<In<"ApiKeyCreate">["scopes"]>[number];
export type ApiKeyPublic = Out<"ApiKeyPublic">;
export type ApiKeyCreate = In<"ApiKeyCreate">;
/** A new key: the only answer that carries the secret. */
export type ApiKeyCreated = Out<"ApiKeyCreated">;
/** `user` is null when nobody is logged in (the endpoint never answers 401). */
export type SessionPublic = Out<"SessionPublic">;

// ---- budgets and alerts ---------------------------------------------------------------------

export const BUDGET_DIMENSIONS = ["project", "team", "user", "end_user", "api_key", "feature", "model"] as const;
export type BudgetDimension = (typeof BUDGET_DIMENSIONS)[number];
export const BUDGET_PERIODS = ["day", "week", "month", "quarter", "total"] as const satisfies readonly Schemas["Period"][];
export type BudgetPeriod = Schemas["Period"];
export type BudgetAction = NonNullable<In<"BudgetIn">["action"]>;

export type BudgetIn = In<"BudgetIn">;
export type BudgetPatch = In<"BudgetPatch">;
/** `percent` is spend as a percentage of the limit: 85 = 85 %. */
export type BudgetStatus = Out<"BudgetStatus">;
export type BudgetPublic = Out<"BudgetPublic">;
export type BudgetList = Out<"BudgetList">;

export type AlertKind = "budget_threshold" | "spend_spike" | "error_rate";
export type AlertSeverity = "info" | "warning" | "critical";
export type AlertPublic = Out<"AlertPublic">;
export type AlertPage = Out<"AlertPage">;
export type AlertQuery = Omit<QueryOf<"/api/v1/alerts">, "cursor"> & { cursor?: string | null };

// ---- notification channels ------------------------------------------------------------------

export type ChannelKind = "webhook" | "slack" | "email";
export const ALERT_KINDS = ["budget_threshold", "spend_spike", "error_rate"] as const;

export interface WebhookConfig {
  url: string;
  /** Write-only (at least 16 characters); read back masked. */
  signing_secret: string;
}

export interface SlackConfig {
  /** A credential: read back masked. */
  webhook_url: string;
}

export interface EmailConfig {
  host: string;
  port?: number;
  username?: string | null;
  password?: string | null;
  from_address: string;
  to: string[];
  use_starttls?: boolean;
  use_ssl?: boolean;
}

interface ChannelBaseIn {
  name: string;
  alert_kinds?: string[];
  enabled?: boolean;
}

export type ChannelIn =
  | (ChannelBaseIn & { kind: "webhook"; config: WebhookConfig })
  | (ChannelBaseIn & { kind: "slack"; config: SlackConfig })
  | (ChannelBaseIn & { kind: "email"; config: EmailConfig });

/** `config` is merged into the stored one; secrets left out (or sent back masked) are kept. */
export interface ChannelPatch {
  name?: string;
  config?: Record<string, unknown>;
  alert_kinds?: string[];
  enabled?: boolean;
}

export interface ChannelPublic {
  id: string;
  name: string;
  kind: ChannelKind;
  /** As stored, secrets masked ("…" and their last characters). */
  config: Record<string, unknown>;
  alert_kinds: string[];
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface ChannelList {
  channels: ChannelPublic[];
}

export interface DeliveryPublic {
  id: string;
  channel_id: string;
  /** null for a test message. */
  alert_id: string | null;
  alert_kind: string;
  alert_title: string;
  attempt: number;
  status: "ok" | "failed";
  will_retry: boolean;
  response_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: string;
}

export interface DeliveryPage {
  deliveries: DeliveryPublic[];
  next_cursor: string | null;
}

// ---- wallets --------------------------------------------------------------------------------

export type WalletOwnerKind = "org" | "team" | "user" | "end_user";
export type RefillInterval = "day" | "week" | "month";
export type LedgerKind = "top_up" | "spend" | "refund" | "adjustment" | "auto_refill";

export interface WalletIn {
  name: string;
  owner_kind: WalletOwnerKind;
  owner_value?: string | null;
  initial_balance?: number;
  block_when_empty?: boolean;
  auto_refill_amount?: number | null;
  auto_refill_threshold?: number | null;
  auto_refill_interval?: RefillInterval | null;
  auto_refill_max_per_month?: number;
}

/** Only the fields given change; null turns an auto-refill setting off. */
export interface WalletPatch {
  name?: string;
  block_when_empty?: boolean;
  auto_refill_amount?: number | null;
  auto_refill_threshold?: number | null;
  auto_refill_interval?: RefillInterval | null;
  auto_refill_max_per_month?: number;
}

export interface WalletPublic {
  id: string;
  name: string;
  owner_kind: WalletOwnerKind;
  owner_value: string | null;
  currency: string;
  balance: number;
  block_when_empty: boolean;
  auto_refill_amount: number | null;
  auto_refill_threshold: number | null;
  auto_refill_interval: RefillInterval | null;
  auto_refill_max_per_month: number;
  refills_this_month: number;
  next_refill_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface WalletList {
  wallets: WalletPublic[];
  /** Whether "Buy credits" (Stripe Checkout) can be offered; absent: not offered. */
  stripe_checkout?: boolean;
}

export interface MovementIn {
  amount: number;
  idempotency_key: string;
  note?: string;
}

export interface LedgerEntry {
  id: string;
  seq: number;
  kind: LedgerKind;
  amount: number;
  balance_after: number;
  reference: string;
  actor: string;
  note: string;
  details: Record<string, unknown>;
  created_at: string;
}

export interface MovementResult {
  entries: LedgerEntry[];
  balance: number;
  duplicate: boolean;
}

export interface LedgerPage {
  entries: LedgerEntry[];
  balance: number;
  next_cursor: string | null;
}

export interface CheckoutIn {
  amount: number;
  success_url: string;
  cancel_url: string;
}

export interface CheckoutPublic {
  session_id: string;
  url: string;
}

// ---- gateway --------------------------------------------------------------------------------

export type UpstreamApi = "openai" | "anthropic";
export type AuthStyle = "bearer" | "api-key" | "x-api-key";

export interface UpstreamIn {
  name: string;
  api: UpstreamApi;
  base_url: string;
  provider?: string | null;
  /** Write-only: sent to set or replace the stored key, never read back. */
  api_key?: string | null;
  auth_style?: AuthStyle | null;
  allowed_models?: string[];
  project_id?: string | null;
  enabled?: boolean;
}

export type UpstreamUpdate = Partial<UpstreamIn>;

export interface UpstreamPublic {
  id: string;
  name: string;
  api: UpstreamApi;
  provider: string;
  base_url: string;
  has_api_key: boolean;
  /** The stored key's last four characters, e.g. "…a1b2". */
  api_key_hint: string | null;
  auth_style: AuthStyle;
  allowed_models: string[];
  project_id: string | null;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface RoutingRuleIn {
  model_pattern: string;
  target_model?: string | null;
  upstream_id?: string | null;
  fallback_upstream_id?: string | null;
  fallback_model?: string | null;
  project_id?: string | null;
  feature?: string | null;
  priority?: number;
  enabled?: boolean;
  note?: string;
}

export type RoutingRuleUpdate = Partial<RoutingRuleIn>;

export interface RoutingRulePublic {
  id: string;
  model_pattern: string;
  target_model: string | null;
  upstream_id: string | null;
  fallback_upstream_id: string | null;
  fallback_model: string | null;
  project_id: string | null;
  feature: string | null;
  priority: number;
  enabled: boolean;
  note: string;
  created_at: string;
  updated_at: string;
}

// ---- pricing --------------------------------------------------------------------------------

export type OverrideKind = In<"PriceOverrideIn">["kind"];
export type PriceOverrideIn = In<"PriceOverrideIn">;
export type PriceOverridePublic = Out<"PriceOverridePublic">;
export type RepriceIn = In<"RepriceIn">;
export type RepriceResult = Out<"RepriceResult">;
export type UnpricedModel = Out<"UnpricedModel">;

// ---- events ---------------------------------------------------------------------------------

export type EventPublic = Out<"EventPublic">;
export type EventPage = Out<"EventPage">;
export type EventSort = NonNullable<QueryOf<"/api/v1/events">["sort"]>;
export type SortOrder = NonNullable<QueryOf<"/api/v1/events">["order"]>;

// ---- analytics ------------------------------------------------------------------------------

export type Period = Out<"PeriodPublic">;
export type SummaryFigures = Out<"SummaryFigures">;
export type Summary = Out<"Summary">;
export type TimeseriesMetric = NonNullable<QueryOf<"/api/v1/usage/timeseries">["metric"]>;
export type Interval = NonNullable<QueryOf<"/api/v1/usage/timeseries">["interval"]>;
export type Point = Out<"Point">;
export type Series = Out<"Series">;
export type Timeseries = Out<"Timeseries">;
export type BreakdownFigures = Out<"BreakdownFigures">;
export type BreakdownRow = Out<"BreakdownRow">;
export type Breakdown = Out<"Breakdown">;
export type PerformanceRow = Out<"PerformanceRow">;
export type ErrorCount = Out<"ErrorCount">;
export type Performance = Out<"Performance">;
export type HeatmapMetric = NonNullable<QueryOf<"/api/v1/usage/heatmap">["metric"]>;
/** `weekday` 1 = Monday … 7 = Sunday and `hour` 0–23, in the organisation's time zone. */
export type HeatmapCell = Out<"HeatmapCell">;
export type Heatmap = Out<"Heatmap">;
export type ImpactRow = Out<"ImpactRow">;
export type Impact = Out<"Impact">;
export type PromptRow = Out<"PromptRow">;
export type TopPrompts = Out<"TopPrompts">;
export type Forecast = Out<"Forecast">;

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
  session: (signal?: AbortSignal) => request<SessionPublic>("GET", `${V1}/auth/session`, { signal }),
  budgets: (signal?: AbortSignal) => request<BudgetList>("GET", `${V1}/budgets`, { signal }),
  budget: (id: string, signal?: AbortSignal) => request<BudgetPublic>("GET", `${V1}/budgets/${encodeURIComponent(id)}`, { signal }),
  createBudget: (body: BudgetIn) => request<BudgetPublic>("POST", `${V1}/budgets`, { body }),
  updateBudget: (id: string, body: BudgetPatch) => request<BudgetPublic>("PATCH", `${V1}/budgets/${encodeURIComponent(id)}`, { body }),
  deleteBudget: (id: string) => request<void>("DELETE", `${V1}/budgets/${encodeURIComponent(id)}`),
  budgetStatus: (id: string, signal?: AbortSignal) =>
    request<BudgetStatus>("GET", `${V1}/budgets/${encodeURIComponent(id)}/status`, { signal }),
  alerts: (query: AlertQuery, signal?: AbortSignal) =>
    request<AlertPage>("GET", `${V1}/alerts`, {
      query: { ...query, unread: query.unread === undefined ? undefined : String(query.unread) },
      signal,
    }),
  ackAlert: (id: string) => request<AlertPublic>("POST", `${V1}/alerts/${encodeURIComponent(id)}/ack`),
  channels: (signal?: AbortSignal) => request<ChannelList>("GET", `${V1}/channels`, { signal }),
  createChannel: (body: ChannelIn) => request<ChannelPublic>("POST", `${V1}/channels`, { body }),
  updateChannel: (id: string, body: ChannelPatch) => request<ChannelPublic>("PATCH", `${V1}/channels/${encodeURIComponent(id)}`, { body }),
  deleteChannel: (id: string) => request<void>("DELETE", `${V1}/channels/${encodeURIComponent(id)}`),
  testChannel: (id: string) => request<DeliveryPublic>("POST", `${V1}/channels/${encodeURIComponent(id)}/test`),
  deliveries: (id: string, cursor: string | null, signal?: AbortSignal) =>
    request<DeliveryPage>("GET", `${V1}/channels/${encodeURIComponent(id)}/deliveries`, { query: { cursor, limit: 20 }, signal }),
  wallets: (signal?: AbortSignal) => request<WalletList>("GET", `${V1}/wallets`, { signal }),
  createWallet: (body: WalletIn) => request<WalletPublic>("POST", `${V1}/wallets`, { body }),
  updateWallet: (id: string, body: WalletPatch) => request<WalletPublic>("PATCH", `${V1}/wallets/${encodeURIComponent(id)}`, { body }),
  deleteWallet: (id: string) => request<void>("DELETE", `${V1}/wallets/${encodeURIComponent(id)}`),
  ledger: (id: string, query: { kind?: string; cursor?: string | null; limit?: number }, signal?: AbortSignal) =>
    request<LedgerPage>("GET", `${V1}/wallets/${encodeURIComponent(id)}/ledger`, { query, signal }),
  topUp: (id: string, body: MovementIn) => request<MovementResult>("POST", `${V1}/wallets/${encodeURIComponent(id)}/top-ups`, { body }),
  checkout: (id: string, body: CheckoutIn) => request<CheckoutPublic>("POST", `${V1}/wallets/${encodeURIComponent(id)}/checkout`, { body }),
  upstreams: (signal?: AbortSignal) => request<UpstreamPublic[]>("GET", `${V1}/upstreams`, { signal }),
  createUpstream: (body: UpstreamIn) => request<UpstreamPublic>("POST", `${V1}/upstreams`, { body }),
  updateUpstream: (id: string, body: UpstreamUpdate) =>
    request<UpstreamPublic>("PATCH", `${V1}/upstreams/${encodeURIComponent(id)}`, { body }),
  deleteUpstream: (id: string) => request<void>("DELETE", `${V1}/upstreams/${encodeURIComponent(id)}`),
  routingRules: (signal?: AbortSignal) => request<RoutingRulePublic[]>("GET", `${V1}/routing-rules`, { signal }),
  createRoutingRule: (body: RoutingRuleIn) => request<RoutingRulePublic>("POST", `${V1}/routing-rules`, { body }),
  updateRoutingRule: (id: string, body: RoutingRuleUpdate) =>
    request<RoutingRulePublic>("PATCH", `${V1}/routing-rules/${encodeURIComponent(id)}`, { body }),
  deleteRoutingRule: (id: string) => request<void>("DELETE", `${V1}/routing-rules/${encodeURIComponent(id)}`),
};
