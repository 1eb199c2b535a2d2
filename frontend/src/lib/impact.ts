/** The impact page's pure parts: figures per model and how much of the usage they cover. */
import type { ImpactRow } from "../api/client";

export interface ImpactBar {
  name: string;
  energy_kwh: number;
  co2e_kg: number;
  water_l: number;
  requests: number;
  requests_with_impact: number;
}

/** Rows whose model has impact data, most energy first, for the bar chart. */
export function impactBars(rows: ImpactRow[], limit = 12): ImpactBar[] {
  return rows
    .filter((row) => row.requests_with_impact > 0)
    .map((row) => ({
      name: row.key ?? "(none)",
      energy_kwh: row.energy_kwh,
      co2e_kg: row.co2e_kg,
      water_l: row.water_l,
      requests: row.requests,
      requests_with_impact: row.requests_with_impact,
    }))
    .sort((a, b) => b.energy_kwh - a.energy_kwh || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/** Models called in the period that have no impact data (so no figure), sorted by name. */
export function modelsWithoutImpact(rows: ImpactRow[]): string[] {
  return rows
    .filter((row) => row.requests > 0 && row.requests_with_impact === 0)
    .map((row) => row.key ?? "(none)")
    .sort((a, b) => a.localeCompare(b));
}

/** Share of the calls that have an impact estimate; null without calls. */
export function impactCoverage(total: Pick<ImpactRow, "requests" | "requests_with_impact">): number | null {
  return total.requests > 0 ? total.requests_with_impact / total.requests : null;
}

/**
 * A physical quantity with enough digits to read small per-call values (0.00042 kWh) and
 * grouping for large ones (1,234 kWh).
 */
export function formatQuantity(value: number | null | undefined, unit: string, locale?: string): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  const options: Intl.NumberFormatOptions =
    abs === 0 ? { maximumFractionDigits: 0 } : abs < 1 ? { maximumSignificantDigits: 3 } : { maximumFractionDigits: abs < 100 ? 2 : 0 };
  return `${new Intl.NumberFormat(locale, options).format(value)} ${unit}`;
}
