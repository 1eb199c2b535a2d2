/** The organisation's settings: time zone, display currency, markup, fees, a fixed FX rate, impact factors. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useMemo, useState, type FormEvent } from "react";
import { api, type OrganizationPublic, type SessionPublic } from "../../api/client";
import { queryKeys } from "../../api/queries";
import { Spinner } from "../../components/States";
import { currencies, formErrors, organizationChanges, organizationForm, timeZones, type OrganizationForm } from "../../lib/settings";
import { controlProps, Field, FormMessage } from "./Field";

export function OrganizationPanel({ organization, canEdit }: { organization: OrganizationPublic; canEdit: boolean }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<OrganizationForm>(() => organizationForm(organization));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const [nothingToSave, setNothingToSave] = useState(false);
  const zones = useMemo(() => timeZones(organization.timezone), [organization.timezone]);
  const codes = useMemo(() => currencies(organization.currency), [organization.currency]);

  const save = useMutation({
    mutationFn: api.updateOrganization,
    onSuccess: (org) => {
      // The session carries the organisation: every page reads its time zone and currency there.
      queryClient.setQueryData<SessionPublic | null>(queryKeys.me, (session) =>
        session?.user ? { ...session, user: { ...session.user, organization: org } } : session,
      );
      // Budgets show their limits in the organisation's currency.
      void queryClient.invalidateQueries({ queryKey: queryKeys.budgets });
      setForm(organizationForm(org));
      // Money and days of every chart depend on these settings.
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
      void queryClient.invalidateQueries({ queryKey: ["events"] });
    },
  });

  const apiErrors = formErrors(save.error);
  const errors = { ...apiErrors.fields, ...localErrors };

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = organizationChanges(organization, form);
    setLocalErrors(found);
    save.reset();
    setNothingToSave(false);
    if (Object.keys(found).length > 0) return;
    if (Object.keys(body).length === 0) {
      setNothingToSave(true);
      return;
    }
    save.mutate(body);
  }

  function set<K extends keyof OrganizationForm>(name: K, value: string) {
    setForm((current) => ({ ...current, [name]: value }));
    setNothingToSave(false);
  }

  const f = (name: string) => `${id}-${name}`;
  return (
    <section aria-labelledby={`${id}-title`} className="panel">
      <h2 id={`${id}-title`} className="panel-title">
        Organisation
      </h2>
      <p className="mb-4 text-sm text-slate-500 dark:text-slate-400">
        Days and charts use the time zone; money is shown in the display currency, with the markup and fees added to the billed cost.
      </p>
      <form onSubmit={onSubmit} className="space-y-4" aria-label="Organisation settings" noValidate>
        <fieldset disabled={!canEdit || save.isPending} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          <Field id={f("name")} label="Name" error={errors.name}>
            <input {...controlProps(f("name"), errors.name)} className="input w-full" value={form.name} onChange={(e) => set("name", e.target.value)} />
          </Field>
          <Field id={f("timezone")} label="Time zone" error={errors.timezone}>
            <select {...controlProps(f("timezone"), errors.timezone)} className="input w-full" value={form.timezone} onChange={(e) => set("timezone", e.target.value)}>
              {zones.map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </Field>
          <Field id={f("currency")} label="Display currency" error={errors.currency} hint="Converted from USD at ECB daily rates, unless a fixed rate is set.">
            <select {...controlProps(f("currency"), errors.currency, true)} className="input w-full" value={form.currency} onChange={(e) => set("currency", e.target.value)}>
              {codes.map((code) => (
                <option key={code} value={code}>
                  {code}
                </option>
              ))}
            </select>
          </Field>
          <Field id={f("markup")} label="Markup %" error={errors.markup_percent} hint="Added to the cost, e.g. 10 for +10%. −100 to 1000.">
            <input
              {...controlProps(f("markup"), errors.markup_percent, true)}
              inputMode="decimal"
              className="input w-full"
              value={form.markup_percent}
              onChange={(e) => set("markup_percent", e.target.value)}
            />
          </Field>
          <Field id={f("fees")} label="Fees %" error={errors.fee_percents} hint="Percentages applied one after another, comma-separated, e.g. 2.9, 0.5.">
            <input
              {...controlProps(f("fees"), errors.fee_percents, true)}
              className="input w-full"
              value={form.fee_percents}
              onChange={(e) => set("fee_percents", e.target.value)}
            />
          </Field>
          <Field id={f("fx")} label="Fixed FX rate" error={errors.fixed_fx_rate} hint={`Units of ${form.currency.trim().toUpperCase() || "the display currency"} per 1 USD; empty to use ECB rates.`}>
            <input
              {...controlProps(f("fx"), errors.fixed_fx_rate, true)}
              inputMode="decimal"
              className="input w-full"
              value={form.fixed_fx_rate}
              placeholder="ECB daily rate"
              onChange={(e) => set("fixed_fx_rate", e.target.value)}
            />
          </Field>
          <Field
            id={f("zone")}
            label="Electricity zone"
            error={errors.electricity_zone}
            hint="Country (ISO 3166-1 alpha-3, e.g. FRA) whose electricity mix the impact page uses; empty for the world average."
          >
            <input
              {...controlProps(f("zone"), errors.electricity_zone, true)}
              className="input w-full uppercase"
              value={form.electricity_zone}
              maxLength={3}
              placeholder="World average"
              onChange={(e) => set("electricity_zone", e.target.value)}
            />
          </Field>
          <Field
            id={f("m2")}
            label="m² restored per kg CO2e"
            error={errors.m2_per_kg_co2e}
            hint="Of your restoration project, for the impact page's restoration equivalent; 0 shows none."
          >
            <input
              {...controlProps(f("m2"), errors.m2_per_kg_co2e, true)}
              inputMode="decimal"
              className="input w-full"
              value={form.m2_per_kg_co2e}
              onChange={(e) => set("m2_per_kg_co2e", e.target.value)}
            />
          </Field>
        </fieldset>
        {apiErrors.general && <FormMessage tone="error">Not saved: {apiErrors.general}</FormMessage>}
        {save.isError && !apiErrors.general && <FormMessage tone="error">Not saved: see the fields marked above.</FormMessage>}
        {save.isSuccess && <FormMessage tone="success">Settings saved.</FormMessage>}
        {nothingToSave && <FormMessage tone="success">Nothing changed.</FormMessage>}
        {canEdit && (
          <button type="submit" className="btn-primary" disabled={save.isPending}>
            {save.isPending ? <Spinner label="Saving" /> : "Save settings"}
          </button>
        )}
      </form>
    </section>
  );
}
