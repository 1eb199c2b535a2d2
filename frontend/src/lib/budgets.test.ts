import { describe, expect, it } from "vitest";
import { ApiError, type BudgetPublic, type BudgetStatus } from "../api/client";
import {
  addThreshold,
  barWidth,
  budgetApiErrors,
  budgetBody,
  budgetForm,
  budgetTone,
  EMPTY_BUDGET,
  formatBudgetPercent,
  formatPeriodRange,
  formatScope,
  spendChartData,
  spendChartQuery,
  TONE_BAR_CLASS,
  topBudgets,
  type BudgetForm,
} from "./budgets";

const STATUS: BudgetStatus = {
  spent: 60,
  reserved: 5,
  remaining: 35,
  limit: 100,
  percent: 60,
  currency: "USD",
  period_start: "2026-05-01T00:00:00Z",
  period_end: "2026-06-01T00:00:00Z",
  forecast_exhaustion_date: null,
  forecast_period_spend: 90,
  thresholds_reached: [50],
};

function budget(overrides: Partial<BudgetPublic> = {}): BudgetPublic {
  return {
    id: "b1",
    name: "Org monthly",
    scope: {},
    period: "month",
    starts_on: null,
    limit: 100,
    currency: "USD",
    thresholds: [50, 80, 100],
    action: "alert",
    rollover: false,
    channel_ids: [],
    enabled: true,
    created_at: "2026-05-01T00:00:00Z",
    updated_at: "2026-05-01T00:00:00Z",
    status: STATUS,
    ...overrides,
  };
}

describe("budgetTone", () => {
  it("is ok below 80 %, warn from 80 %, over from 100 %", () => {
    expect(budgetTone(0)).toBe("ok");
    expect(budgetTone(79.99)).toBe("ok");
    expect(budgetTone(80)).toBe("warn");
    expect(budgetTone(99.9)).toBe("warn");
    expect(budgetTone(100)).toBe("over");
    expect(budgetTone(250)).toBe("over");
  });

  it("maps each tone to one bar colour", () => {
    expect(TONE_BAR_CLASS[budgetTone(85)]).toBe("bg-amber-500");
    expect(TONE_BAR_CLASS[budgetTone(120)]).toBe("bg-rose-600");
    expect(TONE_BAR_CLASS[budgetTone(10)]).toBe("bg-emerald-500");
  });

  it("caps the bar at a full width and rounds the percentage for reading", () => {
    expect(barWidth(-3)).toBe(0);
    expect(barWidth(42.5)).toBe(42.5);
    expect(barWidth(180)).toBe(100);
    expect(barWidth(Number.NaN)).toBe(0);
    expect(formatBudgetPercent(85.04)).toBe("85%");
    expect(formatBudgetPercent(0.46)).toBe("0.5%");
    expect(formatBudgetPercent(123.6)).toBe("124%");
  });
});

describe("topBudgets", () => {
  it("keeps the enabled budgets closest to their limit, highest first", () => {
    const list = [
      budget({ id: "a", name: "a", status: { ...STATUS, percent: 20 } }),
      budget({ id: "b", name: "b", status: { ...STATUS, percent: 120 } }),
      budget({ id: "c", name: "c", status: { ...STATUS, percent: 90 }, enabled: false }),
      budget({ id: "d", name: "d", status: { ...STATUS, percent: 85 } }),
      budget({ id: "e", name: "e", status: { ...STATUS, percent: 40 } }),
    ];
    expect(topBudgets(list).map((b) => b.id)).toEqual(["b", "d", "e"]);
  });
});

describe("formatScope", () => {
  it("says whole organisation for an empty scope", () => {
    expect(formatScope({})).toBe("Whole organisation");
  });

  it("lists conditions in a fixed order with project and key names instead of ids", () => {
    const names = { projects: new Map([["p-1", "web-app"]]), apiKeys: new Map([["k-1", "tko_ab12"]]) };
    expect(formatScope({ model: "gpt-4o", project: "p-1", api_key: "k-1", end_user: "u42" }, names)).toBe(
      "Project web-app · End user u42 · API key tko_ab12 · Model gpt-4o",
    );
    expect(formatScope({ project: "unknown-id" }, names)).toBe("Project unknown-id");
  });
});

describe("formatPeriodRange", () => {
  // Intl puts thin spaces around the range's dash.
  const range = (...args: Parameters<typeof formatPeriodRange>) => formatPeriodRange(...args).replace(/\s/g, " ");

  it("shows the period's days with an exclusive end", () => {
    expect(range("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", "UTC", "en-US")).toBe("May 1 – 31, 2026");
    expect(range("2026-05-04T00:00:00Z", "2026-05-11T00:00:00Z", "UTC", "en-US")).toBe("May 4 – 10, 2026");
  });

  it("reads the days in the organisation's time zone", () => {
    // Berlin's May starts at 22:00 UTC on April 30.
    expect(range("2026-04-30T22:00:00Z", "2026-05-31T22:00:00Z", "Europe/Berlin", "en-US")).toBe("May 1 – 31, 2026");
  });

  it("describes total budgets", () => {
    expect(formatPeriodRange("1970-01-01T00:00:00Z", null, "UTC", "en-US")).toBe("all time");
    expect(formatPeriodRange("2026-01-05T00:00:00Z", null, "UTC", "en-US")).toBe("since Jan 5, 2026");
    expect(formatPeriodRange(null, null, "UTC", "en-US")).toBe("not started");
  });
});

describe("budgetBody", () => {
  const valid: BudgetForm = { ...EMPTY_BUDGET, name: " Org ", limit: "12,5" };

  it("builds the API body from a valid form", () => {
    const { body, errors } = budgetBody({
      ...valid,
      scope: [
        { key: 1, dimension: "project", value: "web-app " },
        { key: 2, dimension: "model", value: "gpt-4o" },
      ],
      thresholds: [100, 50],
      starts_on: "2026-01-15",
    });
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "Org",
      scope: { project: "web-app", model: "gpt-4o" },
      period: "month",
      starts_on: "2026-01-15",
      limit: 12.5,
      thresholds: [50, 100],
      action: "alert",
      rollover: false,
      channel_ids: [],
      enabled: true,
    });
  });

  it("defaults to the whole organisation, thresholds 50/80/100 and no custom start", () => {
    const { body } = budgetBody(valid);
    expect(body.scope).toEqual({});
    expect(body.thresholds).toEqual([50, 80, 100]);
    expect(body.starts_on).toBeNull();
  });

  it("names each problem on its field", () => {
    const { errors } = budgetBody({
      ...EMPTY_BUDGET,
      name: "  ",
      limit: "abc",
      period: "total",
      rollover: true,
      scope: [
        { key: 7, dimension: "team", value: "" },
        { key: 8, dimension: "model", value: "a" },
        { key: 9, dimension: "model", value: "b" },
      ],
    });
    expect(errors).toEqual({
      name: "Give the budget a name.",
      limit: "Enter a number, e.g. 500 or 12.50.",
      rollover: "Rollover needs a repeating period: a total budget has no previous period.",
      "scope.7": "Enter the team, or remove this condition.",
      "scope.9": "Model is already used: a budget matches one value per dimension.",
    });
    expect(budgetBody({ ...valid, limit: "" }).errors.limit).toBe("Enter the limit, e.g. 500.");
    expect(budgetBody({ ...valid, limit: "0" }).errors.limit).toBe("The limit must be more than 0.");
  });
});

describe("addThreshold", () => {
  it("adds a percentage, sorted", () => {
    expect(addThreshold([50, 100], "90%")).toEqual({ thresholds: [50, 90, 100], error: null });
    expect(addThreshold([50], "12,5")).toEqual({ thresholds: [12.5, 50], error: null });
  });

  it("refuses duplicates, out-of-range and non-numbers", () => {
    expect(addThreshold([50], "50").error).toBe("50% is already a threshold.");
    expect(addThreshold([50], "0").error).toBe("A threshold is a percentage above 0 and at most 1000.");
    expect(addThreshold([50], "2000").error).toBe("A threshold is a percentage above 0 and at most 1000.");
    expect(addThreshold([50], "x").error).toBe("A threshold is a percentage above 0 and at most 1000.");
    expect(addThreshold([50], " ").error).toBe("Enter a percentage of the limit, e.g. 90.");
    expect(addThreshold([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "11").error).toBe("At most 10 thresholds.");
  });
});

describe("budgetApiErrors", () => {
  const form: BudgetForm = {
    ...EMPTY_BUDGET,
    scope: [{ key: 3, dimension: "project", value: "nope" }],
    thresholds: [50, 2000],
  };

  it("puts scope issues on their row, threshold issues on the chips and the rest on fields", () => {
    const error = new ApiError(
      422,
      [
        { loc: ["body", "scope", "project"], msg: "no project 'nope' in this organisation", type: "value_error" },
        { loc: ["body", "thresholds", 1], msg: "Input should be less than or equal to 1000", type: "less_than_equal" },
        { loc: ["body", "limit"], msg: "Input should be greater than 0", type: "greater_than" },
        { loc: ["body"], msg: "Value error, rollover needs a repeating period (a total budget has no previous period)", type: "value_error" },
      ],
      "422",
    );
    expect(budgetApiErrors(error, form)).toEqual({
      fields: {
        "scope.3": "no project 'nope' in this organisation",
        thresholds: "2000%: Input should be less than or equal to 1000",
        limit: "Input should be greater than 0",
        rollover: "rollover needs a repeating period (a total budget has no previous period)",
      },
      general: null,
    });
  });

  it("keeps other errors for the whole form", () => {
    expect(budgetApiErrors(new ApiError(404, "budget not found", "404"), form)).toEqual({ fields: {}, general: "budget not found" });
    expect(budgetApiErrors(null, form)).toEqual({ fields: {}, general: null });
  });
});

describe("budgetForm", () => {
  it("shows a stored budget with project names instead of ids", () => {
    const form = budgetForm(budget({ scope: { project: "p-1", model: "gpt-4o" }, starts_on: "2026-01-15" }), {
      projects: new Map([["p-1", "web-app"]]),
    });
    expect(form.scope.map(({ dimension, value }) => [dimension, value])).toEqual([
      ["project", "web-app"],
      ["model", "gpt-4o"],
    ]);
    expect(form.limit).toBe("100");
    expect(form.starts_on).toBe("2026-01-15");
  });
});

describe("spendChartQuery", () => {
  it("asks for the period's cost by day, filtered on the scope", () => {
    const params = spendChartQuery(budget({ scope: { project: "p-1", model: "gpt-4o" } }), STATUS, Date.parse("2026-05-20T00:00:00Z"));
    expect(Object.fromEntries(params ?? [])).toEqual({
      metric: "cost",
      interval: "day",
      from: "2026-05-01T00:00:00.000Z",
      to: "2026-06-01T00:00:00.000Z",
      project: "p-1",
      model: "gpt-4o",
    });
  });

  it("uses hours for a daily budget and the last 90 days for a total one", () => {
    const now = Date.parse("2026-05-20T12:00:00Z");
    expect(spendChartQuery(budget({ period: "day" }), STATUS, now)?.get("interval")).toBe("hour");
    const total = spendChartQuery(budget({ period: "total" }), { ...STATUS, period_start: "1970-01-01T00:00:00Z", period_end: null }, now);
    expect(total?.get("from")).toBe("2026-02-19T12:00:00.000Z");
    expect(total?.get("to")).toBe("2026-05-20T12:00:00.000Z");
  });
});

describe("spendChartData", () => {
  const from = Date.parse("2026-05-01T00:00:00Z");
  const now = Date.parse("2026-05-03T12:00:00Z");
  const points = [
    { start: "2026-05-01T00:00:00Z", value: 10 },
    { start: "2026-05-02T00:00:00Z", value: null },
    { start: "2026-05-03T00:00:00Z", value: 20 },
    { start: "2026-05-04T00:00:00Z", value: 0 },
  ];

  it("climbs bucket by bucket to the budget's spend, then forecasts to the period's end", () => {
    const chart = spendChartData(points, { ...STATUS, spent: 30 }, now, from);
    expect(chart.rows).toEqual([
      { t: from, spent: 0 },
      { t: Date.parse("2026-05-02T00:00:00Z"), spent: 10 },
      { t: Date.parse("2026-05-03T00:00:00Z"), spent: 10 },
      { t: now, spent: 30, forecast: 30 },
      { t: Date.parse("2026-06-01T00:00:00Z"), forecast: 90 },
    ]);
    expect(chart.domain).toEqual([from, Date.parse("2026-06-01T00:00:00Z")]);
    expect(chart.yMax).toBeCloseTo(110); // the limit (100) is the highest figure
  });

  it("starts from the spend before the chart's first bucket", () => {
    const chart = spendChartData(points, { ...STATUS, spent: 130, forecast_period_spend: null }, now, from);
    expect(chart.rows[0]).toEqual({ t: from, spent: 100 });
    expect(chart.rows[chart.rows.length - 1]).toEqual({ t: now, spent: 130 });
    expect(chart.yMax).toBeCloseTo(143);
  });
});
