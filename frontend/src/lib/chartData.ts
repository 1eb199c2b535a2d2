/** Shapes API answers into the rows Recharts draws. Pure, so it is tested without a browser. */
import type { Series } from "../api/client";

export interface SeriesInfo {
  /** The data key in each row. */
  id: string;
  /** What the legend shows. */
  name: string;
  isOther: boolean;
}

export interface StackedRows {
  series: SeriesInfo[];
  rows: Array<Record<string, number | string>>;
}

/** The legend name of a series: its label, its key, "(none)" for events without the dimension. */
export function seriesName(series: Pick<Series, "key" | "label" | "is_other">): string {
  if (series.is_other) return "Other";
  return series.label ?? series.key ?? "(none)";
}

/**
 * One row per bucket with one column per series (`s0`, `s1`, … to stay clear of odd model names),
 * null values drawn as 0 so stacks stay whole. Series with nothing in the period are left out;
 * the rest are ordered by their total, largest first, with "Other" last.
 */
export function toStackedRows(series: Series[]): StackedRows {
  const total = (s: Series) => s.points.reduce((sum, p) => sum + (p.value ?? 0), 0);
  // Largest first and "Other" last, so colours follow the same ranking as the breakdowns.
  const kept = series
    .filter((s) => s.points.some((p) => (p.value ?? 0) !== 0))
    .map((s) => ({ s, total: total(s) }))
    .sort((a, b) => Number(a.s.is_other) - Number(b.s.is_other) || b.total - a.total)
    .map(({ s }) => s);
  const info = kept.map((s, index) => ({ id: `s${index}`, name: seriesName(s), isOther: s.is_other ?? false }));
  const byStart = new Map<string, Record<string, number | string>>();
  kept.forEach((s, index) => {
    for (const point of s.points) {
      let row = byStart.get(point.start);
      if (!row) {
        row = { start: point.start };
        for (const other of info) row[other.id] = 0;
        byStart.set(point.start, row);
      }
      row[`s${index}`] = point.value ?? 0;
    }
  });
  const rows = [...byStart.values()].sort((a, b) => Date.parse(String(a.start)) - Date.parse(String(b.start)));
  return { series: info, rows };
}

/** Relative change, null without a baseline (as the API reports it). */
export function relativeChange(current: number | null | undefined, previous: number | null | undefined): number | null {
  if (current == null || previous == null || previous === 0) return null;
  return (current - previous) / previous;
}

/** A palette readable on white and on slate-900; "Other" is always grey. */
export const PALETTE = [
  "#6366f1",
  "#06b6d4",
  "#f59e0b",
  "#10b981",
  "#ec4899",
  "#8b5cf6",
  "#ef4444",
  "#84cc16",
  "#0ea5e9",
  "#f97316",
];
export const OTHER_COLOR = "#94a3b8";

export function colorFor(index: number, isOther = false): string {
  return isOther ? OTHER_COLOR : (PALETTE[index % PALETTE.length] ?? OTHER_COLOR);
}
