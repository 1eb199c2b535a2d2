import { describe, expect, it } from "vitest";
import type { Breakdown, Series, Timeseries } from "../api/client";
import {
  DEFAULT_EXPLORE,
  exploreFilterParams,
  parseExplore,
  pointsCsv,
  PREVIOUS_TOTAL,
  previousRange,
  serializeExplore,
  seriesTotals,
  timeseriesParams,
  toExploreChart,
  toggleExploreFilter,
  valueFromSummary,
  valuesFromBreakdown,
  withPreviousTotal,
  totalsCsv,
  type ExploreState,
} from "./explore";
import { parseViewState } from "./urlState";

const DAYS = ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"];
const BEFORE = ["2026-02-26T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-02-28T00:00:00+00:00"];

function series(key: string | null, values: (number | null)[], starts = DAYS, isOther = false): Series {
  return { key, is_other: isOther, points: values.map((value, i) => ({ start: starts[i]!, value })) };
}

function timeseries(list: Series[], groupBy: string | null = "model", metric = "cost"): Timeseries {
  return {
    metric,
    interval: "day",
    group_by: groupBy,
    timezone: "UTC",
    currency: "USD",
    fx_rate: 1,
    period: { from: DAYS[0]!, to: "2026-03-04T00:00:00+00:00" },
    series: list,
  };
}

describe("explore state in the URL", () => {
  it("reads every parameter and ignores what is invalid", () => {
    const state = parseExplore(
      "metric=latency_p95&group_by=tag.region&interval=week&chart=bar&compare=previous_period&team=b&team=a&team=a&tag.env=prod&tag.env=dev&api_key=&foo=1",
    );
    expect(state).toEqual<ExploreState>({
      metric: "latency_p95",
      groupBy: "tag.region",
      interval: "week",
      chart: "bar",
      compare: true,
      filters: { team: ["a", "b"] },
      tags: { env: ["dev", "prod"] },
    });
    expect(parseExplore("metric=nope&group_by=colour&interval=year&chart=pie&compare=yes&tag.=x")).toEqual(DEFAULT_EXPLORE);
    expect(parseExplore("group_by=tag.").groupBy).toBeNull();
  });

  it("writes a canonical query string that keeps the shared view state", () => {
    const state: ExploreState = {
      ...DEFAULT_EXPLORE,
      metric: "cost",
      groupBy: "model",
      interval: "day",
      compare: true,
      filters: { end_user: ["u2", "u1"] },
      tags: { team: ["x"], env: ["prod"] },
    };
    const base = new URLSearchParams("range=7d&model=gpt-4o&metric=requests&tag.old=1&chart=bar");
    expect(serializeExplore(state, base).toString()).toBe(
      "range=7d&model=gpt-4o&group_by=model&interval=day&compare=previous_period&end_user=u1&end_user=u2&tag.env=prod&tag.team=x",
    );
    // A round trip gives the same state back.
    expect(parseExplore(serializeExplore(state, base))).toEqual({ ...state, filters: { end_user: ["u1", "u2"] } });
    expect(serializeExplore(DEFAULT_EXPLORE, "range=today").toString()).toBe("range=today");
  });

  it("toggles extra and tag filters, dropping empty ones", () => {
    let state = toggleExploreFilter(DEFAULT_EXPLORE, "team", "ops");
    state = toggleExploreFilter(state, "tag.env", "prod");
    expect(state.filters).toEqual({ team: ["ops"] });
    expect(state.tags).toEqual({ env: ["prod"] });
    state = toggleExploreFilter(toggleExploreFilter(state, "team", "ops"), "tag.env", "prod");
    expect(state.filters).toEqual({});
    expect(state.tags).toEqual({});
    expect(toggleExploreFilter(DEFAULT_EXPLORE, "model", "x")).toBe(DEFAULT_EXPLORE); // the header's
  });
});

describe("API parameters", () => {
  const view = parseViewState("range=7d&model=gpt-4o&project=web");
  const state: ExploreState = { ...DEFAULT_EXPLORE, metric: "errors", groupBy: "feature", filters: { team: ["ops"] }, tags: { env: ["prod"] } };

  it("the previous period has the same number of days and ends the day before", () => {
    expect(previousRange({ from: "2026-03-01", to: "2026-03-07" })).toEqual({ from: "2026-02-22", to: "2026-02-28" });
    expect(previousRange({ from: "2026-03-10", to: "2026-03-10" })).toEqual({ from: "2026-03-09", to: "2026-03-09" });
  });

  it("adds this page's filters to the header's", () => {
    expect(exploreFilterParams(view, "2026-03-07", state).toString()).toBe(
      "from=2026-03-01&to=2026-03-07&project=web&model=gpt-4o&team=ops&tag.env=prod",
    );
  });

  it("asks the timeseries for the metric, interval and grouping over a given range", () => {
    const params = timeseriesParams(view, "2026-03-07", state, { from: "2026-02-22", to: "2026-02-28" }, "day");
    expect(params.get("from")).toBe("2026-02-22");
    expect(params.get("to")).toBe("2026-02-28");
    expect(params.get("metric")).toBe("errors");
    expect(params.get("interval")).toBe("day");
    expect(params.get("group_by")).toBe("feature");
    expect(params.get("top")).toBe("10");
    expect(timeseriesParams(view, "2026-03-07", DEFAULT_EXPLORE, { from: "2026-03-01", to: "2026-03-07" }, "hour").has("group_by")).toBe(false);
  });
});

describe("chart rows", () => {
  it("orders series by total, puts Other last and aligns the previous period by position", () => {
    const current = timeseries([
      series("small", [1, 0, 0]),
      series("other", [5, 5, 5], DAYS, true),
      series("big", [2, 3, 4]),
      series("silent", [0, 0, 0]),
    ]);
    const previous = timeseries([series("big", [1, 1, 1], BEFORE), series("gone", [7, null, 0], BEFORE)]);
    const chart = toExploreChart(current, previous, "cost");
    expect(chart.series.map((s) => [s.id, s.name])).toEqual([
      ["s0", "big"],
      ["s1", "small"],
      ["s2", "Other"],
    ]);
    expect(chart.rows[0]).toEqual({ start: DAYS[0], s0: 2, s1: 1, s2: 5, p0: 1, p1: null, p2: null, previousStart: BEFORE[0], [PREVIOUS_TOTAL]: 8 });
    expect(chart.rows[1]![PREVIOUS_TOTAL]).toBe(1);
    expect(chart.stackable).toBe(true);
    expect(chart.hasPrevious).toBe(true);
  });

  it("keeps gaps of rates and names the ungrouped series Total", () => {
    const chart = toExploreChart(timeseries([series(null, [0.1, null, 0.3])], null, "error_rate"), undefined, "error_rate");
    expect(chart.series.map((s) => s.name)).toEqual(["Total"]);
    expect(chart.rows.map((r) => r.s0)).toEqual([0.1, null, 0.3]);
    expect(chart.stackable).toBe(false);
    expect(chart.rows[0]).not.toHaveProperty("p0");
  });

  it("a previous period with fewer buckets leaves the rest empty", () => {
    const chart = toExploreChart(timeseries([series("a", [1, 2, 3])]), timeseries([series("a", [4, 5], BEFORE)]), "cost");
    expect(chart.rows.map((r) => r.p0)).toEqual([4, 5, null]);
    expect(chart.rows.map((r) => r[PREVIOUS_TOTAL])).toEqual([4, 5, null]);
  });
});

describe("totals", () => {
  it("sums additive series, compares with the previous period's whole series and adds an All row", () => {
    const current = timeseries([series("a", [1, 2, 3]), series("b", [0.5, 0.5, 0])]);
    const previous = timeseries([series("a", [2, 2, 2], BEFORE), series("z", [1, 0, 0], BEFORE)]);
    const chart = toExploreChart(current, previous, "cost");
    const rows = seriesTotals(chart, current, previous, "cost");
    expect(rows.map((r) => [r.name, r.value, r.previous, r.change, r.share])).toEqual([
      ["a", 6, 6, 0, 6 / 7],
      ["b", 1, 0, null, 1 / 7],
      ["All", 7, 7, 0, 1],
    ]);
  });

  it("takes non-additive figures from the period values, none for Other", () => {
    const current = timeseries([series("a", [0.5, 0.1, 0]), series("other", [0.2, 0, 0], DAYS, true)], "model", "error_rate");
    const chart = toExploreChart(current, undefined, "error_rate");
    const rows = seriesTotals(chart, current, undefined, "error_rate", {
      current: { byKey: new Map([["a", 0.25]]), all: 0.2 },
    });
    expect(rows.map((r) => [r.name, r.value, r.previous, r.share])).toEqual([
      ["a", 0.25, null, null],
      ["Other", null, null, null],
      ["All", 0.2, null, null],
    ]);
  });

  it("ungrouped: one Total row, the whole period's figure", () => {
    const current = timeseries([series(null, [1, 2, 3])], null);
    const previous = timeseries([series(null, [1, 1, 1], BEFORE)], null);
    const rows = seriesTotals(toExploreChart(current, previous, "cost"), current, previous, "cost");
    expect(rows).toEqual([{ id: "s0", name: "Total", key: null, isOther: false, value: 6, previous: 3, change: 1, share: 1 }]);
  });

  it("reads error rates and average costs of both periods from a breakdown, and the summary's figures", () => {
    const breakdown: Breakdown = {
      by: "model",
      sort: "requests",
      currency: "USD",
      fx_rate: 1,
      period: { from: DAYS[0]!, to: DAYS[2]! },
      rows: [
        {
          key: "a",
          requests: 4,
          cost_usd: 2,
          cost: 2,
          input_tokens: 0,
          output_tokens: 0,
          tokens: 0,
          errors: 1,
          error_rate: 0.25,
          share: 1,
          previous: { requests: 0, cost_usd: 0, cost: 0, input_tokens: 0, output_tokens: 0, tokens: 0, errors: 0, error_rate: null },
        },
      ],
    };
    expect(valuesFromBreakdown(breakdown, "avg_cost")).toEqual(new Map([["a", 0.5]]));
    expect(valuesFromBreakdown(breakdown, "error_rate", true)).toEqual(new Map([["a", null]]));
    expect(valueFromSummary(undefined, "error_rate")).toBeNull();
  });
});

describe("CSV", () => {
  it("writes the totals and the points with raw numbers", () => {
    const current = timeseries([series("a", [1, 2, 3])]);
    const previous = timeseries([series("a", [1, 1, 1], BEFORE)]);
    const chart = toExploreChart(current, previous, "cost");
    const rows = seriesTotals(chart, current, previous, "cost");
    expect(totalsCsv(rows, "cost", true, "EUR")).toBe(
      "series,Cost (EUR),previous period,change,share\r\na,6,3,1,1\r\nAll,6,3,1,1\r\n",
    );
    expect(pointsCsv(chart).split("\r\n")[0]).toBe("bucket_start,a,previous_bucket_start,a (previous period)");
    expect(pointsCsv(chart).split("\r\n")[1]).toBe(`${DAYS[0]},1,${BEFORE[0]},1`);
  });
});

describe("the overview's previous-period overlay", () => {
  it("adds the previous period's total per bucket on the same positions", () => {
    const rows = [{ start: DAYS[0]! }, { start: DAYS[1]! }, { start: DAYS[2]! }];
    const previous = timeseries([series("a", [1, 2], BEFORE), series("b", [0.5, null], BEFORE)]);
    expect(withPreviousTotal(rows, previous)).toEqual([
      { start: DAYS[0], previousTotal: 1.5, previousStart: BEFORE[0] },
      { start: DAYS[1], previousTotal: 2, previousStart: BEFORE[1] },
      { start: DAYS[2], previousTotal: null, previousStart: null },
    ]);
    expect(withPreviousTotal(rows, undefined)).toBe(rows);
  });
});
