/**
 * Numbers as people read them: money in the organisation's currency, compact counts, rates,
 * durations. One place, so every page rounds the same way. `locale` defaults to the browser's.
 */

type Locale = string | undefined;

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: Locale, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale ?? ""}|${JSON.stringify(options)}`;
  let format = cache.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    cache.set(key, format);
  }
  return format;
}

const DASH = "—";

function isNumber(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * Money in a currency. Amounts below one unit keep enough significant digits to be told apart
 * (a single call often costs $0.0008); larger amounts use the currency's usual decimals.
 */
export function formatMoney(value: number | null | undefined, currency: string, locale?: Locale): string {
  if (!isNumber(value)) return DASH;
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 1) {
    return numberFormat(locale, {
      style: "currency",
      currency,
      minimumSignificantDigits: 2,
      maximumSignificantDigits: 3,
    }).format(value);
  }
  return numberFormat(locale, { style: "currency", currency }).format(value);
}

/** Money in short form for axes and tight cards: $1.2K, €3.4M. */
export function formatMoneyCompact(value: number | null | undefined, currency: string, locale?: Locale): string {
  if (!isNumber(value)) return DASH;
  if (Math.abs(value) < 1000) return formatMoney(value, currency, locale);
  return numberFormat(locale, {
    style: "currency",
    currency,
    notation: "compact",
    maximumFractionDigits: 1,
  }).format(value);
}

/** A count with grouping: 12,345. */
export function formatNumber(value: number | null | undefined, locale?: Locale): string {
  if (!isNumber(value)) return DASH;
  return numberFormat(locale, { maximumFractionDigits: 0 }).format(value);
}

/** A count in short form: 1.2K, 63M. */
export function formatCompact(value: number | null | undefined, locale?: Locale): string {
  if (!isNumber(value)) return DASH;
  return numberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

/** A ratio as a percentage: 0.0123 → 1.23 %. */
export function formatPercent(value: number | null | undefined, locale?: Locale, digits = 1): string {
  if (!isNumber(value)) return DASH;
  return numberFormat(locale, {
    style: "percent",
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  }).format(value);
}

/** A relative change with its sign: 0.25 → +25 %, -0.037 → −3.7 %; null (no baseline) → —. */
export function formatChange(value: number | null | undefined, locale?: Locale): string {
  if (!isNumber(value)) return DASH;
  return numberFormat(locale, {
    style: "percent",
    signDisplay: "exceptZero",
    maximumFractionDigits: Math.abs(value) < 0.1 ? 1 : 0,
  }).format(value);
}

/** Milliseconds as a duration: 850 ms, 3.8 s, 2.1 min. */
export function formatDuration(ms: number | null | undefined, locale?: Locale): string {
  if (!isNumber(ms)) return DASH;
  if (Math.abs(ms) < 1000) return `${numberFormat(locale, { maximumFractionDigits: 0 }).format(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${numberFormat(locale, { maximumFractionDigits: 1 }).format(ms / 1000)} s`;
  return `${numberFormat(locale, { maximumFractionDigits: 1 }).format(ms / 60_000)} min`;
}

/**
 * Whether a change is good news: spend, errors and latency going down is good; requests and
 * tokens have no sign of their own (neutral).
 */
export type ChangeTone = "good" | "bad" | "neutral";

export function changeTone(value: number | null | undefined, lowerIsBetter: boolean | null): ChangeTone {
  if (!isNumber(value) || value === 0 || lowerIsBetter === null) return "neutral";
  return value < 0 === lowerIsBetter ? "good" : "bad";
}

/** A date-time in the organisation's time zone, e.g. "23 Nov 2026, 10:49:47". */
export function formatDateTime(iso: string, timeZone: string, locale?: Locale): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return DASH;
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(date);
}

/** A bucket start as an axis label: "23 Nov" for days, "14:00" for hours. */
export function formatBucket(iso: string, interval: string, timeZone: string, locale?: Locale): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return DASH;
  const options: Intl.DateTimeFormatOptions =
    interval === "hour"
      ? { timeZone, hour: "2-digit", minute: "2-digit" }
      : interval === "month"
        ? { timeZone, month: "short", year: "numeric" }
        : { timeZone, month: "short", day: "numeric" };
  return new Intl.DateTimeFormat(locale, options).format(date);
}
