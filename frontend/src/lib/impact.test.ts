import { describe, expect, it } from "vitest";
import type { ImpactRow } from "../api/client";
import { formatQuantity, impactBars, impactCoverage, modelsWithoutImpact } from "./impact";

const row = (key: string | null, requests: number, withImpact: number, energy: number): ImpactRow => ({
  key,
  requests,
  requests_with_impact: withImpact,
  energy_kwh: energy,
  co2e_kg: energy / 2,
  water_l: energy * 3,
  m2_restored: 0,
});

describe("impact", () => {
  it("keeps models with data, most energy first", () => {
    const bars = impactBars([row("small", 5, 5, 0.1), row("unknown", 3, 0, 0), row("big", 2, 2, 4)]);
    expect(bars.map((bar) => bar.name)).toEqual(["big", "small"]);
    expect(bars[0]?.co2e_kg).toBe(2);
  });

  it("lists models without data", () => {
    expect(modelsWithoutImpact([row("b", 1, 0, 0), row("a", 1, 0, 0), row("c", 1, 1, 1)])).toEqual(["a", "b"]);
  });

  it("computes coverage", () => {
    expect(impactCoverage({ requests: 4, requests_with_impact: 3 })).toBe(0.75);
    expect(impactCoverage({ requests: 0, requests_with_impact: 0 })).toBeNull();
  });

  it("formats quantities", () => {
    expect(formatQuantity(0.000423456, "kWh", "en-US")).toBe("0.000423 kWh");
    expect(formatQuantity(12.345, "kg", "en-US")).toBe("12.35 kg");
    expect(formatQuantity(1234.5, "L", "en-US")).toBe("1,235 L");
    expect(formatQuantity(0, "L", "en-US")).toBe("0 L");
    expect(formatQuantity(null, "L", "en-US")).toBe("—");
  });
});
