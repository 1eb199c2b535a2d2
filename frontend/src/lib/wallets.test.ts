import { describe, expect, it } from "vitest";
import type { WalletPublic } from "../api/client";
import { EMPTY_WALLET, formatOwner, refillSummary, signedMoney, topUpBody, walletBody, walletForm, walletPatch } from "./wallets";

const WALLET: WalletPublic = {
  id: "w1",
  name: "Prepaid",
  owner_kind: "team",
  owner_value: "search",
  currency: "USD",
  balance: 42.5,
  block_when_empty: true,
  auto_refill_amount: 50,
  auto_refill_threshold: 10,
  auto_refill_interval: null,
  auto_refill_max_per_month: 10,
  refills_this_month: 2,
  next_refill_at: null,
  version: 7,
  created_at: "2026-05-01T00:00:00Z",
  updated_at: "2026-05-01T00:00:00Z",
};

describe("wallets in words", () => {
  it("names owners and refills", () => {
    expect(formatOwner("org", null)).toBe("Organisation");
    expect(formatOwner("end_user", "cust-42")).toBe("End user cust-42");
    expect(refillSummary(WALLET, "en-US")).toBe("Refills $50.00 when below $10.00 · at most 10 a month (2 so far)");
    expect(refillSummary({ ...WALLET, auto_refill_threshold: null, auto_refill_interval: "month" }, "en-US")).toBe(
      "Refills $50.00 every month · at most 10 a month (2 so far)",
    );
    expect(refillSummary({ ...WALLET, auto_refill_amount: null }, "en-US")).toBe("No auto-refill");
  });

  it("signs ledger amounts", () => {
    expect(signedMoney(50, "USD", "en-US")).toBe("+$50.00");
    expect(signedMoney(-0.085, "USD", "en-US")).toBe("−$0.085");
  });
});

describe("walletBody", () => {
  it("creates an organisation wallet with no refill", () => {
    const { body, errors } = walletBody({ ...EMPTY_WALLET, name: "Credits", initial_balance: "100" });
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "Credits",
      owner_kind: "org",
      owner_value: null,
      initial_balance: 100,
      block_when_empty: false,
      auto_refill_amount: null,
      auto_refill_threshold: null,
      auto_refill_interval: null,
    });
  });

  it("needs an owner for a team wallet, and a trigger for an auto-refill", () => {
    const { errors } = walletBody({ ...EMPTY_WALLET, name: "x", owner_kind: "team", auto_refill: true, auto_refill_amount: "50" });
    expect(errors).toEqual({
      owner_value: "Which team owns it, as events name it.",
      auto_refill_threshold: "Refill when the balance falls below an amount, or every day, week or month (or both).",
    });
    expect(walletBody({ ...EMPTY_WALLET, name: "x", initial_balance: "-5" }).errors).toEqual({ initial_balance: "Enter 0 or more." });
  });

  it("edits settings, turning the refill off with nulls", () => {
    const form = walletForm(WALLET);
    expect(form.auto_refill).toBe(true);
    expect(walletPatch(form).body).toEqual({
      name: "Prepaid",
      block_when_empty: true,
      auto_refill_amount: 50,
      auto_refill_threshold: 10,
      auto_refill_interval: null,
      auto_refill_max_per_month: 10,
    });
    expect(walletPatch({ ...form, auto_refill: false }).body).toMatchObject({ auto_refill_amount: null, auto_refill_threshold: null, auto_refill_interval: null });
  });
});

describe("topUpBody", () => {
  it("needs a positive amount and keeps the idempotency key", () => {
    expect(topUpBody("25,5", " invoice 12 ", "k1")).toEqual({ body: { amount: 25.5, idempotency_key: "k1", note: "invoice 12" }, errors: {} });
    expect(topUpBody("0", "", "k1").errors).toEqual({ amount: "Enter an amount above 0." });
    expect(topUpBody("", "", "k1").errors).toEqual({ amount: "Enter an amount, e.g. 50." });
  });
});
