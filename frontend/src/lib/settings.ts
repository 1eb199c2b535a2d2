/**
 * The settings forms' pure parts: reading a FastAPI 422 into messages per field, turning form text
 * into API bodies, and the dates of a re-price. Tested in settings.test.ts.
 */
import { ApiError, type OrganizationPublic, type OrganizationUpdate, type PriceOverrideIn, type ValidationIssue } from "../api/client";
import { addDays, startOfDayInZone } from "./urlState";

export interface FormErrors {
  /** Field name (first part of `loc` after `body`) → message. */
  fields: Record<string, string>;
  /** Problems not tied to one field (a model validator, a 404, a network error). */
  general: string | null;
}

/** Pydantic prefixes validator messages with "Value error, "; people do not need it. */
function cleanMessage(msg: string): string {
  return msg.replace(/^Value error, /, "");
}

/** Splits an API error into messages next to the fields and one for the whole form. */
export function formErrors(error: unknown): FormErrors {
  if (error instanceof ApiError && error.status === 422 && Array.isArray(error.detail)) {
    const fields: Record<string, string> = {};
    const general: string[] = [];
    for (const issue of error.detail as ValidationIssue[]) {
      const loc = (issue.loc ?? []).filter((part) => part !== "body");
      const field = typeof loc[0] === "string" ? loc[0] : null;
      const msg = cleanMessage(issue.msg ?? "invalid");
      if (field) {
        const where = loc.length > 1 ? ` (item ${loc.slice(1).map((p) => (typeof p === "number" ? p + 1 : p)).join(".")})` : "";
        fields[field] = fields[field] ? `${fields[field]}; ${msg}${where}` : `${msg}${where}`;
      } else general.push(msg);
    }
    return { fields, general: general.length > 0 ? general.join("; ") : null };
  }
  if (error instanceof Error) return { fields: {}, general: error.message };
  return { fields: {}, general: error ? "Something went wrong." : null };
}

/** "" → null; a number → it; anything else → NaN (sent as-is would be refused; callers check). */
export function parseOptionalNumber(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed.replace(",", "."));
  return Number.isFinite(value) ? value : Number.NaN;
}

/** Fees as typed: "2.5, 1" or "2.5 1" → [2.5, 1]; "" → []; null when a part is not a number (decimal point only). */
export function parseFees(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const values = parts.map((part) => Number(part));
  return values.every((value) => Number.isFinite(value)) ? values : null;
}

export function formatFees(fees: number[]): string {
  return fees.join(", ");
}

export interface OrganizationForm {
  name: string;
  timezone: string;
  currency: string;
  markup_percent: string;
  fee_percents: string;
  fixed_fx_rate: string;
  electricity_zone: string;
  m2_per_kg_co2e: string;
}

export function organizationForm(org: OrganizationPublic): OrganizationForm {
  return {
    name: org.name,
    timezone: org.timezone,
    currency: org.currency,
    markup_percent: String(org.markup_percent),
    fee_percents: formatFees(org.fee_percents),
    fixed_fx_rate: org.fixed_fx_rate === null ? "" : String(org.fixed_fx_rate),
    electricity_zone: org.electricity_zone ?? "",
    m2_per_kg_co2e: String(org.m2_per_kg_co2e),
  };
}

/**
 * What changed between the stored organisation and the form, as a PATCH body, plus the fields the
 * browser can already tell are wrong (not numbers). Range checks are the API's (422 per field).
 */
export function organizationChanges(
  org: OrganizationPublic,
  form: OrganizationForm,
): { body: OrganizationUpdate; errors: Record<string, string> } {
  const body: OrganizationUpdate = {};
  const errors: Record<string, string> = {};
  const name = form.name.trim();
  if (name !== org.name) body.name = name;
  if (form.timezone !== org.timezone) body.timezone = form.timezone;
  const currency = form.currency.trim().toUpperCase();
  if (currency !== org.currency) body.currency = currency;

  const markup = parseOptionalNumber(form.markup_percent);
  if (markup === null || Number.isNaN(markup)) errors.markup_percent = "Enter a number, e.g. 10 for +10%.";
  else if (markup !== org.markup_percent) body.markup_percent = markup;

  const fees = parseFees(form.fee_percents);
  if (fees === null) errors.fee_percents = "Enter percentages separated by commas, e.g. 2.9, 0.5.";
  else if (fees.join(",") !== org.fee_percents.join(",")) body.fee_percents = fees;

  const fx = parseOptionalNumber(form.fixed_fx_rate);
  if (fx !== null && Number.isNaN(fx)) errors.fixed_fx_rate = "Enter a number, or leave empty to use ECB rates.";
  else if (fx !== org.fixed_fx_rate) body.fixed_fx_rate = fx;

  // Empty zone = the world-average electricity mix (null); codes are ISO 3166-1 alpha-3.
  const zone = form.electricity_zone.trim().toUpperCase() || null;
  if (zone !== null && !/^[A-Z]{3}$/.test(zone)) errors.electricity_zone = "Enter a three-letter country code (e.g. FRA), or leave empty for the world average.";
  else if (zone !== org.electricity_zone) body.electricity_zone = zone;

  const m2 = parseOptionalNumber(form.m2_per_kg_co2e);
  if (m2 !== null && Number.isNaN(m2)) errors.m2_per_kg_co2e = "Enter a number, e.g. 0.5; 0 to show no restoration figure.";
  else if ((m2 ?? 0) !== org.m2_per_kg_co2e) body.m2_per_kg_co2e = m2 ?? 0;

  return { body, errors };
}

export interface OverrideForm {
  kind: PriceOverrideIn["kind"];
  model_pattern: string;
  provider: string;
  input_per_mtok: string;
  output_per_mtok: string;
  cache_read_per_mtok: string;
  cache_write_per_mtok: string;
  discount_percent: string;
  note: string;
}

export const EMPTY_OVERRIDE: OverrideForm = {
  kind: "custom_model",
  model_pattern: "",
  provider: "",
  input_per_mtok: "",
  output_per_mtok: "",
  cache_read_per_mtok: "",
  cache_write_per_mtok: "",
  discount_percent: "",
  note: "",
};

const PRICE_FIELDS = ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"] as const;

/**
 * The POST body of an override: only the fields of its kind, empty ones left out, so the API's
 * own rules (a custom model needs an input or output price; a discount needs a percentage) decide.
 */
export function overrideBody(form: OverrideForm): { body: PriceOverrideIn; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const body: PriceOverrideIn = { kind: form.kind, model_pattern: form.model_pattern.trim() };
  const provider = form.provider.trim();
  if (provider) body.provider = provider;
  if (form.note.trim()) body.note = form.note.trim();
  const fields = form.kind === "custom_model" ? PRICE_FIELDS : (["discount_percent"] as const);
  for (const name of fields) {
    const value = parseOptionalNumber(form[name]);
    if (value === null) continue;
    if (Number.isNaN(value)) errors[name] = "Enter a number.";
    else body[name] = value;
  }
  return { body, errors };
}

/** A re-price of inclusive local days [from, to] as the instants the API takes (`to` exclusive). */
export function repriceRange(from: string, to: string, timeZone: string): { from: string; to: string } {
  return { from: startOfDayInZone(from, timeZone), to: startOfDayInZone(addDays(to, 1), timeZone) };
}

/** Every IANA zone the browser knows, with the current one kept even if it is not listed. */
export function timeZones(current: string): string[] {
  const zones: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = new Set(zones);
  all.add("UTC");
  all.add(current);
  return [...all].sort();
}

/** ISO 4217 codes the browser knows, with the current one kept. */
export function currencies(current: string): string[] {
  const codes: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : [];
  const all = new Set(codes);
  all.add("USD");
  all.add(current);
  return [...all].sort();
}
