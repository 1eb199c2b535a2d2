/** The usage-patterns page's pure parts: the heatmap metric held in the URL and the 7 × 24 grid. */
import type { HeatmapCell, HeatmapMetric } from "../api/client";

export const HEATMAP_METRICS: readonly HeatmapMetric[] = ["requests", "cost"];

/** `?heat=` of the URL; anything unknown is the default, `requests`. */
export function parseHeatmapMetric(value: string | null): HeatmapMetric {
  return value === "cost" ? "cost" : "requests";
}

/** Monday first, as the API numbers weekdays (1 = Monday … 7 = Sunday). */
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
export const WEEKDAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export interface HeatmapGrid {
  /** rows[weekday - 1][hour] */
  rows: number[][];
  max: number;
  total: number;
}

/** The API's cells as a zero-filled 7 × 24 grid; cells outside the grid are ignored. */
export function heatmapGrid(cells: HeatmapCell[]): HeatmapGrid {
  const rows = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  let max = 0;
  let total = 0;
  for (const cell of cells) {
    const row = rows[cell.weekday - 1];
    if (!row || cell.hour < 0 || cell.hour > 23 || !Number.isFinite(cell.value)) continue;
    row[cell.hour] = (row[cell.hour] ?? 0) + cell.value;
  }
  for (const row of rows) {
    for (const value of row) {
      total += value;
      if (value > max) max = value;
    }
  }
  return { rows, max, total };
}

/** Colour step 0 (nothing) … 5 (the busiest cell) of a value; any non-zero value is at least 1. */
export function heatLevel(value: number, max: number, steps = 5): number {
  if (!(value > 0) || !(max > 0)) return 0;
  return Math.min(steps, Math.max(1, Math.ceil((value / max) * steps)));
}

/** "09:00–10:00" for hour 9. */
export function hourLabel(hour: number): string {
  const pad = (h: number) => String(h).padStart(2, "0");
  return `${pad(hour)}:00–${pad((hour + 1) % 24)}:00`;
}

/** A prompt hash shortened for a table cell; the full hash goes in the title. */
export function shortHash(hash: string, length = 12): string {
  return hash.length > length ? `${hash.slice(0, length)}…` : hash;
}
