/** Create or edit a budget: name, scope conditions, period, limit, threshold chips, action, rollover, channels. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Plus, X } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link } from "react-router";
import { api, BUDGET_DIMENSIONS, BUDGET_PERIODS, type BudgetDimension, type BudgetPublic } from "../../api/client";
import { queryKeys, useChannels, useProjects } from "../../api/queries";
import { Spinner } from "../../components/States";
import {
  addThreshold,
  budgetApiErrors,
  budgetBody,
  budgetForm,
  DIMENSION_LABELS,
  EMPTY_BUDGET,
  PERIOD_LABELS,
  type BudgetForm as Form,
  type ScopeNames,
} from "../../lib/budgets";
import { controlProps, Field, FormMessage } from "../settings/Field";

const DIMENSION_HINTS: Record<BudgetDimension, string> = {
  project: "project name",
  team: "team, as sent with events",
  user: "user id or e-mail",
  end_user: "your customer's id",
  api_key: "API key id or prefix",
  feature: "feature name",
  model: "model, e.g. gpt-4o",
};

function ScopeBuilder({
  id,
  rows,
  errors,
  projects,
  onChange,
}: {
  id: string;
  rows: Form["scope"];
  errors: Record<string, string>;
  projects: string[];
  onChange: (rows: Form["scope"]) => void;
}) {
  const nextKey = useRef(rows.reduce((max, r) => Math.max(max, r.key + 1), 0));
  const lastValue = useRef<HTMLInputElement>(null);
  const [focusNew, setFocusNew] = useState(false);
  useEffect(() => {
    if (focusNew) {
      lastValue.current?.focus();
      setFocusNew(false);
    }
  }, [focusNew]);

  function add() {
    const used = new Set(rows.map((r) => r.dimension));
    const dimension = BUDGET_DIMENSIONS.find((d) => !used.has(d)) ?? "project";
    onChange([...rows, { key: nextKey.current++, dimension, value: "" }]);
    setFocusNew(true);
  }

  const general = errors.scope;
  return (
    <fieldset aria-describedby={`${id}-scope-hint`} className="space-y-2">
      <legend className="mb-1 text-sm font-medium">Scope</legend>
      <p id={`${id}-scope-hint`} className="text-xs text-slate-500 dark:text-slate-400">
        {rows.length === 0 ? "The whole organisation's spend counts. " : "Only spend matching every condition counts. "}
        Add conditions to narrow it to a project, team, user, end user, API key, feature or model.
      </p>
      {rows.length > 0 && (
        <ul className="space-y-2">
          {rows.map((row, index) => {
            const rowId = `${id}-scope-${row.key}`;
            const error = errors[`scope.${row.key}`];
            return (
              <li key={row.key}>
                <div className="flex flex-wrap items-center gap-2">
                  <label htmlFor={`${rowId}-dim`} className="sr-only">
                    Condition {index + 1} dimension
                  </label>
                  <select
                    id={`${rowId}-dim`}
                    className="input"
                    value={row.dimension}
                    onChange={(e) => onChange(rows.map((r) => (r.key === row.key ? { ...r, dimension: e.target.value as BudgetDimension } : r)))}
                  >
                    {BUDGET_DIMENSIONS.map((d) => (
                      <option key={d} value={d}>
                        {DIMENSION_LABELS[d]}
                      </option>
                    ))}
                  </select>
                  <span aria-hidden className="text-sm text-slate-500 dark:text-slate-400">
                    is
                  </span>
                  <label htmlFor={`${rowId}-value`} className="sr-only">
                    Condition {index + 1} value ({DIMENSION_LABELS[row.dimension]})
                  </label>
                  <input
                    ref={index === rows.length - 1 ? lastValue : undefined}
                    {...controlProps(`${rowId}-value`, error)}
                    className="input min-w-0 flex-1 sm:max-w-xs"
                    placeholder={DIMENSION_HINTS[row.dimension]}
                    list={row.dimension === "project" ? `${id}-projects` : undefined}
                    value={row.value}
                    onChange={(e) => onChange(rows.map((r) => (r.key === row.key ? { ...r, value: e.target.value } : r)))}
                  />
                  <button
                    type="button"
                    className="btn-secondary px-2"
                    aria-label={`Remove condition ${index + 1} (${DIMENSION_LABELS[row.dimension]})`}
                    onClick={() => onChange(rows.filter((r) => r.key !== row.key))}
                  >
                    <X aria-hidden className="size-4" />
                  </button>
                </div>
                {error && (
                  <p id={`${rowId}-value-error`} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
                    {error}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <datalist id={`${id}-projects`}>
        {projects.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      {general && <p className="text-xs font-medium text-rose-700 dark:text-rose-300">{general}</p>}
      <button type="button" className="btn-secondary" onClick={add} disabled={rows.length >= BUDGET_DIMENSIONS.length}>
        <Plus aria-hidden className="size-4" /> Add condition
      </button>
    </fieldset>
  );
}

function ThresholdChips({ id, thresholds, error, onChange }: { id: string; thresholds: number[]; error?: string | undefined; onChange: (t: number[]) => void }) {
  const [text, setText] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const shown = localError ?? error;

  function add() {
    const result = addThreshold(thresholds, text);
    setLocalError(result.error);
    if (!result.error) {
      onChange(result.thresholds);
      setText("");
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    // Enter adds the chip instead of submitting the whole form.
    if (event.key === "Enter") {
      event.preventDefault();
      add();
    }
  }

  return (
    <fieldset>
      <legend className="mb-1 text-sm font-medium">Alert thresholds</legend>
      <div className="flex flex-wrap items-center gap-2">
        <ul aria-label="Thresholds" className="flex flex-wrap gap-1.5">
          {thresholds.map((t) => (
            <li
              key={t}
              className="inline-flex items-center gap-1 rounded-full border border-indigo-200 bg-indigo-50 py-0.5 pl-2.5 pr-1 text-sm font-medium text-indigo-800 dark:border-indigo-500/40 dark:bg-indigo-500/15 dark:text-indigo-200"
            >
              {t}%
              <button
                type="button"
                className="rounded-full p-0.5 hover:bg-indigo-100 dark:hover:bg-indigo-500/30"
                aria-label={`Remove threshold ${t}%`}
                onClick={() => onChange(thresholds.filter((x) => x !== t))}
              >
                <X aria-hidden className="size-3.5" />
              </button>
            </li>
          ))}
          {thresholds.length === 0 && <li className="text-sm text-slate-500 dark:text-slate-400">none: no alerts</li>}
        </ul>
        <label htmlFor={`${id}-threshold-new`} className="sr-only">
          New threshold (%)
        </label>
        <input
          id={`${id}-threshold-new`}
          className="input w-20"
          inputMode="decimal"
          placeholder="90"
          value={text}
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? `${id}-thresholds-error` : `${id}-thresholds-hint`}
          onChange={(e) => {
            setText(e.target.value);
            setLocalError(null);
          }}
          onKeyDown={onKeyDown}
        />
        <button type="button" className="btn-secondary" onClick={add}>
          Add threshold
        </button>
      </div>
      {shown ? (
        <p id={`${id}-thresholds-error`} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
          {shown}
        </p>
      ) : (
        <p id={`${id}-thresholds-hint`} className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Percentages of the limit; each raises one alert per period when spend reaches it.
        </p>
      )}
    </fieldset>
  );
}

export function BudgetForm({
  budget,
  currency,
  names,
  onDone,
  onCancel,
}: {
  /** The budget to edit; none to create one. */
  budget?: BudgetPublic;
  currency: string;
  names: ScopeNames;
  onDone: (saved: BudgetPublic) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const queryClient = useQueryClient();
  const projects = useProjects();
  const channels = useChannels();
  const [form, setForm] = useState<Form>(() => (budget ? budgetForm(budget, names) : EMPTY_BUDGET));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => nameRef.current?.focus(), []);

  const save = useMutation({
    mutationFn: (body: ReturnType<typeof budgetBody>["body"]) => (budget ? api.updateBudget(budget.id, body) : api.createBudget(body)),
    onSuccess: (saved) => {
      queryClient.setQueryData(queryKeys.budget(saved.id), saved);
      void queryClient.invalidateQueries({ queryKey: queryKeys.budgets });
      onDone(saved);
    },
  });
  const apiErrors = budgetApiErrors(save.error, form);
  const errors: Record<string, string> = { ...apiErrors.fields, ...localErrors };

  function set<K extends keyof Form>(name: K, value: Form[K]) {
    setForm((current) => ({ ...current, [name]: value }));
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = budgetBody(form);
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate(body);
  }

  const f = (name: string) => `${id}-${name}`;
  const channelList = channels.data?.channels ?? [];
  const title = budget ? `Edit budget ${budget.name}` : "Create a budget";
  return (
    <form onSubmit={onSubmit} aria-label={title} className="panel space-y-5" noValidate>
      <h2 className="panel-title">{title}</h2>
      <fieldset disabled={save.isPending} className="space-y-5">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Field id={f("name")} label="Name" error={errors.name}>
            <input ref={nameRef} {...controlProps(f("name"), errors.name)} className="input w-full" value={form.name} onChange={(e) => set("name", e.target.value)} />
          </Field>
          <Field id={f("limit")} label={`Limit (${currency})`} error={errors.limit} hint="Per period, in the organisation's currency.">
            <input
              {...controlProps(f("limit"), errors.limit, true)}
              className="input w-full"
              inputMode="decimal"
              value={form.limit}
              onChange={(e) => set("limit", e.target.value)}
            />
          </Field>
          <Field id={f("period")} label="Period" error={errors.period} hint="Calendar periods in the organisation's time zone.">
            <select {...controlProps(f("period"), errors.period, true)} className="input w-full" value={form.period} onChange={(e) => set("period", e.target.value as Form["period"])}>
              {BUDGET_PERIODS.map((p) => (
                <option key={p} value={p}>
                  {PERIOD_LABELS[p]}
                </option>
              ))}
            </select>
          </Field>
          <Field id={f("starts")} label="Custom start (optional)" error={errors.starts_on} hint="Periods begin on this day, e.g. the 15th for a monthly budget.">
            <input
              {...controlProps(f("starts"), errors.starts_on, true)}
              type="date"
              className="input w-full"
              value={form.starts_on}
              onChange={(e) => set("starts_on", e.target.value)}
            />
          </Field>
        </div>

        <ScopeBuilder id={id} rows={form.scope} errors={errors} projects={(projects.data ?? []).map((p) => p.name)} onChange={(rows) => set("scope", rows)} />

        <ThresholdChips id={id} thresholds={form.thresholds} error={errors.thresholds} onChange={(t) => set("thresholds", t)} />

        <div className="grid gap-4 md:grid-cols-2">
          <fieldset>
            <legend className="mb-1 text-sm font-medium">At the limit</legend>
            <div className="space-y-1.5">
              <label className="flex items-start gap-2 text-sm">
                <input type="radio" name={f("action")} className="mt-0.5" checked={form.action === "alert"} onChange={() => set("action", "alert")} />
                <span>
                  <span className="font-medium">Alert</span> — notify, let calls through
                </span>
              </label>
              <label className="flex items-start gap-2 text-sm">
                <input type="radio" name={f("action")} className="mt-0.5" checked={form.action === "block"} onChange={() => set("action", "block")} />
                <span>
                  <span className="font-medium">Block</span> — refuse calls through the gateway and the SDK guard
                </span>
              </label>
            </div>
          </fieldset>
          <div className="space-y-2">
            <div>
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  className="mt-0.5"
                  checked={form.rollover && form.period !== "total"}
                  disabled={form.period === "total"}
                  aria-invalid={errors.rollover ? true : undefined}
                  aria-describedby={errors.rollover ? f("rollover-error") : undefined}
                  onChange={(e) => set("rollover", e.target.checked)}
                />
                <span>
                  <span className="font-medium">Roll over</span> — add what was unused of the previous period to the limit
                </span>
              </label>
              {errors.rollover && (
                <p id={f("rollover-error")} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
                  {errors.rollover}
                </p>
              )}
            </div>
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" className="mt-0.5" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
              <span>
                <span className="font-medium">Enabled</span> — counted, alerted and enforced
              </span>
            </label>
          </div>
        </div>

        {/* Shown only when the server has notification channels (the API answers). */}
        {channels.isSuccess && (
          <fieldset aria-describedby={errors.channel_ids ? f("channels-error") : undefined}>
            <legend className="mb-1 text-sm font-medium">Notify</legend>
            {channelList.length === 0 ? (
              <p className="text-sm text-slate-500 dark:text-slate-400">
                Alerts show in the dashboard.{" "}
                <Link to="/settings?tab=notifications" className="font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                  Add a webhook, Slack or e-mail channel
                </Link>{" "}
                to be told elsewhere.
              </p>
            ) : (
              <div className="flex flex-wrap gap-x-4 gap-y-1.5">
                {channelList.map((channel) => (
                  <label key={channel.id} className="inline-flex items-center gap-1.5 text-sm">
                    <input
                      type="checkbox"
                      checked={form.channel_ids.includes(channel.id)}
                      onChange={(e) =>
                        set("channel_ids", e.target.checked ? [...form.channel_ids, channel.id] : form.channel_ids.filter((c) => c !== channel.id))
                      }
                    />
                    {channel.name} <span className="text-xs text-slate-500 dark:text-slate-400">({channel.kind})</span>
                  </label>
                ))}
              </div>
            )}
            {errors.channel_ids && (
              <p id={f("channels-error")} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
                {errors.channel_ids}
              </p>
            )}
          </fieldset>
        )}
      </fieldset>
      {apiErrors.general && <FormMessage tone="error">Not saved: {apiErrors.general}</FormMessage>}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className="btn-primary" disabled={save.isPending}>
          {save.isPending ? <Spinner label="Saving" /> : budget ? "Save budget" : "Create budget"}
        </button>
        <button type="button" className="btn-secondary" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
