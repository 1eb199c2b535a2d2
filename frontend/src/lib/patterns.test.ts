import { describe, expect, it } from "vitest";
import { heatLevel, heatmapGrid, hourLabel, parseHeatmapMetric, shortHash } from "./patterns";

describe("heatmap", () => {
  it("parses the metric of the URL", () => {
    expect(parseHeatmapMetric("cost")).toBe("cost");
    expect(parseHeatmapMetric(null)).toBe("requests");
    expect(parseHeatmapMetric("tokens")).toBe("requests");
  });

  it("builds a zero-filled 7 × 24 grid, Monday first", () => {
    const grid = heatmapGrid([
      { weekday: 1, hour: 0, value: 2 },
      { weekday: 7, hour: 23, value: 5 },
      { weekday: 8, hour: 1, value: 99 },
      { weekday: 3, hour: 24, value: 99 },
    ]);
    expect(grid.rows).toHaveLength(7);
    expect(grid.rows.every((row) => row.length === 24)).toBe(true);
    expect(grid.rows[0]?.[0]).toBe(2);
    expect(grid.rows[6]?.[23]).toBe(5);
    expect(grid.max).toBe(5);
    expect(grid.total).toBe(7);
  });

  it("maps values to colour steps", () => {
    expect(heatLevel(0, 10)).toBe(0);
    expect(heatLevel(5, 0)).toBe(0);
    expect(heatLevel(0.01, 10)).toBe(1);
    expect(heatLevel(10, 10)).toBe(5);
    expect(heatLevel(5, 10)).toBe(3);
  });

  it("labels hours and hashes", () => {
    expect(hourLabel(9)).toBe("09:00–10:00");
    expect(hourLabel(23)).toBe("23:00–00:00");
    expect(shortHash("abcdef0123456789")).toBe("abcdef012345…");
    expect(shortHash("abc")).toBe("abc");
  });
});
