/** Gateway settings: upstreams (provider endpoints with write-only keys) and routing rules, each created, edited and deleted here. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { api, type RoutingRulePublic, type UpstreamPublic } from "../../api/client";
import { queryKeys, useProjects, useRoutingRules, useUpstreams } from "../../api/queries";
import { EmptyState, ErrorState, Skeleton, Spinner } from "../../components/States";
import {
  BASE_URL_EXAMPLES,
  describeRule,
  EMPTY_RULE,
  EMPTY_UPSTREAM,
  ruleBody,
  ruleForm,
  upstreamBody,
  upstreamForm,
  type RuleForm,
  type UpstreamForm,
} from "../../lib/gateway";
import { formErrors } from "../../lib/settings";
import { ConfirmedAction, controlProps, Field, FormMessage } from "./Field";

function useFocusFirst() {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

function FormShell({ title, busy, error, submitText, onSubmit, onCancel, children }: {
  title: string;
  busy: boolean;
  error: string | null;
  submitText: string;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  return (
    <form onSubmit={onSubmit} aria-label={title} className="space-y-4 rounded-lg border border-slate-200 p-4 dark:border-slate-700" noValidate>
      <h3 className="text-sm font-semibold">{title}</h3>
      <fieldset disabled={busy} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        {children}
      </fieldset>
      {error && <FormMessage tone="error">Not saved: {error}</FormMessage>}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className="btn-primary" disabled={busy}>
          {busy ? <Spinner label="Saving" /> : submitText}
        </button>
        <button type="button" className="btn-secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ProjectOptions() {
  const projects = useProjects();
  return (
    <>
      {(projects.data ?? []).map((p) => (
        <option key={p.id} value={p.id}>
          {p.name}
        </option>
      ))}
    </>
  );
}

// ---- upstreams ----------------------------------------------------------------------------------

function UpstreamFormView({ upstream, onDone, onCancel }: { upstream?: UpstreamPublic; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const nameRef = useFocusFirst();
  const [form, setForm] = useState<UpstreamForm>(() => (upstream ? upstreamForm(upstream) : EMPTY_UPSTREAM));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (body: ReturnType<typeof upstreamBody>["body"]) => (upstream ? api.updateUpstream(upstream.id, body) : api.createUpstream(body)),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.upstreams });
      onDone();
    },
  });
  const apiErrors = formErrors(save.error);
  const errors: Record<string, string> = { ...apiErrors.fields, ...localErrors };
  const set = <K extends keyof UpstreamForm>(name: K, value: UpstreamForm[K]) => setForm((c) => ({ ...c, [name]: value }));
  const f = (name: string) => `${id}-${name}`;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = upstreamBody(form, Boolean(upstream));
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate(body);
  }

  const keyHint = upstream?.has_api_key
    ? `Stored key ${upstream.api_key_hint ?? ""}: leave empty to keep it, or type a new one.`
    : "Stored encrypted, never shown again. Empty: callers send their own key, or the server's default is used.";
  return (
    <FormShell
      title={upstream ? `Edit upstream ${upstream.name}` : "Add an upstream"}
      busy={save.isPending}
      error={apiErrors.general}
      submitText={upstream ? "Save upstream" : "Add upstream"}
      onSubmit={onSubmit}
      onCancel={onCancel}
    >
      <Field id={f("name")} label="Name" error={errors.name} hint="e.g. openai-prod">
        <input ref={nameRef} {...controlProps(f("name"), errors.name, true)} className="input w-full" value={form.name} onChange={(e) => set("name", e.target.value)} />
      </Field>
      <Field id={f("api")} label="Provider kind" error={errors.api} hint="The wire format it speaks.">
        <select {...controlProps(f("api"), errors.api, true)} className="input w-full" value={form.api} onChange={(e) => set("api", e.target.value as UpstreamForm["api"])}>
          <option value="openai">OpenAI-compatible (OpenAI, Azure, Groq, Mistral, vLLM…)</option>
          <option value="anthropic">Anthropic</option>
        </select>
      </Field>
      <Field id={f("base")} label="Base URL" error={errors.base_url} hint={`As the provider SDK's base_url, e.g. ${BASE_URL_EXAMPLES[form.api]}`}>
        <input {...controlProps(f("base"), errors.base_url, true)} className="input w-full" list={f("bases")} value={form.base_url} onChange={(e) => set("base_url", e.target.value)} />
        <datalist id={f("bases")}>
          {Object.values(BASE_URL_EXAMPLES).map((u) => (
            <option key={u} value={u} />
          ))}
        </datalist>
      </Field>
      <Field id={f("key")} label="API key" error={errors.api_key} hint={keyHint}>
        <input
          {...controlProps(f("key"), errors.api_key, true)}
          type="password"
          autoComplete="new-password"
          className="input w-full"
          value={form.api_key}
          disabled={form.remove_key}
          onChange={(e) => set("api_key", e.target.value)}
        />
      </Field>
      {upstream?.has_api_key && (
        <label className="flex items-center gap-2 self-center text-sm">
          <input type="checkbox" checked={form.remove_key} onChange={(e) => set("remove_key", e.target.checked)} />
          Remove the stored key
        </label>
      )}
      <Field id={f("provider")} label="Billed provider (optional)" error={errors.provider} hint="For pricing: openai, azure, groq… Empty: guessed from the URL.">
        <input {...controlProps(f("provider"), errors.provider, true)} className="input w-full" value={form.provider} onChange={(e) => set("provider", e.target.value)} />
      </Field>
      <Field id={f("auth")} label="Key header" error={errors.auth_style}>
        <select {...controlProps(f("auth"), errors.auth_style)} className="input w-full" value={form.auth_style} onChange={(e) => set("auth_style", e.target.value as UpstreamForm["auth_style"])}>
          <option value="">Default for the kind</option>
          <option value="bearer">Authorization: Bearer</option>
          <option value="api-key">api-key (Azure)</option>
          <option value="x-api-key">x-api-key (Anthropic)</option>
        </select>
      </Field>
      <Field id={f("models")} label="Allowed models" error={errors.allowed_models} hint="Comma-separated, * allowed. Empty: any model.">
        <input {...controlProps(f("models"), errors.allowed_models, true)} className="input w-full" value={form.allowed_models} onChange={(e) => set("allowed_models", e.target.value)} />
      </Field>
      <Field id={f("project")} label="Project" error={errors.project_id}>
        <select {...controlProps(f("project"), errors.project_id)} className="input w-full" value={form.project_id} onChange={(e) => set("project_id", e.target.value)}>
          <option value="">Whole organisation</option>
          <ProjectOptions />
        </select>
      </Field>
      <label className="flex items-center gap-2 self-center text-sm">
        <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
        Enabled
      </label>
    </FormShell>
  );
}

function UpstreamRow({ upstream, projectNames }: { upstream: UpstreamPublic; projectNames: ReadonlyMap<string, string> }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const remove = useMutation({
    mutationFn: () => api.deleteUpstream(upstream.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.upstreams }),
  });
  if (editing) {
    return (
      <tr>
        <td colSpan={6} className="p-3">
          <UpstreamFormView upstream={upstream} onDone={() => setEditing(false)} onCancel={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  return (
    <tr className={upstream.enabled ? "" : "text-slate-500 dark:text-slate-400"}>
      <td className="px-3 py-2 font-medium">
        {upstream.name}
        {!upstream.enabled && <span className="ml-1 text-xs font-normal">(disabled)</span>}
      </td>
      <td className="px-3 py-2">
        {upstream.api} · {upstream.provider}
      </td>
      <td className="break-all px-3 py-2 font-mono text-xs">{upstream.base_url}</td>
      <td className="whitespace-nowrap px-3 py-2">{upstream.has_api_key ? <code className="text-xs">{upstream.api_key_hint ?? "stored"}</code> : "none"}</td>
      <td className="px-3 py-2">
        {upstream.allowed_models.length ? upstream.allowed_models.join(", ") : "any"}
        <span className="block text-xs text-slate-500 dark:text-slate-400">{upstream.project_id ? (projectNames.get(upstream.project_id) ?? upstream.project_id) : "whole organisation"}</span>
      </td>
      <td className="px-3 py-2 text-right">
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)} aria-label={`Edit upstream ${upstream.name}`}>
            Edit
          </button>
          <div>
            <ConfirmedAction
              action="Delete"
              target={`upstream ${upstream.name}`}
              question="Calls can no longer be routed to it."
              failure="Not deleted"
              busy={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate()}
            />
          </div>
        </div>
      </td>
    </tr>
  );
}

// ---- routing rules ------------------------------------------------------------------------------

function RuleFormView({ rule, upstreams, onDone, onCancel }: { rule?: RoutingRulePublic; upstreams: UpstreamPublic[]; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const modelRef = useFocusFirst();
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleForm(rule) : EMPTY_RULE));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (body: ReturnType<typeof ruleBody>["body"]) => (rule ? api.updateRoutingRule(rule.id, body) : api.createRoutingRule(body)),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.routingRules });
      onDone();
    },
  });
  const apiErrors = formErrors(save.error);
  const errors: Record<string, string> = { ...apiErrors.fields, ...localErrors };
  const set = <K extends keyof RuleForm>(name: K, value: RuleForm[K]) => setForm((c) => ({ ...c, [name]: value }));
  const f = (name: string) => `${id}-${name}`;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = ruleBody(form);
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate(body);
  }

  const upstreamOptions = upstreams.map((u) => (
    <option key={u.id} value={u.id}>
      {u.name} ({u.api})
    </option>
  ));
  return (
    <FormShell
      title={rule ? `Edit routing rule ${rule.model_pattern}` : "Add a routing rule"}
      busy={save.isPending}
      error={apiErrors.general}
      submitText={rule ? "Save rule" : "Add rule"}
      onSubmit={onSubmit}
      onCancel={onCancel}
    >
      <Field id={f("from")} label="From model" error={errors.model_pattern} hint="The requested model; * and ? allowed.">
        <input ref={modelRef} {...controlProps(f("from"), errors.model_pattern, true)} className="input w-full" value={form.model_pattern} onChange={(e) => set("model_pattern", e.target.value)} />
      </Field>
      <Field id={f("to")} label="To model" error={errors.target_model} hint="Served instead; empty: the same model.">
        <input {...controlProps(f("to"), errors.target_model, true)} className="input w-full" value={form.target_model} onChange={(e) => set("target_model", e.target.value)} />
      </Field>
      <Field id={f("upstream")} label="Upstream" error={errors.upstream_id}>
        <select {...controlProps(f("upstream"), errors.upstream_id)} className="input w-full" value={form.upstream_id} onChange={(e) => set("upstream_id", e.target.value)}>
          <option value="">The usual one</option>
          {upstreamOptions}
        </select>
      </Field>
      <Field id={f("fallback")} label="Fallback upstream" error={errors.fallback_upstream_id} hint="Tried once when the first fails (5xx, timeout).">
        <select {...controlProps(f("fallback"), errors.fallback_upstream_id, true)} className="input w-full" value={form.fallback_upstream_id} onChange={(e) => set("fallback_upstream_id", e.target.value)}>
          <option value="">None</option>
          {upstreamOptions}
        </select>
      </Field>
      <Field id={f("fallback-model")} label="Fallback model" error={errors.fallback_model} hint="Empty: the target model.">
        <input {...controlProps(f("fallback-model"), errors.fallback_model, true)} className="input w-full" value={form.fallback_model} onChange={(e) => set("fallback_model", e.target.value)} />
      </Field>
      <Field id={f("scope")} label="Applies to" error={errors.scope}>
        <select {...controlProps(f("scope"), errors.scope)} className="input w-full" value={form.scope} onChange={(e) => set("scope", e.target.value as RuleForm["scope"])}>
          <option value="org">The whole organisation</option>
          <option value="project">One project</option>
          <option value="feature">One feature</option>
        </select>
      </Field>
      {form.scope !== "org" && (
        <Field id={f("project")} label={form.scope === "feature" ? "Project (optional)" : "Project"} error={errors.project_id}>
          <select {...controlProps(f("project"), errors.project_id)} className="input w-full" value={form.project_id} onChange={(e) => set("project_id", e.target.value)}>
            <option value="">{form.scope === "feature" ? "Any project" : "Choose a project"}</option>
            <ProjectOptions />
          </select>
        </Field>
      )}
      {form.scope === "feature" && (
        <Field id={f("feature")} label="Feature" error={errors.feature} hint="As sent in the x-tko-feature header.">
          <input {...controlProps(f("feature"), errors.feature, true)} className="input w-full" value={form.feature} onChange={(e) => set("feature", e.target.value)} />
        </Field>
      )}
      <Field id={f("priority")} label="Priority" error={errors.priority} hint="Lower first; the first matching rule applies.">
        <input {...controlProps(f("priority"), errors.priority, true)} inputMode="numeric" className="input w-full" value={form.priority} onChange={(e) => set("priority", e.target.value)} />
      </Field>
      <Field id={f("note")} label="Note" error={errors.note}>
        <input {...controlProps(f("note"), errors.note)} className="input w-full" value={form.note} onChange={(e) => set("note", e.target.value)} />
      </Field>
      <label className="flex items-center gap-2 self-center text-sm">
        <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
        Enabled
      </label>
    </FormShell>
  );
}

function RuleRow({ rule, upstreams, upstreamNames, projectNames }: {
  rule: RoutingRulePublic;
  upstreams: UpstreamPublic[];
  upstreamNames: ReadonlyMap<string, string>;
  projectNames: ReadonlyMap<string, string>;
}) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const remove = useMutation({
    mutationFn: () => api.deleteRoutingRule(rule.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.routingRules }),
  });
  if (editing) {
    return (
      <tr>
        <td colSpan={4} className="p-3">
          <RuleFormView rule={rule} upstreams={upstreams} onDone={() => setEditing(false)} onCancel={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  const project = rule.project_id ? (projectNames.get(rule.project_id) ?? rule.project_id) : null;
  const scope = rule.feature ? `feature ${rule.feature}${project ? ` in ${project}` : ""}` : project ? `project ${project}` : "whole organisation";
  return (
    <tr className={rule.enabled ? "" : "text-slate-500 dark:text-slate-400"}>
      <td className="px-3 py-2 tabular-nums">{rule.priority}</td>
      <td className="px-3 py-2">
        <span className="font-mono text-xs">{describeRule(rule, upstreamNames)}</span>
        {!rule.enabled && <span className="ml-1 text-xs">(disabled)</span>}
        {rule.note && <span className="block text-xs text-slate-500 dark:text-slate-400">{rule.note}</span>}
      </td>
      <td className="px-3 py-2">{scope}</td>
      <td className="px-3 py-2 text-right">
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn-secondary" onClick={() => setEditing(true)} aria-label={`Edit rule ${rule.model_pattern}`}>
            Edit
          </button>
          <div>
            <ConfirmedAction
              action="Delete"
              target={`rule ${rule.model_pattern}`}
              question="Calls for this model go to the usual upstream."
              failure="Not deleted"
              busy={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate()}
            />
          </div>
        </div>
      </td>
    </tr>
  );
}

const TH = "px-3 py-2 font-medium";
const THEAD = "bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400";

export function GatewayPanel() {
  const id = useId();
  const upstreams = useUpstreams();
  const rules = useRoutingRules();
  const projects = useProjects();
  const [addingUpstream, setAddingUpstream] = useState(false);
  const [addingRule, setAddingRule] = useState(false);
  const upstreamList = useMemo(() => upstreams.data ?? [], [upstreams.data]);
  const upstreamNames = useMemo(() => new Map(upstreamList.map((u) => [u.id, u.name])), [upstreamList]);
  const projectNames = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p.name])), [projects.data]);
  const ruleList = [...(rules.data ?? [])].sort((a, b) => a.priority - b.priority);
  const loading = (
    <div className="space-y-2" aria-busy="true">
      <Skeleton className="h-8 w-full" />
      <Skeleton className="h-8 w-full" />
    </div>
  );

  return (
    <>
      <section aria-labelledby={`${id}-upstreams`} className="panel space-y-4">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div>
            <h2 id={`${id}-upstreams`} className="panel-title">
              Upstreams
            </h2>
            <p className="text-sm text-slate-500 dark:text-slate-400">
              Provider endpoints the gateway forwards to. Keys are write-only: stored encrypted, shown only by their last characters.
            </p>
          </div>
          {!addingUpstream && (
            <button type="button" className="btn-primary" onClick={() => setAddingUpstream(true)}>
              <Plus aria-hidden className="size-4" /> Add upstream
            </button>
          )}
        </div>
        {addingUpstream && <UpstreamFormView onDone={() => setAddingUpstream(false)} onCancel={() => setAddingUpstream(false)} />}
        {upstreams.isError ? (
          <ErrorState error={upstreams.error} onRetry={() => upstreams.refetch()} compact />
        ) : upstreams.isPending ? (
          loading
        ) : upstreamList.length === 0 ? (
          !addingUpstream && <EmptyState title="No upstreams">The gateway uses the server's default OpenAI and Anthropic endpoints, or the key callers send.</EmptyState>
        ) : (
          <div className="-mx-4 overflow-x-auto">
            <table className="w-full text-sm" aria-label="Upstreams">
              <thead className={THEAD}>
                <tr>
                  <th scope="col" className={TH}>Name</th>
                  <th scope="col" className={TH}>Kind</th>
                  <th scope="col" className={TH}>Base URL</th>
                  <th scope="col" className={TH}>Key</th>
                  <th scope="col" className={TH}>Models · project</th>
                  <th scope="col" className={TH}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {upstreamList.map((u) => (
                  <UpstreamRow key={u.id} upstream={u} projectNames={projectNames} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby={`${id}-rules`} className="panel space-y-4">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div>
            <h2 id={`${id}-rules`} className="panel-title">
              Routing rules
            </h2>
            <p className="text-sm text-slate-500 dark:text-slate-400">
              Serve a requested model with another model or upstream, for the organisation, a project or a feature, with a fallback when the upstream fails.
            </p>
          </div>
          {!addingRule && (
            <button type="button" className="btn-primary" onClick={() => setAddingRule(true)}>
              <Plus aria-hidden className="size-4" /> Add rule
            </button>
          )}
        </div>
        {addingRule && <RuleFormView upstreams={upstreamList} onDone={() => setAddingRule(false)} onCancel={() => setAddingRule(false)} />}
        {rules.isError ? (
          <ErrorState error={rules.error} onRetry={() => rules.refetch()} compact />
        ) : rules.isPending ? (
          loading
        ) : ruleList.length === 0 ? (
          !addingRule && <EmptyState title="No routing rules">Every call goes to the model and upstream it asks for.</EmptyState>
        ) : (
          <div className="-mx-4 overflow-x-auto">
            <table className="w-full text-sm" aria-label="Routing rules">
              <thead className={THEAD}>
                <tr>
                  <th scope="col" className={TH}>Priority</th>
                  <th scope="col" className={TH}>Rule</th>
                  <th scope="col" className={TH}>Applies to</th>
                  <th scope="col" className={TH}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {ruleList.map((r) => (
                  <RuleRow key={r.id} rule={r} upstreams={upstreamList} upstreamNames={upstreamNames} projectNames={projectNames} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
