/** Wallets: prepaid credits with their balance, owner, blocking and auto-refill, the ledger, top-ups and "Buy credits". */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CreditCard, Plus } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { api, type LedgerKind, type WalletList, type WalletPublic } from "../api/client";
import { queryKeys, useWallets } from "../api/queries";
import { EmptyState, ErrorState, errorMessage, Skeleton, Spinner } from "../components/States";
import { formatDateTime, formatMoney } from "../lib/format";
import { useSession } from "../lib/session";
import { formErrors } from "../lib/settings";
import {
  EMPTY_WALLET,
  formatOwner,
  LEDGER_KIND_LABELS,
  OWNER_LABELS,
  refillSummary,
  signedMoney,
  topUpBody,
  walletBody,
  walletForm,
  walletPatch,
  type WalletForm,
} from "../lib/wallets";
import { useIsAdmin } from "./budgets/useScopeNames";
import { ConfirmedAction, controlProps, Field, FormMessage } from "./settings/Field";

function newKey(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// ---- create / settings --------------------------------------------------------------------------

function WalletFormView({ wallet, currency, onDone, onCancel }: { wallet?: WalletPublic; currency: string; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => nameRef.current?.focus(), []);
  const [form, setForm] = useState<WalletForm>(() => (wallet ? walletForm(wallet) : EMPTY_WALLET));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: async (): Promise<WalletPublic> => (wallet ? api.updateWallet(wallet.id, walletPatch(form).body) : api.createWallet(walletBody(form).body)),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.wallets });
      onDone();
    },
  });
  const apiErrors = formErrors(save.error);
  const errors: Record<string, string> = { ...apiErrors.fields, ...localErrors };
  const set = <K extends keyof WalletForm>(name: K, value: WalletForm[K]) => setForm((c) => ({ ...c, [name]: value }));
  const f = (name: string) => `${id}-${name}`;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = wallet ? walletPatch(form).errors : walletBody(form).errors;
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate();
  }

  const title = wallet ? `Settings of wallet ${wallet.name}` : "Create a wallet";
  return (
    <form onSubmit={onSubmit} aria-label={title} className="panel space-y-4" noValidate>
      <h2 className="panel-title">{title}</h2>
      <fieldset disabled={save.isPending} className="space-y-4">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Field id={f("name")} label="Name" error={errors.name}>
            <input ref={nameRef} {...controlProps(f("name"), errors.name)} className="input w-full" value={form.name} onChange={(e) => set("name", e.target.value)} />
          </Field>
          {!wallet && (
            <>
              <Field id={f("owner")} label="Owner" error={errors.owner_kind} hint="Events are debited from their end user's wallet, else their user's, team's, then the organisation's.">
                <select {...controlProps(f("owner"), errors.owner_kind, true)} className="input w-full" value={form.owner_kind} onChange={(e) => set("owner_kind", e.target.value as WalletForm["owner_kind"])}>
                  {(Object.keys(OWNER_LABELS) as WalletForm["owner_kind"][]).map((k) => (
                    <option key={k} value={k}>
                      {OWNER_LABELS[k]}
                    </option>
                  ))}
                </select>
              </Field>
              {form.owner_kind !== "org" && (
                <Field id={f("owner-value")} label={OWNER_LABELS[form.owner_kind]} error={errors.owner_value} hint="As your events name it.">
                  <input {...controlProps(f("owner-value"), errors.owner_value, true)} className="input w-full" value={form.owner_value} onChange={(e) => set("owner_value", e.target.value)} />
                </Field>
              )}
              <Field id={f("initial")} label={`Initial balance (${currency})`} error={errors.initial_balance}>
                <input {...controlProps(f("initial"), errors.initial_balance)} inputMode="decimal" className="input w-full" value={form.initial_balance} onChange={(e) => set("initial_balance", e.target.value)} />
              </Field>
            </>
          )}
        </div>
        <label className="flex items-start gap-2 text-sm">
          <input type="checkbox" className="mt-0.5" checked={form.block_when_empty} onChange={(e) => set("block_when_empty", e.target.checked)} />
          <span>
            <span className="font-medium">Block when empty</span> — refuse calls the balance cannot cover (gateway and SDK guard)
          </span>
        </label>
        <label className="flex items-start gap-2 text-sm">
          <input type="checkbox" className="mt-0.5" checked={form.auto_refill} onChange={(e) => set("auto_refill", e.target.checked)} />
          <span>
            <span className="font-medium">Auto-refill</span> — credit an amount automatically
          </span>
        </label>
        {form.auto_refill && (
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Field id={f("refill-amount")} label={`Refill amount (${currency})`} error={errors.auto_refill_amount}>
              <input {...controlProps(f("refill-amount"), errors.auto_refill_amount)} inputMode="decimal" className="input w-full" value={form.auto_refill_amount} onChange={(e) => set("auto_refill_amount", e.target.value)} />
            </Field>
            <Field id={f("refill-threshold")} label={`When below (${currency})`} error={errors.auto_refill_threshold} hint="Optional with a schedule.">
              <input
                {...controlProps(f("refill-threshold"), errors.auto_refill_threshold, true)}
                inputMode="decimal"
                className="input w-full"
                value={form.auto_refill_threshold}
                onChange={(e) => set("auto_refill_threshold", e.target.value)}
              />
            </Field>
            <Field id={f("refill-interval")} label="Or on a schedule" error={errors.auto_refill_interval}>
              <select {...controlProps(f("refill-interval"), errors.auto_refill_interval)} className="input w-full" value={form.auto_refill_interval} onChange={(e) => set("auto_refill_interval", e.target.value as WalletForm["auto_refill_interval"])}>
                <option value="">No schedule</option>
                <option value="day">Every day</option>
                <option value="week">Every week</option>
                <option value="month">Every month</option>
              </select>
            </Field>
            <Field id={f("refill-max")} label="At most per month" error={errors.auto_refill_max_per_month}>
              <input {...controlProps(f("refill-max"), errors.auto_refill_max_per_month)} inputMode="numeric" className="input w-full" value={form.auto_refill_max_per_month} onChange={(e) => set("auto_refill_max_per_month", e.target.value)} />
            </Field>
          </div>
        )}
      </fieldset>
      {apiErrors.general && <FormMessage tone="error">Not saved: {apiErrors.general}</FormMessage>}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className="btn-primary" disabled={save.isPending}>
          {save.isPending ? <Spinner label="Saving" /> : wallet ? "Save settings" : "Create wallet"}
        </button>
        <button type="button" className="btn-secondary" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// ---- money in -----------------------------------------------------------------------------------

function TopUpForm({ wallet, onDone }: { wallet: WalletPublic; onDone: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  // One key per opened form: a retried or double-clicked top-up is credited once.
  const [key] = useState(newKey);
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const topUp = useMutation({
    mutationFn: (body: ReturnType<typeof topUpBody>["body"]) => api.topUp(wallet.id, body),
    onSuccess: (result) => {
      queryClient.setQueryData<WalletList>(queryKeys.wallets, (list) => list && { ...list, wallets: list.wallets.map((w) => (w.id === wallet.id ? { ...w, balance: result.balance } : w)) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.wallets });
      onDone();
    },
  });
  const apiErrors = formErrors(topUp.error);
  const errors = { ...apiErrors.fields, ...localErrors };
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = topUpBody(amount, note, key);
    setLocalErrors(found);
    if (Object.keys(found).length === 0) topUp.mutate(body);
  }
  return (
    <form onSubmit={onSubmit} aria-label={`Top up ${wallet.name}`} className="flex flex-wrap items-start gap-3 rounded-md bg-slate-50 p-3 dark:bg-slate-800/50" noValidate>
      <Field id={`${id}-amount`} label={`Amount (${wallet.currency})`} error={errors.amount}>
        <input ref={ref} {...controlProps(`${id}-amount`, errors.amount)} inputMode="decimal" className="input w-32" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </Field>
      <Field id={`${id}-note`} label="Note (optional)" error={errors.note}>
        <input {...controlProps(`${id}-note`, errors.note)} className="input w-56" placeholder="e.g. invoice 2026-114" value={note} onChange={(e) => setNote(e.target.value)} />
      </Field>
      <div className="flex gap-2 self-end">
        <button type="submit" className="btn-primary" disabled={topUp.isPending}>
          {topUp.isPending ? <Spinner label="Crediting" /> : "Credit wallet"}
        </button>
        <button type="button" className="btn-secondary" onClick={onDone} disabled={topUp.isPending}>
          Cancel
        </button>
      </div>
      {apiErrors.general && (
        <div className="w-full">
          <FormMessage tone="error">Not credited: {apiErrors.general}</FormMessage>
        </div>
      )}
    </form>
  );
}

function BuyCredits({ wallet, onDone }: { wallet: WalletPublic; onDone: () => void }) {
  const id = useId();
  const [amount, setAmount] = useState("");
  const [error, setError] = useState<string | null>(null);
  const checkout = useMutation({
    mutationFn: (value: number) => {
      const back = `${window.location.origin}/wallets`;
      return api.checkout(wallet.id, { amount: value, success_url: `${back}?paid=${encodeURIComponent(wallet.id)}`, cancel_url: back });
    },
    // Stripe's page takes the payment; the webhook credits the wallet once paid.
    onSuccess: (session) => window.location.assign(session.url),
  });
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = Number(amount.replace(",", "."));
    if (!Number.isFinite(value) || value < 0.5) {
      setError("Enter at least 0.50.");
      return;
    }
    setError(null);
    checkout.mutate(value);
  }
  const shown = error ?? formErrors(checkout.error).fields.amount;
  return (
    <form onSubmit={onSubmit} aria-label={`Buy credits for ${wallet.name}`} className="flex flex-wrap items-start gap-3 rounded-md bg-slate-50 p-3 dark:bg-slate-800/50" noValidate>
      <Field id={`${id}-amount`} label={`Credits to buy (${wallet.currency})`} error={shown} hint="Paid with Stripe Checkout; credited once paid.">
        <input {...controlProps(`${id}-amount`, shown, true)} inputMode="decimal" className="input w-32" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </Field>
      <div className="flex gap-2 self-end pb-5">
        <button type="submit" className="btn-primary" disabled={checkout.isPending}>
          {checkout.isPending ? <Spinner label="Opening Stripe" /> : "Continue to payment"}
        </button>
        <button type="button" className="btn-secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
      {checkout.isError && !formErrors(checkout.error).fields.amount && (
        <div className="w-full">
          <FormMessage tone="error">Checkout not started: {errorMessage(checkout.error)}</FormMessage>
        </div>
      )}
    </form>
  );
}

// ---- ledger -------------------------------------------------------------------------------------

const LEDGER_PAGE = 20;

function Ledger({ wallet, timezone }: { wallet: WalletPublic; timezone: string }) {
  const id = useId();
  const [kind, setKind] = useState<LedgerKind | "">("");
  // Cursor pagination: the cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useQuery({
    queryKey: [...queryKeys.ledger(wallet.id, kind), cursor, wallet.version] as const,
    queryFn: ({ signal }) => api.ledger(wallet.id, { kind: kind || undefined, cursor, limit: LEDGER_PAGE }, signal),
    placeholderData: (previous) => previous,
  });
  const entries = page.data?.entries ?? [];
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h3 className="text-sm font-semibold">Ledger</h3>
        <div>
          <label htmlFor={`${id}-kind`} className="sr-only">
            Entries of kind
          </label>
          <select
            id={`${id}-kind`}
            className="input"
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as LedgerKind | "");
              setCursors([null]);
            }}
          >
            <option value="">All entries</option>
            {(Object.keys(LEDGER_KIND_LABELS) as LedgerKind[]).map((k) => (
              <option key={k} value={k}>
                {LEDGER_KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {page.isError ? (
        <ErrorState error={page.error} onRetry={() => page.refetch()} compact />
      ) : page.isPending ? (
        <Skeleton className="h-24 w-full" />
      ) : entries.length === 0 ? (
        <p className="text-sm text-slate-500 dark:text-slate-400">No entries{kind ? " of this kind" : " yet"}.</p>
      ) : (
        <div className="-mx-4 overflow-x-auto">
          <table className="w-full text-sm" aria-label={`Ledger of ${wallet.name}`}>
            <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Time</th>
                <th scope="col" className="px-3 py-2 font-medium">Kind</th>
                <th scope="col" className="px-3 py-2 text-right font-medium">Amount</th>
                <th scope="col" className="px-3 py-2 text-right font-medium">Balance after</th>
                <th scope="col" className="px-3 py-2 font-medium">Reference</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {entries.map((e) => (
                <tr key={e.id}>
                  <td className="whitespace-nowrap px-3 py-2">{formatDateTime(e.created_at, timezone)}</td>
                  <td className="px-3 py-2">{LEDGER_KIND_LABELS[e.kind] ?? e.kind}</td>
                  <td className={`whitespace-nowrap px-3 py-2 text-right tabular-nums ${e.amount < 0 ? "text-rose-700 dark:text-rose-300" : "text-emerald-700 dark:text-emerald-300"}`}>
                    {signedMoney(e.amount, wallet.currency)}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right tabular-nums">{formatMoney(e.balance_after, wallet.currency)}</td>
                  <td className="px-3 py-2">
                    <span className="break-all font-mono text-xs">{e.reference}</span>
                    {e.note && <span className="block text-xs text-slate-500 dark:text-slate-400">{e.note}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(cursors.length > 1 || page.data?.next_cursor) && (
        <nav aria-label={`Ledger pages of ${wallet.name}`} className="flex items-center justify-end gap-2">
          <span className="text-xs text-slate-500 dark:text-slate-400">Page {cursors.length}</span>
          <button type="button" className="btn-secondary" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Newer
          </button>
          <button
            type="button"
            className="btn-secondary"
            disabled={!page.data?.next_cursor || page.isPlaceholderData}
            onClick={() => page.data?.next_cursor && setCursors((c) => [...c, page.data.next_cursor])}
          >
            Older
          </button>
        </nav>
      )}
    </div>
  );
}

// ---- the page -----------------------------------------------------------------------------------

type Action = "none" | "top-up" | "buy" | "settings";

function WalletCard({ wallet, canEdit, stripe, timezone }: { wallet: WalletPublic; canEdit: boolean; stripe: boolean; timezone: string }) {
  const queryClient = useQueryClient();
  const [action, setAction] = useState<Action>("none");
  const [showLedger, setShowLedger] = useState(false);
  const ledgerId = useId();
  const remove = useMutation({
    mutationFn: () => api.deleteWallet(wallet.id),
    onSuccess: () => queryClient.setQueryData<WalletList>(queryKeys.wallets, (list) => list && { ...list, wallets: list.wallets.filter((w) => w.id !== wallet.id) }),
  });
  if (action === "settings") {
    return (
      <li>
        <WalletFormView wallet={wallet} currency={wallet.currency} onDone={() => setAction("none")} onCancel={() => setAction("none")} />
      </li>
    );
  }
  const headingId = `wallet-${wallet.id}`;
  const empty = wallet.balance <= 0;
  return (
    <li>
      <article aria-labelledby={headingId} className="panel space-y-3">
        <div className="flex flex-wrap items-start gap-x-4 gap-y-2">
          <div className="min-w-0 flex-1">
            <h2 id={headingId} className="font-semibold">
              {wallet.name}
            </h2>
            <p className="text-sm text-slate-600 dark:text-slate-300">{formatOwner(wallet.owner_kind, wallet.owner_value)}</p>
          </div>
          <div className="text-right">
            <p className="text-xs text-slate-500 dark:text-slate-400">Balance</p>
            <p className={`text-2xl font-semibold tabular-nums ${empty ? "text-rose-700 dark:text-rose-300" : ""}`} data-testid="wallet-balance">
              {formatMoney(wallet.balance, wallet.currency)}
            </p>
          </div>
        </div>
        <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm text-slate-600 dark:text-slate-300">
          <li>{wallet.block_when_empty ? "Blocks calls when empty" : "Never blocks (may go negative)"}</li>
          <li>{refillSummary(wallet)}</li>
          {wallet.next_refill_at && <li>Next refill {formatDateTime(wallet.next_refill_at, timezone)}</li>}
        </ul>
        <div className="flex flex-wrap gap-2">
          {canEdit && (
            <button type="button" className="btn-secondary" aria-expanded={action === "top-up"} onClick={() => setAction(action === "top-up" ? "none" : "top-up")}>
              <Plus aria-hidden className="size-4" /> Top up
            </button>
          )}
          {canEdit && stripe && (
            <button type="button" className="btn-secondary" aria-expanded={action === "buy"} onClick={() => setAction(action === "buy" ? "none" : "buy")}>
              <CreditCard aria-hidden className="size-4" /> Buy credits
            </button>
          )}
          <button type="button" className="btn-secondary" aria-expanded={showLedger} aria-controls={ledgerId} onClick={() => setShowLedger((v) => !v)}>
            {showLedger ? "Hide ledger" : "Ledger"}
          </button>
          {canEdit && (
            <>
              <button type="button" className="btn-secondary" onClick={() => setAction("settings")} aria-label={`Settings of wallet ${wallet.name}`}>
                Settings
              </button>
              <div>
                <ConfirmedAction
                  action="Delete"
                  target={`wallet ${wallet.name}`}
                  question={wallet.balance !== 0 ? "It still holds money: refund or adjust it to zero first." : "Its ledger goes too."}
                  failure="Not deleted"
                  busy={remove.isPending}
                  error={remove.error}
                  onConfirm={() => remove.mutate()}
                />
              </div>
            </>
          )}
        </div>
        {action === "top-up" && <TopUpForm wallet={wallet} onDone={() => setAction("none")} />}
        {action === "buy" && <BuyCredits wallet={wallet} onDone={() => setAction("none")} />}
        {showLedger && (
          <div id={ledgerId}>
            <Ledger wallet={wallet} timezone={timezone} />
          </div>
        )}
      </article>
    </li>
  );
}

export default function WalletsPage() {
  const { organization, role } = useSession();
  const canEdit = useIsAdmin();
  const wallets = useWallets();
  const [creating, setCreating] = useState(false);
  const list = wallets.data?.wallets ?? [];
  const stripe = wallets.data?.stripe_checkout === true;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-xl font-semibold">Wallets</h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            Prepaid credits in {organization.currency}: each call's cost is debited from its end user's, user's, team's or the organisation's wallet, in an append-only ledger.
          </p>
        </div>
        {canEdit && !creating && list.length > 0 && (
          <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
            <Plus aria-hidden className="size-4" /> Create wallet
          </button>
        )}
      </div>
      {creating && <WalletFormView currency={organization.currency} onDone={() => setCreating(false)} onCancel={() => setCreating(false)} />}
      {wallets.isError ? (
        <div className="panel">
          <ErrorState error={wallets.error} onRetry={() => wallets.refetch()} />
        </div>
      ) : wallets.isPending ? (
        <div className="space-y-4" aria-busy="true">
          <Skeleton className="h-32 w-full" />
          <Skeleton className="h-32 w-full" />
        </div>
      ) : list.length === 0 ? (
        !creating && (
          <div className="panel">
            <EmptyState title="No wallets yet">
              <p>Sell or allot prepaid credits: a wallet's balance goes down with every call and can block calls when it is empty.</p>
              {canEdit ? (
                <button type="button" className="btn-primary mt-3" onClick={() => setCreating(true)}>
                  <Plus aria-hidden className="size-4" /> Create wallet
                </button>
              ) : (
                <p className="mt-2">Your role is {role}: ask an owner or admin to create one.</p>
              )}
            </EmptyState>
          </div>
        )
      ) : (
        <ul aria-label="Wallets" className="space-y-4">
          {list.map((wallet) => (
            <WalletCard key={wallet.id} wallet={wallet} canEdit={canEdit} stripe={stripe} timezone={organization.timezone} />
          ))}
        </ul>
      )}
    </div>
  );
}
