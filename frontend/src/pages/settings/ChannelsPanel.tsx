/** Notification channels (webhook, Slack, e-mail): list, add, edit, delete, "Send test" and each channel's delivery log. */
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Plus, Send } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { ALERT_KINDS, api, type ChannelKind, type ChannelList, type ChannelPublic } from "../../api/client";
import { queryKeys, useChannels } from "../../api/queries";
import { EmptyState, ErrorState, errorMessage, Skeleton, Spinner } from "../../components/States";
import { alertKindLabel } from "../../lib/alerts";
import {
  CHANNEL_KIND_LABELS,
  channelApiErrors,
  channelBody,
  channelForm,
  channelPatch,
  channelTarget,
  deliverySummary,
  EMPTY_CHANNEL,
  type ChannelForm,
} from "../../lib/channels";
import { formatDateTime } from "../../lib/format";
import { ConfirmedAction, controlProps, Field, FormMessage } from "./Field";

function randomSecret(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function ChannelFormView({ channel, onDone, onCancel }: { channel?: ChannelPublic; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<ChannelForm>(() => (channel ? channelForm(channel) : EMPTY_CHANNEL));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => nameRef.current?.focus(), []);
  const save = useMutation({
    mutationFn: async (): Promise<ChannelPublic> => {
      if (channel) return api.updateChannel(channel.id, channelPatch(form).body);
      return api.createChannel(channelBody(form).body);
    },
    onSuccess: (saved) => {
      queryClient.setQueryData<ChannelList>(queryKeys.channels, (list) =>
        list && { channels: channel ? list.channels.map((c) => (c.id === saved.id ? saved : c)) : [...list.channels, saved] },
      );
      void queryClient.invalidateQueries({ queryKey: queryKeys.channels, exact: true });
      onDone();
    },
  });
  const apiErrors = channelApiErrors(save.error);
  const errors: Record<string, string> = { ...apiErrors.fields, ...localErrors };

  function set<K extends keyof ChannelForm>(name: K, value: ChannelForm[K]) {
    setForm((current) => ({ ...current, [name]: value }));
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = channel ? channelPatch(form).errors : channelBody(form).errors;
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate();
  }

  const f = (name: string) => `${id}-${name}`;
  const masked = (name: string) => {
    const value = channel?.config[name];
    return typeof value === "string" ? value : null;
  };
  const keepHint = (name: string, what: string) => (masked(name) ? `Stored: ${masked(name)}. Leave empty to keep it, or type a new ${what}.` : undefined);
  const title = channel ? `Edit channel ${channel.name}` : "Add a notification channel";
  const input = (name: keyof ChannelForm, label: string, options: { hint?: string | undefined; type?: string; autoComplete?: string; className?: string; placeholder?: string } = {}) => (
    <Field id={f(name)} label={label} error={errors[name]} hint={options.hint} className={options.className}>
      <input
        {...controlProps(f(name), errors[name], Boolean(options.hint))}
        ref={name === "name" ? nameRef : undefined}
        type={options.type ?? "text"}
        autoComplete={options.autoComplete ?? "off"}
        placeholder={options.placeholder}
        className="input w-full"
        value={String(form[name])}
        onChange={(e) => set(name, e.target.value as never)}
      />
    </Field>
  );

  return (
    <form onSubmit={onSubmit} aria-label={title} className="space-y-4 rounded-lg border border-slate-200 p-4 dark:border-slate-700" noValidate>
      <h3 className="text-sm font-semibold">{title}</h3>
      <fieldset disabled={save.isPending} className="space-y-4">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {input("name", "Name", { placeholder: "Ops Slack" })}
          <Field id={f("kind")} label="Kind" error={errors.kind}>
            <select
              {...controlProps(f("kind"), errors.kind)}
              className="input w-full"
              value={form.kind}
              disabled={Boolean(channel)}
              onChange={(e) => set("kind", e.target.value as ChannelKind)}
            >
              {(Object.keys(CHANNEL_KIND_LABELS) as ChannelKind[]).map((k) => (
                <option key={k} value={k}>
                  {CHANNEL_KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {form.kind === "webhook" && (
          <div className="grid gap-4 sm:grid-cols-2">
            {input("url", "Webhook URL", { placeholder: "https://hooks.example.com/tokenoptimizer", hint: "Alerts are POSTed here as signed JSON." })}
            <div>
              <Field
                id={f("signing_secret")}
                label="Signing secret"
                error={errors.signing_secret}
                hint={keepHint("signing_secret", "secret") ?? "At least 16 characters; the receiver checks the X-TokenOptimizer-Signature HMAC with it."}
              >
                <div className="flex gap-2">
                  <input
                    {...controlProps(f("signing_secret"), errors.signing_secret, true)}
                    type="text"
                    autoComplete="off"
                    spellCheck={false}
                    className="input min-w-0 flex-1 font-mono text-xs"
                    value={form.signing_secret}
                    onChange={(e) => set("signing_secret", e.target.value)}
                  />
                  <button type="button" className="btn-secondary" onClick={() => set("signing_secret", randomSecret())}>
                    Generate
                  </button>
                </div>
              </Field>
            </div>
          </div>
        )}
        {form.kind === "slack" &&
          input("webhook_url", "Incoming webhook URL", {
            placeholder: "https://hooks.slack.com/services/…",
            hint: keepHint("webhook_url", "URL") ?? "From Slack's Incoming Webhooks app (Mattermost and Rocket.Chat work too). Stored encrypted.",
          })}
        {form.kind === "email" && (
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {input("host", "SMTP host", { placeholder: "smtp.example.com" })}
            {input("port", "Port", { hint: "587 with STARTTLS, 465 with SSL/TLS." })}
            <Field id={f("security")} label="Security" error={errors.security}>
              <select {...controlProps(f("security"), errors.security)} className="input w-full" value={form.security} onChange={(e) => set("security", e.target.value as ChannelForm["security"])}>
                <option value="starttls">STARTTLS</option>
                <option value="ssl">SSL/TLS</option>
                <option value="none">None (plain)</option>
              </select>
            </Field>
            {input("username", "Username (optional)", { autoComplete: "off" })}
            {input("password", "Password (optional)", { type: "password", autoComplete: "new-password", hint: keepHint("password", "password") })}
            {input("from_address", "From", { type: "email", placeholder: "alerts@example.com" })}
            {input("to", "To", { hint: "One or more addresses, separated by commas.", className: "sm:col-span-2 lg:col-span-3" })}
          </div>
        )}
        <fieldset>
          <legend className="mb-1 text-sm font-medium">Organisation-wide alerts sent here</legend>
          <div className="flex flex-wrap gap-x-4 gap-y-1.5">
            {ALERT_KINDS.map((kind) => (
              <label key={kind} className="inline-flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  checked={form.alert_kinds.includes(kind)}
                  onChange={(e) => set("alert_kinds", e.target.checked ? [...form.alert_kinds, kind] : form.alert_kinds.filter((k) => k !== kind))}
                />
                {alertKindLabel(kind)}
              </label>
            ))}
            <label className="inline-flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
              Enabled
            </label>
          </div>
          <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">A budget's alerts also go to the channels chosen on the budget.</p>
        </fieldset>
      </fieldset>
      {apiErrors.general && <FormMessage tone="error">Not saved: {apiErrors.general}</FormMessage>}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className="btn-primary" disabled={save.isPending}>
          {save.isPending ? <Spinner label="Saving" /> : channel ? "Save channel" : "Add channel"}
        </button>
        <button type="button" className="btn-secondary" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function DeliveryLog({ channel, timezone }: { channel: ChannelPublic; timezone: string }) {
  const log = useInfiniteQuery({
    queryKey: queryKeys.deliveries(channel.id),
    queryFn: ({ pageParam, signal }) => api.deliveries(channel.id, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
  const rows = log.data?.pages.flatMap((p) => p.deliveries) ?? [];
  if (log.isError) return <ErrorState error={log.error} onRetry={() => log.refetch()} compact />;
  if (log.isPending) return <Skeleton className="h-16 w-full" />;
  if (rows.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">Nothing sent yet. Use “Send test” to try the channel.</p>;
  return (
    <div className="space-y-2">
      <div className="overflow-x-auto">
        <table className="w-full text-sm" aria-label={`Delivery log of ${channel.name}`}>
          <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
            <tr>
              <th scope="col" className="px-3 py-2 font-medium">Time</th>
              <th scope="col" className="px-3 py-2 font-medium">Alert</th>
              <th scope="col" className="px-3 py-2 font-medium">Attempt</th>
              <th scope="col" className="px-3 py-2 font-medium">Result</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {rows.map((d) => (
              <tr key={d.id}>
                <td className="whitespace-nowrap px-3 py-2">{formatDateTime(d.created_at, timezone)}</td>
                <td className="px-3 py-2">{d.alert_id === null ? `Test: ${d.alert_title}` : d.alert_title}</td>
                <td className="px-3 py-2 tabular-nums">{d.attempt}</td>
                <td className={`px-3 py-2 ${d.status === "ok" ? "text-emerald-700 dark:text-emerald-300" : "text-rose-700 dark:text-rose-300"}`}>
                  {deliverySummary(d, channel.kind)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {log.hasNextPage && (
        <button type="button" className="btn-secondary" onClick={() => log.fetchNextPage()} disabled={log.isFetchingNextPage}>
          {log.isFetchingNextPage ? <Spinner label="Loading" /> : "Older deliveries"}
        </button>
      )}
    </div>
  );
}

function ChannelCard({ channel, timezone }: { channel: ChannelPublic; timezone: string }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [showLog, setShowLog] = useState(false);
  const logId = useId();
  const test = useMutation({
    mutationFn: () => api.testChannel(channel.id),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: queryKeys.deliveries(channel.id) }),
  });
  const remove = useMutation({
    mutationFn: () => api.deleteChannel(channel.id),
    onSuccess: () => {
      queryClient.setQueryData<ChannelList>(queryKeys.channels, (list) => list && { channels: list.channels.filter((c) => c.id !== channel.id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.budgets }); // budgets stop naming it
    },
  });
  if (editing) {
    return (
      <li>
        <ChannelFormView channel={channel} onDone={() => setEditing(false)} onCancel={() => setEditing(false)} />
      </li>
    );
  }
  return (
    <li className="space-y-3 py-3" aria-label={`Channel ${channel.name}`}>
      <div className="flex flex-wrap items-start gap-x-3 gap-y-2">
        <div className="min-w-0 flex-1">
          <p className="flex flex-wrap items-center gap-2 font-medium">
            {channel.name}
            <span className="rounded-full border border-slate-300 px-2 py-0.5 text-xs font-medium text-slate-700 dark:border-slate-600 dark:text-slate-200">
              {CHANNEL_KIND_LABELS[channel.kind]}
            </span>
            {!channel.enabled && <span className="text-xs text-slate-600 dark:text-slate-300">disabled</span>}
          </p>
          <p className="break-all text-sm text-slate-600 dark:text-slate-300">{channelTarget(channel)}</p>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            {channel.alert_kinds.length ? channel.alert_kinds.map(alertKindLabel).join(", ") : "Only the budgets that name it"}
          </p>
        </div>
        <div className="flex flex-wrap items-start gap-2">
          <button type="button" className="btn-secondary" onClick={() => test.mutate()} disabled={test.isPending} aria-label={`Send test to ${channel.name}`}>
            {test.isPending ? <Spinner label="Sending" /> : (
              <>
                <Send aria-hidden className="size-4" /> Send test
              </>
            )}
          </button>
          <button type="button" className="btn-secondary" aria-expanded={showLog} aria-controls={logId} onClick={() => setShowLog((v) => !v)}>
            Delivery log
          </button>
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)} aria-label={`Edit channel ${channel.name}`}>
            Edit
          </button>
          <div>
            <ConfirmedAction
              action="Delete"
              target={`channel ${channel.name}`}
              question="Its delivery log goes too; budgets stop naming it."
              failure="Not deleted"
              busy={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate()}
            />
          </div>
        </div>
      </div>
      <div aria-live="polite">
        {test.isSuccess && (
          <p
            role="status"
            aria-label={`Test result of ${channel.name}`}
            className={`rounded-md px-3 py-2 text-sm ${
              test.data.status === "ok"
                ? "bg-emerald-50 text-emerald-800 dark:bg-emerald-500/10 dark:text-emerald-300"
                : "bg-rose-50 text-rose-700 dark:bg-rose-500/10 dark:text-rose-300"
            }`}
          >
            Test {deliverySummary(test.data, channel.kind).replace(/^Delivered/, "delivered").replace(/^Failed/, "failed")}
          </p>
        )}
        {test.isError && <FormMessage tone="error">Test not sent: {errorMessage(test.error)}</FormMessage>}
      </div>
      {showLog && (
        <div id={logId}>
          <DeliveryLog channel={channel} timezone={timezone} />
        </div>
      )}
    </li>
  );
}

export function ChannelsPanel({ timezone }: { timezone: string }) {
  const id = useId();
  const channels = useChannels();
  const [adding, setAdding] = useState(false);
  const list = channels.data?.channels ?? [];
  return (
    <section aria-labelledby={`${id}-title`} className="panel space-y-4">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h2 id={`${id}-title`} className="panel-title">
            Notification channels
          </h2>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            Where alerts go besides the dashboard: a signed webhook, a Slack channel or e-mail. Failed deliveries are retried; every attempt is logged.
          </p>
        </div>
        {!adding && (
          <button type="button" className="btn-primary" onClick={() => setAdding(true)}>
            <Plus aria-hidden className="size-4" /> Add channel
          </button>
        )}
      </div>
      {adding && <ChannelFormView onDone={() => setAdding(false)} onCancel={() => setAdding(false)} />}
      {channels.isError ? (
        <ErrorState error={channels.error} onRetry={() => channels.refetch()} compact />
      ) : channels.isPending ? (
        <div className="space-y-2" aria-busy="true">
          <Skeleton className="h-14 w-full" />
          <Skeleton className="h-14 w-full" />
        </div>
      ) : list.length === 0 ? (
        !adding && <EmptyState title="No notification channels">Alerts show in the dashboard only. Add a webhook, Slack or e-mail channel to be told elsewhere.</EmptyState>
      ) : (
        <ul aria-label="Notification channels" className="divide-y divide-slate-100 dark:divide-slate-800">
          {list.map((channel) => (
            <ChannelCard key={channel.id} channel={channel} timezone={timezone} />
          ))}
        </ul>
      )}
    </section>
  );
}
