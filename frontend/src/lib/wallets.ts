/** Wallets' pure parts: owners and refills in words, the create/settings form and top-ups to API bodies. Tested in wallets.test.ts. */
import type { LedgerKind, RefillInterval, WalletIn, WalletOwnerKind, WalletPatch, WalletPublic } from "../api/client";
import { formatMoney } from "./format";
import { parseOptionalNumber } from "./settings";

type Errors = Record<string, string>;

export const OWNER_LABELS: Record<WalletOwnerKind, string> = {
  org: "Organisation",
  team: "Team",
  user: "User",
  end_user: "End user",
};

export const LEDGER_KIND_LABELS: Record<LedgerKind, string> = {
  top_up: "Top-up",
  spend: "Spend",
  refund: "Refund",
  adjustment: "Adjustment",
  auto_refill: "Auto-refill",
};

export function formatOwner(kind: WalletOwnerKind, value: string | null): string {
  return kind === "org" || !value ? OWNER_LABELS[kind] : `${OWNER_LABELS[kind]} ${value}`;
}

const EVERY: Record<RefillInterval, string> = { day: "every day", week: "every week", month: "every month" };

/** "Refills $50.00 when below $10.00 · at most 10 a month (2 so far)", or "No auto-refill". */
export function refillSummary(wallet: WalletPublic, locale?: string): string {
  if (wallet.auto_refill_amount === null) return "No auto-refill";
  const amount = formatMoney(wallet.auto_refill_amount, wallet.currency, locale);
  const when: string[] = [];
  if (wallet.auto_refill_threshold !== null) when.push(`when below ${formatMoney(wallet.auto_refill_threshold, wallet.currency, locale)}`);
  if (wallet.auto_refill_interval !== null) when.push(EVERY[wallet.auto_refill_interval]);
  return `Refills ${amount} ${when.join(" and ")} · at most ${wallet.auto_refill_max_per_month} a month (${wallet.refills_this_month} so far)`;
}

export interface WalletForm {
  name: string;
  owner_kind: WalletOwnerKind;
  owner_value: string;
  initial_balance: string;
  block_when_empty: boolean;
  auto_refill: boolean;
  auto_refill_amount: string;
  auto_refill_threshold: string;
  auto_refill_interval: RefillInterval | "";
  auto_refill_max_per_month: string;
}

export const EMPTY_WALLET: WalletForm = {
  name: "",
  owner_kind: "org",
  owner_value: "",
  initial_balance: "",
  block_when_empty: false,
  auto_refill: false,
  auto_refill_amount: "",
  auto_refill_threshold: "",
  auto_refill_interval: "",
  auto_refill_max_per_month: "10",
};

export function walletForm(wallet: WalletPublic): WalletForm {
  const text = (v: number | null) => (v === null ? "" : String(v));
  return {
    name: wallet.name,
    owner_kind: wallet.owner_kind,
    owner_value: wallet.owner_value ?? "",
    initial_balance: "",
    block_when_empty: wallet.block_when_empty,
    auto_refill: wallet.auto_refill_amount !== null,
    auto_refill_amount: text(wallet.auto_refill_amount),
    auto_refill_threshold: text(wallet.auto_refill_threshold),
    auto_refill_interval: wallet.auto_refill_interval ?? "",
    auto_refill_max_per_month: String(wallet.auto_refill_max_per_month),
  };
}

function amount(text: string, name: string, errors: Errors, { required, min }: { required: boolean; min: number }): number | null {
  const value = parseOptionalNumber(text);
  if (value === null) {
    if (required) errors[name] = "Enter an amount, e.g. 50.";
    return null;
  }
  if (Number.isNaN(value)) {
    errors[name] = "Enter a number, e.g. 50 or 12.50.";
    return null;
  }
  if (value < min || (min === 0 && value < 0)) {
    errors[name] = min > 0 ? "Enter an amount above 0." : "Enter 0 or more.";
    return null;
  }
  return value;
}

/** The settings shared by create and edit: blocking and auto-refill (off: all null). */
function refill(form: WalletForm, errors: Errors): Pick<WalletIn, "block_when_empty" | "auto_refill_amount" | "auto_refill_threshold" | "auto_refill_interval" | "auto_refill_max_per_month"> {
  if (!form.auto_refill) {
    return { block_when_empty: form.block_when_empty, auto_refill_amount: null, auto_refill_threshold: null, auto_refill_interval: null };
  }
  const refillAmount = amount(form.auto_refill_amount, "auto_refill_amount", errors, { required: true, min: Number.MIN_VALUE });
  const threshold = amount(form.auto_refill_threshold, "auto_refill_threshold", errors, { required: false, min: 0 });
  const interval = form.auto_refill_interval || null;
  if (threshold === null && interval === null && !errors.auto_refill_threshold)
    errors.auto_refill_threshold = "Refill when the balance falls below an amount, or every day, week or month (or both).";
  const max = Number(form.auto_refill_max_per_month);
  if (!Number.isInteger(max) || max < 1 || max > 1000) errors.auto_refill_max_per_month = "A whole number from 1 to 1000.";
  return {
    block_when_empty: form.block_when_empty,
    auto_refill_amount: refillAmount,
    auto_refill_threshold: threshold,
    auto_refill_interval: interval,
    auto_refill_max_per_month: Number.isInteger(max) ? max : 10,
  };
}

export function walletBody(form: WalletForm): { body: WalletIn; errors: Errors } {
  const errors: Errors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the wallet a name, e.g. Prepaid credits.";
  const owner = form.owner_value.trim();
  if (form.owner_kind !== "org" && !owner) errors.owner_value = `Which ${OWNER_LABELS[form.owner_kind].toLowerCase()} owns it, as events name it.`;
  const initial = amount(form.initial_balance, "initial_balance", errors, { required: false, min: 0 });
  const body: WalletIn = {
    name,
    owner_kind: form.owner_kind,
    owner_value: form.owner_kind === "org" ? null : owner,
    initial_balance: initial ?? 0,
    ...refill(form, errors),
  };
  return { body, errors };
}

export function walletPatch(form: WalletForm): { body: WalletPatch; errors: Errors } {
  const errors: Errors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the wallet a name, e.g. Prepaid credits.";
  return { body: { name, ...refill(form, errors) }, errors };
}

/** A top-up's body: a positive amount, and the key that makes retrying the same top-up safe. */
export function topUpBody(amountText: string, note: string, idempotencyKey: string): { body: { amount: number; idempotency_key: string; note: string }; errors: Errors } {
  const errors: Errors = {};
  const value = amount(amountText, "amount", errors, { required: true, min: Number.MIN_VALUE });
  return { body: { amount: value ?? 0, idempotency_key: idempotencyKey, note: note.trim() }, errors };
}

/** A ledger amount with its sign: "+$50.00", "−$0.085". */
export function signedMoney(value: number, currency: string, locale?: string): string {
  const text = formatMoney(Math.abs(value), currency, locale);
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}
