import { describe, expect, it } from "vitest";
import {
  activeFilterCount,
  addDays,
  intervalFor,
  isIsoDate,
  parseViewState,
  rangeDays,
  resolveRange,
  serializeViewState,
  startOfDayInZone,
  toApiParams,
  toEventsApiParams,
  todayIn,
  toggleFilterValue,
  withFilter,
  withProject,
  withRange,
} from "./urlState";

describe("parseViewState", () => {
  it("defaults to the last 30 days, all projects, no filters", () => {
    expect(parseViewState("")).toEqual({ range: "30d", filters: {} });
  });

  it("reads presets, project and repeated filters (sorted, deduplicated)", () => {
    const state = parseViewState("range=7d&project=customer-app&model=gpt-4o&model=claude&model=gpt-4o&status=error");
    expect(state).toEqual({
      range: "7d",
      project: "customer-app",
      filters: { model: ["claude", "gpt-4o"], status: ["error"] },
    });
  });

  it("reads a custom range and swaps reversed dates", () => {
    expect(parseViewState("range=custom&from=2026-03-31&to=2026-03-01")).toMatchObject({
      range: "custom",
      from: "2026-03-01",
      to: "2026-03-31",
    });
  });

  it("treats explicit dates without a range as custom", () => {
    expect(parseViewState("from=2026-03-01&to=2026-03-02").range).toBe("custom");
  });

  it("falls back to the default on invalid input", () => {
    expect(parseViewState("range=fortnight").range).toBe("30d");
    expect(parseViewState("range=custom&from=2026-02-30&to=2026-03-01")).toEqual({ range: "30d", filters: {} });
    expect(parseViewState("model=&project=").filters).toEqual({});
    expect(parseViewState("status=bogus&status=error").filters).toEqual({ status: ["error"] });
  });

  it("ignores dates with a preset", () => {
    expect(parseViewState("range=today&from=2026-03-01&to=2026-03-02")).toEqual({ range: "today", filters: {} });
  });
});

describe("serializeViewState", () => {
  it("leaves defaults out", () => {
    expect(serializeViewState({ range: "30d", filters: {} })).toBe("");
  });

  it("writes a canonical order that round-trips", () => {
    const query = serializeViewState({
      range: "custom",
      from: "2026-03-01",
      to: "2026-03-31",
      project: "p 1",
      filters: { status: ["ok"], model: ["b", "a"] },
    });
    expect(query).toBe("range=custom&from=2026-03-01&to=2026-03-31&project=p+1&model=a&model=b&status=ok");
    expect(serializeViewState(parseViewState(query))).toBe(query);
  });

  it("keeps a page's own parameters but not stale view ones", () => {
    const extra = new URLSearchParams("metric=tokens&model=old&sort=cost");
    expect(serializeViewState({ range: "7d", filters: {} }, extra)).toBe("range=7d&metric=tokens&sort=cost");
  });
});

describe("dates", () => {
  it("validates calendar dates", () => {
    expect(isIsoDate("2024-02-29")).toBe(true);
    expect(isIsoDate("2026-02-29")).toBe(false);
    expect(isIsoDate("2026-3-1")).toBe(false);
    expect(isIsoDate(null)).toBe(false);
  });

  it("adds days across months and years", () => {
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
  });

  it("knows today in the organisation's time zone", () => {
    const now = new Date("2026-03-01T23:30:00Z");
    expect(todayIn("UTC", now)).toBe("2026-03-01");
    expect(todayIn("Europe/Berlin", now)).toBe("2026-03-02");
    expect(todayIn("America/New_York", now)).toBe("2026-03-01");
  });

  it("finds local midnight as a UTC instant, across daylight-saving changes", () => {
    expect(startOfDayInZone("2026-01-15", "UTC")).toBe("2026-01-15T00:00:00Z");
    expect(startOfDayInZone("2026-01-15", "Europe/Berlin")).toBe("2026-01-14T23:00:00Z");
    expect(startOfDayInZone("2026-07-15", "Europe/Berlin")).toBe("2026-07-14T22:00:00Z");
    // Clocks go forward at 02:00 on 29 March 2026 in Berlin: that day still starts at +01:00.
    expect(startOfDayInZone("2026-03-29", "Europe/Berlin")).toBe("2026-03-28T23:00:00Z");
    expect(startOfDayInZone("2026-03-30", "Europe/Berlin")).toBe("2026-03-29T22:00:00Z");
    expect(startOfDayInZone("2026-11-02", "America/New_York")).toBe("2026-11-02T05:00:00Z");
  });
});

describe("resolveRange", () => {
  const today = "2026-03-15";
  it.each([
    ["today", "2026-03-15", "2026-03-15"],
    ["7d", "2026-03-09", "2026-03-15"],
    ["30d", "2026-02-14", "2026-03-15"],
    ["this_month", "2026-03-01", "2026-03-15"],
    ["last_month", "2026-02-01", "2026-02-28"],
  ] as const)("%s", (range, from, to) => {
    expect(resolveRange({ range }, today)).toEqual({ from, to });
  });

  it("last month in January is December of the year before", () => {
    expect(resolveRange({ range: "last_month" }, "2026-01-10")).toEqual({ from: "2025-12-01", to: "2025-12-31" });
  });

  it("a custom range is used as is", () => {
    expect(resolveRange({ range: "custom", from: "2025-01-01", to: "2025-01-31" }, today)).toEqual({
      from: "2025-01-01",
      to: "2025-01-31",
    });
    expect(rangeDays({ from: "2025-01-01", to: "2025-01-31" })).toBe(31);
  });

  it("picks a readable interval", () => {
    expect(intervalFor({ from: today, to: today })).toBe("hour");
    expect(intervalFor({ from: "2026-01-01", to: "2026-03-15" })).toBe("day");
    expect(intervalFor({ from: "2025-01-01", to: "2026-03-15" })).toBe("week");
  });
});

describe("API parameters", () => {
  const state = parseViewState("range=7d&project=customer-app&model=gpt-4o&model=claude&status=error");

  it("sends inclusive dates to the analytics API", () => {
    expect(toApiParams(state, "2026-03-15").toString()).toBe(
      "from=2026-03-09&to=2026-03-15&project=customer-app&model=claude&model=gpt-4o&status=error",
    );
  });

  it("sends local-midnight instants, `to` exclusive, to the events list", () => {
    const params = toEventsApiParams(state, "2026-03-15", "Europe/Berlin");
    expect(params.get("from")).toBe("2026-03-08T23:00:00Z");
    expect(params.get("to")).toBe("2026-03-15T23:00:00Z");
    expect(params.getAll("model")).toEqual(["claude", "gpt-4o"]);
  });
});

describe("state updates", () => {
  const base = parseViewState("range=custom&from=2026-03-01&to=2026-03-02&project=x");

  it("switching to a preset drops the custom dates", () => {
    expect(withRange(base, "today")).toEqual({ range: "today", project: "x", filters: {} });
  });

  it("a custom range needs valid dates", () => {
    expect(withRange({ range: "7d", filters: {} }, "custom")).toEqual({ range: "7d", filters: {} });
    expect(withRange({ range: "7d", filters: {} }, "custom", { from: "2026-03-05", to: "2026-03-01" })).toEqual({
      range: "custom",
      from: "2026-03-01",
      to: "2026-03-05",
      filters: {},
    });
  });

  it("toggles filter values and removes empty filters", () => {
    let state = toggleFilterValue(base, "model", "gpt-4o");
    state = toggleFilterValue(state, "model", "claude");
    expect(state.filters.model).toEqual(["claude", "gpt-4o"]);
    expect(activeFilterCount(state)).toBe(2);
    state = withFilter(state, "model", []);
    expect(state.filters).toEqual({});
  });

  it("clears the project", () => {
    expect(withProject(base, undefined)).not.toHaveProperty("project");
    expect(withProject(base, "y").project).toBe("y");
  });
});
