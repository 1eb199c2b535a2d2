/** Price overrides: custom model prices and discounts, with the API's validation next to the fields. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, type PriceOverridePublic } from "../../api/client";
import { queryKeys, usePriceOverrides, useUnpricedModels } from "../../api/queries";
import { EmptyState, ErrorState, Skeleton, Spinner } from "../../components/States";
import { formatDateTime, formatMoney, formatNumber } from "../../lib/format";
import { EMPTY_OVERRIDE, formErrors, overrideBody, type OverrideForm } from "../../lib/settings";
import { ConfirmedAction, controlProps, Field, FormMessage } from "./Field";

const PRICE_INPUTS = [
  { name: "input_per_mtok", label: "Input $/M tokens" },
  { name: "output_per_mtok", label: "Output $/M tokens" },
  { name: "cache_read_per_mtok", label: "Cache read $/M" },
  { name: "cache_write_per_mtok", label: "Cache write $/M" },
] as const;

function perM(value: number | null | undefined): string {
  return value == null ? "—" : formatMoney(value, "USD");
}

function describe(row: PriceOverridePublic): string {
  if (row.kind === "discount") return `${row.discount_percent}% off`;
  return `in ${perM(row.input_per_mtok)} · out ${perM(row.output_per_mtok)}${row.cache_read_per_mtok != null ? ` · cache read ${perM(row.cache_read_per_mtok)}` : ""}${row.cache_write_per_mtok != null ? ` · cache write ${perM(row.cache_write_per_mtok)}` : ""} per M`;
}

function OverrideRow({ row, timezone }: { row: PriceOverridePublic; timezone: string }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.deletePriceOverride(row.id),
    onSuccess: () => {
      queryClient.setQueryData<PriceOverridePublic[]>(queryKeys.priceOverrides, (rows) => rows?.filter((r) => r.id !== row.id));
    },
  });
  const label = `${row.kind === "discount" ? "discount" : "price"} for ${row.model_pattern}`;
  return (
    <tr>
      <td className="px-3 py-2">{row.kind === "discount" ? "Discount" : "Custom model"}</td>
      <td className="px-3 py-2 font-mono text-xs">{row.model_pattern}</td>
      <td className="px-3 py-2">{row.provider ?? "any"}</td>
      <td className="px-3 py-2">{describe(row)}</td>
      <td className="px-3 py-2">{row.note || "—"}</td>
      <td className="whitespace-nowrap px-3 py-2">{formatDateTime(row.created_at, timezone)}</td>
      <td className="px-3 py-2 text-right">
        <ConfirmedAction
          action="Delete"
          target={label}
          question="Past events keep their cost until re-priced."
          failure="Not deleted"
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
        />
      </td>
    </tr>
  );
}

export function PriceOverridesPanel({ timezone }: { timezone: string }) {
  const id = useId();
  const queryClient = useQueryClient();
  const overrides = usePriceOverrides();
  const unpriced = useUnpricedModels();
  const [form, setForm] = useState<OverrideForm>(EMPTY_OVERRIDE);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});

  const create = useMutation({
    mutationFn: api.createPriceOverride,
    onSuccess: (row) => {
      queryClient.setQueryData<PriceOverridePublic[]>(queryKeys.priceOverrides, (rows) => [...(rows ?? []), row]);
      setForm({ ...EMPTY_OVERRIDE, kind: form.kind });
    },
  });
  const apiErrors = formErrors(create.error);
  const errors = { ...apiErrors.fields, ...localErrors };

  function set<K extends keyof OverrideForm>(name: K, value: OverrideForm[K]) {
    setForm((current) => ({ ...current, [name]: value }));
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = overrideBody(form);
    setLocalErrors(found);
    create.reset();
    if (Object.keys(found).length === 0) create.mutate(body);
  }

  const f = (name: string) => `${id}-${name}`;
  const rows = overrides.data ?? [];
  const unpricedModels = unpriced.data ?? [];
  return (
    <section aria-labelledby={`${id}-title`} className="panel space-y-4">
      <div>
        <h2 id={`${id}-title`} className="panel-title">
          Price overrides
        </h2>
        <p className="text-sm text-slate-500 dark:text-slate-400">
          A custom model price replaces the catalogue (for fine-tuned or self-hosted models); a discount takes a percentage off it. New events use them at once; re-price below for past ones.
        </p>
      </div>

      {unpricedModels.length > 0 && (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-500/40 dark:bg-amber-500/10 dark:text-amber-100">
          <p className="font-medium">Models without a known price (counted at cost 0):</p>
          <ul className="mt-1 flex flex-wrap gap-2">
            {unpricedModels.map((model) => (
              <li key={`${model.provider}/${model.model}`}>
                <button
                  type="button"
                  className="rounded border border-amber-400 px-2 py-0.5 hover:bg-amber-100 dark:border-amber-500/50 dark:hover:bg-amber-500/20"
                  onClick={() => setForm({ ...EMPTY_OVERRIDE, kind: "custom_model", model_pattern: model.model, provider: model.provider })}
                  aria-label={`Price ${model.provider}/${model.model}`}
                >
                  {model.provider}/{model.model} ({formatNumber(model.events)} calls)
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      <form onSubmit={onSubmit} aria-label="Add a price override" className="space-y-3" noValidate>
        <fieldset disabled={create.isPending} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Field id={f("kind")} label="Kind" error={errors.kind}>
            <select {...controlProps(f("kind"), errors.kind)} className="input w-full" value={form.kind} onChange={(e) => set("kind", e.target.value as OverrideForm["kind"])}>
              <option value="custom_model">Custom model price</option>
              <option value="discount">Discount</option>
            </select>
          </Field>
          <Field id={f("pattern")} label="Model" error={errors.model_pattern} hint="Exact name, or a pattern with * and ?, e.g. ft:gpt-4o*.">
            <input
              {...controlProps(f("pattern"), errors.model_pattern, true)}
              className="input w-full"
              value={form.model_pattern}
              list={f("models")}
              onChange={(e) => set("model_pattern", e.target.value)}
            />
            <datalist id={f("models")}>
              {unpricedModels.map((model) => (
                <option key={`${model.provider}/${model.model}`} value={model.model} />
              ))}
            </datalist>
          </Field>
          <Field id={f("provider")} label="Provider" error={errors.provider} hint="Empty: any provider.">
            <input {...controlProps(f("provider"), errors.provider, true)} className="input w-full" value={form.provider} onChange={(e) => set("provider", e.target.value)} />
          </Field>
          <Field id={f("note")} label="Note" error={errors.note}>
            <input {...controlProps(f("note"), errors.note)} className="input w-full" value={form.note} onChange={(e) => set("note", e.target.value)} />
          </Field>
          {form.kind === "custom_model" ? (
            PRICE_INPUTS.map((input) => (
              <Field key={input.name} id={f(input.name)} label={input.label} error={errors[input.name]}>
                <input
                  {...controlProps(f(input.name), errors[input.name])}
                  inputMode="decimal"
                  className="input w-full"
                  value={form[input.name]}
                  onChange={(e) => set(input.name, e.target.value)}
                />
              </Field>
            ))
          ) : (
            <Field id={f("discount")} label="Discount %" error={errors.discount_percent} hint="e.g. 15 for 15% off the list price.">
              <input
                {...controlProps(f("discount"), errors.discount_percent, true)}
                inputMode="decimal"
                className="input w-full"
                value={form.discount_percent}
                onChange={(e) => set("discount_percent", e.target.value)}
              />
            </Field>
          )}
        </fieldset>
        {apiErrors.general && <FormMessage tone="error">Not added: {apiErrors.general}</FormMessage>}
        {create.isSuccess && <FormMessage tone="success">Override added. Re-price past events below to apply it to them.</FormMessage>}
        <button type="submit" className="btn-primary" disabled={create.isPending}>
          {create.isPending ? <Spinner label="Adding" /> : "Add override"}
        </button>
      </form>

      {overrides.isError ? (
        <ErrorState error={overrides.error} onRetry={() => overrides.refetch()} compact />
      ) : overrides.isPending ? (
        <div className="space-y-2" aria-busy="true">
          {Array.from({ length: 2 }, (_, i) => (
            <Skeleton key={i} className="h-8 w-full" />
          ))}
        </div>
      ) : rows.length === 0 ? (
        <EmptyState title="No price overrides">Every model is priced from the catalogue.</EmptyState>
      ) : (
        <div className="-mx-4 overflow-x-auto">
          <table className="w-full text-sm" aria-label="Price overrides">
            <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Kind</th>
                <th scope="col" className="px-3 py-2 font-medium">Model</th>
                <th scope="col" className="px-3 py-2 font-medium">Provider</th>
                <th scope="col" className="px-3 py-2 font-medium">Price</th>
                <th scope="col" className="px-3 py-2 font-medium">Note</th>
                <th scope="col" className="px-3 py-2 font-medium">Created</th>
                <th scope="col" className="px-3 py-2 font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.map((row) => (
                <OverrideRow key={row.id} row={row} timezone={timezone} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
