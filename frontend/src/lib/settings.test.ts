import { describe, expect, it } from "vitest";
import { ApiError, type OrganizationPublic } from "../api/client";
import {
  EMPTY_OVERRIDE,
  formErrors,
  organizationChanges,
  organizationForm,
  overrideBody,
  parseFees,
  parseOptionalNumber,
  repriceRange,
  timeZones,
} from "./settings";

const ORG: OrganizationPublic = {
  id: "o1",
  name: "Acme",
  timezone: "UTC",
  currency: "USD",
  markup_percent: 0,
  fee_percents: [],
  fixed_fx_rate: null,
  electricity_zone: null,
  m2_per_kg_co2e: 1,
};

describe("formErrors", () => {
  it("puts 422 issues next to their fields and model-level ones in general", () => {
    const error = new ApiError(
      422,
      [
        { loc: ["body", "currency"], msg: "unknown currency 'XXX'", type: "value_error" },
        { loc: ["body", "fee_percents", 1], msg: "Input should be less than or equal to 100", type: "less_than_equal" },
        { loc: ["body"], msg: "Value error, a custom_model override needs input_per_mtok or output_per_mtok", type: "value_error" },
      ],
      "422",
    );
    expect(formErrors(error)).toEqual({
      fields: {
        currency: "unknown currency 'XXX'",
        fee_percents: "Input should be less than or equal to 100 (item 2)",
      },
      general: "a custom_model override needs input_per_mtok or output_per_mtok",
    });
  });

  it("gives other errors as one message, and nothing for no error", () => {
    expect(formErrors(new ApiError(404, "no such price override", "404"))).toEqual({ fields: {}, general: "no such price override" });
    expect(formErrors(null)).toEqual({ fields: {}, general: null });
  });
});

describe("numbers as typed", () => {
  it("reads optional numbers", () => {
    expect(parseOptionalNumber(" ")).toBeNull();
    expect(parseOptionalNumber("0.92")).toBe(0.92);
    expect(parseOptionalNumber("0,92")).toBe(0.92);
    expect(parseOptionalNumber("abc")).toBeNaN();
  });

  it("reads fee lists", () => {
    expect(parseFees("")).toEqual([]);
    expect(parseFees("2.9, 0.5")).toEqual([2.9, 0.5]);
    expect(parseFees("2.9 0.5;1")).toEqual([2.9, 0.5, 1]);
    expect(parseFees("2.9, x")).toBeNull();
  });
});

describe("organizationChanges", () => {
  it("sends only what changed", () => {
    const form = { ...organizationForm(ORG), timezone: "Europe/Berlin", currency: "eur", markup_percent: "10", fee_percents: "2.9, 0.5" };
    expect(organizationChanges(ORG, form)).toEqual({
      body: { timezone: "Europe/Berlin", currency: "EUR", markup_percent: 10, fee_percents: [2.9, 0.5] },
      errors: {},
    });
    expect(organizationChanges(ORG, organizationForm(ORG)).body).toEqual({});
  });

  it("sets and clears the fixed rate, and flags what is not a number", () => {
    expect(organizationChanges(ORG, { ...organizationForm(ORG), fixed_fx_rate: "0.9" }).body).toEqual({ fixed_fx_rate: 0.9 });
    const fixed = { ...ORG, fixed_fx_rate: 0.9 };
    expect(organizationChanges(fixed, { ...organizationForm(fixed), fixed_fx_rate: "" }).body).toEqual({ fixed_fx_rate: null });
    const bad = organizationChanges(ORG, { ...organizationForm(ORG), markup_percent: "ten", fixed_fx_rate: "x" });
    expect(Object.keys(bad.errors).sort()).toEqual(["fixed_fx_rate", "markup_percent"]);
  });

  it("sets the impact factors, an empty zone meaning the world average", () => {
    const form = { ...organizationForm(ORG), electricity_zone: " fra ", m2_per_kg_co2e: "0.5" };
    expect(organizationChanges(ORG, form).body).toEqual({ electricity_zone: "FRA", m2_per_kg_co2e: 0.5 });
    const zoned = { ...ORG, electricity_zone: "FRA" };
    expect(organizationChanges(zoned, { ...organizationForm(zoned), electricity_zone: "" }).body).toEqual({ electricity_zone: null });
    expect(organizationChanges(ORG, { ...organizationForm(ORG), m2_per_kg_co2e: "" }).body).toEqual({ m2_per_kg_co2e: 0 });
    const bad = organizationChanges(ORG, { ...organizationForm(ORG), electricity_zone: "France", m2_per_kg_co2e: "lots" });
    expect(Object.keys(bad.errors).sort()).toEqual(["electricity_zone", "m2_per_kg_co2e"]);
  });
});

describe("overrideBody", () => {
  it("sends the prices of a custom model, leaving empty fields out", () => {
    const form = { ...EMPTY_OVERRIDE, model_pattern: " my-llm ", provider: "acme", input_per_mtok: "1", output_per_mtok: "2", discount_percent: "5" };
    expect(overrideBody(form)).toEqual({
      body: { kind: "custom_model", model_pattern: "my-llm", provider: "acme", input_per_mtok: 1, output_per_mtok: 2 },
      errors: {},
    });
  });

  it("sends only the percentage of a discount", () => {
    const form = { ...EMPTY_OVERRIDE, kind: "discount" as const, model_pattern: "*", input_per_mtok: "1", discount_percent: "15" };
    expect(overrideBody(form).body).toEqual({ kind: "discount", model_pattern: "*", discount_percent: 15 });
    expect(overrideBody({ ...form, discount_percent: "lots" }).errors).toEqual({ discount_percent: "Enter a number." });
  });
});

describe("repriceRange", () => {
  it("turns inclusive local days into the instants that bound them", () => {
    expect(repriceRange("2026-03-01", "2026-03-31", "UTC")).toEqual({ from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z" });
    expect(repriceRange("2026-01-10", "2026-01-10", "Europe/Berlin")).toEqual({ from: "2026-01-09T23:00:00Z", to: "2026-01-10T23:00:00Z" });
  });
});

describe("timeZones", () => {
  it("lists the browser's zones and keeps the current one", () => {
    const zones = timeZones("Mars/Olympus");
    expect(zones).toContain("Europe/Berlin");
    expect(zones).toContain("UTC");
    expect(zones).toContain("Mars/Olympus");
  });
});
