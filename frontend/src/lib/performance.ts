/** The performance page's pure parts: the grouping held in the URL, chart rows, error shares. */
import type { ErrorCount, PerformanceRow } from "../api/client";

export const PERFORMANCE_GROUPS = ["model", "provider", "feature", "project"] as const;
export type PerformanceGroup = (typeof PERFORMANCE_GROUPS)[number];

export const GROUP_LABELS: Record<PerformanceGroup, string> = {
  model: "Model",
  provider: "Provider",
  feature: "Feature",
  project: "Project",
};

/** `?by=` of the URL; anything unknown is the default, `model`. */
export function parseGroup(value: string | null): PerformanceGroup {
  return PERFORMANCE_GROUPS.includes(value as PerformanceGroup) ? (value as PerformanceGroup) : "model";
}

export function groupName(row: Pick<PerformanceRow, "key" | "label">): string {
  return row.label ?? row.key ?? "(none)";
}

export interface LatencyBar {
  name: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Groups that report a latency, slowest p95 first, for the bar chart. */
export function latencyBars(rows: PerformanceRow[], limit = 12): LatencyBar[] {
  return rows
    .filter((row) => row.latency_p50_ms !== null || row.latency_p95_ms !== null)
    .map((row) => ({ name: groupName(row), p50: row.latency_p50_ms, p95: row.latency_p95_ms, p99: row.latency_p99_ms }))
    .sort((a, b) => (b.p95 ?? b.p50 ?? 0) - (a.p95 ?? a.p50 ?? 0))
    .slice(0, limit);
}

export interface ErrorShare {
  name: string;
  count: number;
  share: number;
}

/** Errors by type, most frequent first, each with its part of all errors. */
export function errorShares(errors: ErrorCount[]): ErrorShare[] {
  const total = errors.reduce((sum, error) => sum + error.count, 0);
  return errors
    .filter((error) => error.count > 0)
    .map((error) => ({ name: error.error_type ?? "unknown", count: error.count, share: total > 0 ? error.count / total : 0 }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

/** Success over all groups, weighted by requests; null without requests. */
export function overallSuccess(rows: PerformanceRow[]): { requests: number; errors: number; rate: number | null } {
  const requests = rows.reduce((sum, row) => sum + row.requests, 0);
  const errors = rows.reduce((sum, row) => sum + row.errors, 0);
  return { requests, errors, rate: requests > 0 ? (requests - errors) / requests : null };
}
