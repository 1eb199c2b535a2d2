import { describe, expect, it } from "vitest";
import {
  changeTone,
  formatBucket,
  formatChange,
  formatCompact,
  formatDateTime,
  formatDuration,
  formatMoney,
  formatMoneyCompact,
  formatNumber,
  formatPercent,
} from "./format";

// Intl output uses non-breaking spaces in some locales; compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("formatMoney", () => {
  it("uses the currency's usual decimals", () => {
    expect(formatMoney(1234.5, "USD", "en-US")).toBe("$1,234.50");
    expect(plain(formatMoney(1234.5, "EUR", "de-DE"))).toBe("1.234,50 €");
    expect(formatMoney(1234.5, "JPY", "en-US")).toBe("¥1,235");
  });

  it("keeps small amounts readable", () => {
    expect(formatMoney(0.0007983, "USD", "en-US")).toBe("$0.000798");
    expect(formatMoney(0.005084, "USD", "en-US")).toBe("$0.00508");
    expect(formatMoney(0, "USD", "en-US")).toBe("$0.00");
  });

  it("shows a dash for missing values", () => {
    expect(formatMoney(null, "USD")).toBe("—");
    expect(formatMoney(Number.NaN, "USD")).toBe("—");
  });

  it("compacts large amounts", () => {
    expect(formatMoneyCompact(1_250_000, "USD", "en-US")).toBe("$1.3M");
    expect(formatMoneyCompact(92.53, "USD", "en-US")).toBe("$92.53");
  });
});

describe("counts and rates", () => {
  it("formats counts", () => {
    expect(formatNumber(18199, "en-US")).toBe("18,199");
    expect(formatCompact(63_369_164, "en-US")).toBe("63.4M");
    expect(formatCompact(undefined)).toBe("—");
  });

  it("formats percentages", () => {
    expect(formatPercent(0.0100005, "en-US")).toBe("1%");
    expect(formatPercent(0.0123, "en-US", 2)).toBe("1.23%");
  });

  it("formats changes with a sign", () => {
    expect(formatChange(0.25, "en-US")).toBe("+25%");
    expect(formatChange(-0.0437, "en-US")).toBe("-4.4%");
    expect(formatChange(0, "en-US")).toBe("0%");
    expect(formatChange(null)).toBe("—");
  });

  it("tells good from bad changes", () => {
    expect(changeTone(-0.37, true)).toBe("good");
    expect(changeTone(0.2, true)).toBe("bad");
    expect(changeTone(0.2, null)).toBe("neutral");
    expect(changeTone(null, true)).toBe("neutral");
  });
});

describe("durations and dates", () => {
  it("formats durations", () => {
    expect(formatDuration(850.4, "en-US")).toBe("850 ms");
    expect(formatDuration(3811.3, "en-US")).toBe("3.8 s");
    expect(formatDuration(126_000, "en-US")).toBe("2.1 min");
    expect(formatDuration(null)).toBe("—");
  });

  it("formats instants in the organisation's time zone", () => {
    expect(plain(formatDateTime("2026-11-23T10:49:47Z", "Europe/Berlin", "en-GB"))).toBe("23 Nov 2026, 11:49:47");
    expect(formatDateTime("nope", "UTC")).toBe("—");
  });

  it("labels buckets by interval", () => {
    expect(formatBucket("2026-11-23T00:00:00Z", "day", "UTC", "en-GB")).toBe("23 Nov");
    expect(formatBucket("2026-11-23T14:00:00Z", "hour", "UTC", "en-GB")).toBe("14:00");
  });
});
