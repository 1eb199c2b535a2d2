/**
 * The usage event: what `track()` accepts (camelCase) and what is sent to `POST /api/v1/events`
 * (the server's snake_case wire shape, `usage/schemas.py` in the server).
 *
 * Values are clipped to the server's limits here, so that one odd value (a 300-character user id,
 * a 51st tag) cannot make the server refuse a whole batch.
 */

import { randomUUID } from "node:crypto";

import type { Attribution } from "./context.js";

export type RequestType = "chat" | "completion" | "embedding" | "image" | "audio" | "rerank" | "other";

/** One LLM call to record by hand with `track()`. */
export interface TrackInput extends Attribution {
  /** openai, anthropic, google, mistral, … */
  provider: string;
  /** The model that answered. */
  model: string;
  /** The model that was asked for, when another one answered. */
  requestedModel?: string;
  /**
   * The provider's own usage object, normalised and priced by the server; give `api` with it
   * (openai: "chat", "responses", "completions", "embeddings"; anthropic: "messages").
   */
  rawUsage?: Record<string, unknown>;
  api?: string;
  /** Normalised counts, when there is no raw usage object (ignored when `rawUsage` is given). */
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  /** Cost the provider reported, if any. */
  reportedCostUsd?: number;
  latencyMs?: number;
  timeToFirstTokenMs?: number;
  status?: "ok" | "error";
  /** The error's class name ("RateLimitError") when `status` is "error". */
  errorType?: string;
  endpoint?: string;
  requestType?: RequestType;
  /** When the call started (default: now). */
  ts?: Date | string;
  /** A UUID identifying the call; generated when absent. Re-sending it never counts twice. */
  eventId?: string;
}

/** The event as the server's ingest API takes it. */
export interface WireEvent {
  event_id: string;
  ts: string;
  provider: string;
  model: string;
  requested_model?: string;
  endpoint?: string;
  request_type?: RequestType;
  api?: string;
  raw_usage?: Record<string, unknown>;
  input_tokens?: number;
  output_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  reasoning_tokens?: number;
  reported_cost_usd?: number;
  latency_ms?: number;
  time_to_first_token_ms?: number;
  status: "ok" | "error";
  error_type?: string;
  user?: string;
  end_user?: string;
  team?: string;
  feature?: string;
  tags?: Record<string, string>;
  trace_id?: string;
}

const MAX_TEXT = 200;
const MAX_PROVIDER = 64;
const MAX_TAGS = 50;
const MAX_TAG_KEY = 64;
const MAX_TRACE_ID = 128;
const MAX_MILLIS = 86_400_000;
const MAX_TOKENS = 1_000_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: unknown, max = MAX_TEXT): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  return s.length === 0 ? undefined : s.slice(0, max);
}

function tokens(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  return Math.min(Math.round(value), MAX_TOKENS);
}

function millis(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  return Math.min(Math.round(value * 1000) / 1000, MAX_MILLIS);
}

function timestamp(value: Date | string | undefined): string {
  if (value === undefined) return new Date().toISOString();
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

function clipTags(tags: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!tags) return undefined;
  const out: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(tags)) {
    if (value === undefined || value === null || key.length === 0) continue;
    if (count === MAX_TAGS) break;
    out[key.slice(0, MAX_TAG_KEY)] = String(value).slice(0, MAX_TEXT);
    count += 1;
  }
  return count === 0 ? undefined : out;
}

/** Build the wire event of `input`, whose attribution has already been merged in. */
export function toWireEvent(input: TrackInput): WireEvent {
  const event: WireEvent = {
    event_id: input.eventId !== undefined && UUID.test(input.eventId) ? input.eventId : randomUUID(),
    ts: timestamp(input.ts),
    provider: text(input.provider, MAX_PROVIDER)?.toLowerCase() ?? "unknown",
    model: text(input.model) ?? "unknown",
    status: input.status === "error" ? "error" : "ok",
  };
  const optional: Partial<WireEvent> = {
    requested_model: text(input.requestedModel),
    endpoint: text(input.endpoint),
    request_type: input.requestType,
    reported_cost_usd:
      typeof input.reportedCostUsd === "number" && input.reportedCostUsd >= 0 ? input.reportedCostUsd : undefined,
    latency_ms: millis(input.latencyMs),
    time_to_first_token_ms: millis(input.timeToFirstTokenMs),
    error_type: event.status === "error" ? text(input.errorType) : undefined,
    user: text(input.user),
    end_user: text(input.endUser),
    team: text(input.team),
    feature: text(input.feature),
    tags: clipTags(input.tags),
    trace_id: text(input.traceId, MAX_TRACE_ID),
  };
  if (input.rawUsage && typeof input.rawUsage === "object") {
    // The server refuses raw usage together with counts: the raw object is the truth.
    optional.raw_usage = input.rawUsage;
    optional.api = text(input.api, MAX_PROVIDER) ?? "chat";
  } else {
    optional.input_tokens = tokens(input.inputTokens);
    optional.output_tokens = tokens(input.outputTokens);
    optional.cache_read_tokens = tokens(input.cacheReadTokens);
    optional.cache_write_tokens = tokens(input.cacheWriteTokens);
    optional.reasoning_tokens = tokens(input.reasoningTokens);
  }
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (event as unknown as Record<string, unknown>)[key] = value;
  }
  return event;
}
