/** Re-price stored events with today's catalogue, overrides and markup, and show what changed. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { queryKeys } from "../../api/queries";
import { Spinner } from "../../components/States";
import { formatMoney, formatNumber } from "../../lib/format";
import { formErrors, repriceRange } from "../../lib/settings";
import { addDays, todayIn } from "../../lib/urlState";
import { controlProps, Field, FormMessage } from "./Field";

function signedUsd(value: number): string {
  const text = formatMoney(Math.abs(value), "USD");
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

export function RepricePanel({ timezone }: { timezone: string }) {
  const id = useId();
  const queryClient = useQueryClient();
  const today = todayIn(timezone);
  const [from, setFrom] = useState(() => addDays(today, -29));
  const [to, setTo] = useState(today);
  const [model, setModel] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);

  const reprice = useMutation({
    mutationFn: api.reprice,
    onSuccess: () => {
      // Costs and price sources of stored events changed: every figure is stale.
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
      void queryClient.invalidateQueries({ queryKey: ["events"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.unpriced });
    },
  });
  const errors = formErrors(reprice.error);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    reprice.reset();
    if (!from || !to) return setLocalError("Pick both dates.");
    if (from > to) return setLocalError("The first day must not be after the last.");
    setLocalError(null);
    reprice.mutate({ ...repriceRange(from, to, timezone), model: model.trim() || null });
  }

  const result = reprice.data;
  const f = (name: string) => `${id}-${name}`;
  return (
    <section aria-labelledby={`${id}-title`} className="panel space-y-4">
      <div>
        <h2 id={`${id}-title`} className="panel-title">
          Re-price past events
        </h2>
        <p className="text-sm text-slate-500 dark:text-slate-400">
          Recomputes the stored cost of the events of these days ({timezone}) with today's prices, overrides and markup. Running it again changes nothing.
        </p>
      </div>
      <form onSubmit={onSubmit} aria-label="Re-price events" className="flex flex-wrap items-start gap-4" noValidate>
        <Field id={f("from")} label="From" error={errors.fields.from}>
          <input {...controlProps(f("from"), errors.fields.from)} type="date" required className="input" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field id={f("to")} label="To (inclusive)" error={errors.fields.to}>
          <input {...controlProps(f("to"), errors.fields.to)} type="date" required className="input" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field id={f("model")} label="Only model" error={errors.fields.model} hint="Optional: all models when empty.">
          <input {...controlProps(f("model"), errors.fields.model, true)} className="input w-56" value={model} onChange={(e) => setModel(e.target.value)} />
        </Field>
        <div className="self-end pb-5">
          <button type="submit" className="btn-primary" disabled={reprice.isPending}>
            {reprice.isPending ? <Spinner label="Re-pricing" /> : "Re-price"}
          </button>
        </div>
      </form>
      {(localError ?? errors.general) && <FormMessage tone="error">{localError ?? `Not re-priced: ${errors.general}`}</FormMessage>}
      {result && (
        <div role="status" aria-label="Re-price result" className="rounded-md bg-slate-50 p-3 text-sm dark:bg-slate-800/60">
          <p className="font-medium">
            {formatNumber(result.events)} {result.events === 1 ? "event" : "events"} in the range, {formatNumber(result.changed)} changed
            {result.changed > 0 ? "." : ": nothing to update."}
          </p>
          <dl className="mt-2 grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-3">
            <div>
              <dt className="text-slate-500 dark:text-slate-400">Cost before</dt>
              <dd className="tabular-nums">{formatMoney(result.cost_before_usd, "USD")}</dd>
            </div>
            <div>
              <dt className="text-slate-500 dark:text-slate-400">Cost after</dt>
              <dd className="tabular-nums">{formatMoney(result.cost_after_usd, "USD")}</dd>
            </div>
            <div>
              <dt className="text-slate-500 dark:text-slate-400">Change</dt>
              <dd className="tabular-nums font-medium">{signedUsd(result.delta_usd)}</dd>
            </div>
          </dl>
        </div>
      )}
    </section>
  );
}
