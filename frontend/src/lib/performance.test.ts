import { describe, expect, it } from "vitest";
import type { PerformanceRow } from "../api/client";
import { errorShares, latencyBars, overallSuccess, parseGroup } from "./performance";

function row(key: string | null, p50: number | null, p95: number | null, requests = 10, errors = 0): PerformanceRow {
  return {
    key,
    requests,
    errors,
    success_rate: requests ? (requests - errors) / requests : null,
    latency_p50_ms: p50,
    latency_p90_ms: p95,
    latency_p95_ms: p95,
    latency_p99_ms: p95,
    ttft_p50_ms: null,
    ttft_p95_ms: null,
    error_types: {},
  };
}

describe("parseGroup", () => {
  it("keeps known groupings and defaults to model", () => {
    expect(parseGroup("provider")).toBe("provider");
    expect(parseGroup("nonsense")).toBe("model");
    expect(parseGroup(null)).toBe("model");
  });
});

describe("latencyBars", () => {
  it("orders by p95, slowest first, and leaves out groups without latency", () => {
    const bars = latencyBars([row("fast", 100, 200), row("none", null, null), row(null, 900, 2000), row("mid", 300, 800)]);
    expect(bars.map((bar) => bar.name)).toEqual(["(none)", "mid", "fast"]);
    expect(bars[0]).toEqual({ name: "(none)", p50: 900, p95: 2000, p99: 2000 });
  });
});

describe("errorShares", () => {
  it("gives each type its share, most frequent first", () => {
    expect(
      errorShares([
        { error_type: "timeout", count: 1 },
        { error_type: null, count: 1 },
        { error_type: "rate_limit", count: 2 },
        { error_type: "x", count: 0 },
      ]),
    ).toEqual([
      { name: "rate_limit", count: 2, share: 0.5 },
      { name: "timeout", count: 1, share: 0.25 },
      { name: "unknown", count: 1, share: 0.25 },
    ]);
  });
});

describe("overallSuccess", () => {
  it("weights by requests", () => {
    expect(overallSuccess([row("a", 1, 1, 10, 1), row("b", 1, 1, 30, 3)])).toEqual({ requests: 40, errors: 4, rate: 0.9 });
    expect(overallSuccess([])).toEqual({ requests: 0, errors: 0, rate: null });
  });
});
