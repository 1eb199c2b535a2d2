import { describe, expect, it } from "vitest";
import { relativeChange, seriesName, toStackedRows } from "./chartData";

describe("toStackedRows", () => {
  it("pivots series into one row per bucket, dropping empty series", () => {
    const result = toStackedRows([
      { key: "gpt-4o", is_other: false, points: [{ start: "2026-01-02T00:00:00Z", value: 2 }, { start: "2026-01-01T00:00:00Z", value: 1 }] },
      { key: "unused", is_other: false, points: [{ start: "2026-01-01T00:00:00Z", value: 0 }, { start: "2026-01-02T00:00:00Z", value: null }] },
      { key: null, is_other: true, points: [{ start: "2026-01-01T00:00:00Z", value: null }, { start: "2026-01-02T00:00:00Z", value: 5 }] },
    ]);
    expect(result.series).toEqual([
      { id: "s0", name: "gpt-4o", isOther: false },
      { id: "s1", name: "Other", isOther: true },
    ]);
    expect(result.rows).toEqual([
      { start: "2026-01-01T00:00:00Z", s0: 1, s1: 0 },
      { start: "2026-01-02T00:00:00Z", s0: 2, s1: 5 },
    ]);
  });

  it("orders series by total, Other last", () => {
    const point = (value: number) => [{ start: "2026-01-01T00:00:00Z", value }];
    const result = toStackedRows([
      { key: null, is_other: true, points: point(100) },
      { key: "small", is_other: false, points: point(1) },
      { key: "big", is_other: false, points: point(9) },
    ]);
    expect(result.series.map((s) => s.name)).toEqual(["big", "small", "Other"]);
  });

  it("has no rows without series", () => {
    expect(toStackedRows([])).toEqual({ series: [], rows: [] });
  });
});

describe("helpers", () => {
  it("names series", () => {
    expect(seriesName({ key: "p1", label: "customer-app", is_other: false })).toBe("customer-app");
    expect(seriesName({ key: null, is_other: false })).toBe("(none)");
  });

  it("computes relative changes", () => {
    expect(relativeChange(150, 100)).toBe(0.5);
    expect(relativeChange(5, 0)).toBeNull();
    expect(relativeChange(null, 3)).toBeNull();
  });
});
