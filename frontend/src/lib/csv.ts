/** CSV as spreadsheets read it (RFC 4180): quoted when needed, CRLF line ends. */
import type { EventPublic } from "../api/client";

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  // Cells starting with = + - @ run as formulas in spreadsheets: prefix a quote (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(values: unknown[]): string {
  return values.map(csvCell).join(",") + "\r\n";
}

/** The columns of an events export, in order: every field of the API's event. */
export const EVENT_CSV_COLUMNS: (keyof EventPublic)[] = [
  "event_id",
  "ts",
  "project_id",
  "api_key_id",
  "provider",
  "model",
  "requested_model",
  "endpoint",
  "request_type",
  "status",
  "error_type",
  "user",
  "end_user",
  "team",
  "feature",
  "tags",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "reasoning_tokens",
  "latency_ms",
  "time_to_first_token_ms",
  "cost_usd",
  "cost_input_usd",
  "cost_cache_read_usd",
  "cost_cache_write_usd",
  "cost_output_usd",
  "cost_reasoning_usd",
  "billed_cost_usd",
  "currency",
  "fx_rate",
  "cost",
  "billed_cost",
  "reported_cost_usd",
  "price_source",
  "energy_kwh",
  "co2e_kg",
  "water_l",
  "prompt_hash",
  "trace_id",
  "source",
  "ingested_at",
];

export function eventsCsvHeader(): string {
  return csvLine(EVENT_CSV_COLUMNS);
}

export function eventsCsvRows(events: EventPublic[]): string {
  return events.map((event) => csvLine(EVENT_CSV_COLUMNS.map((column) => event[column]))).join("");
}
