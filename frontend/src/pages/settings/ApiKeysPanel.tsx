/** API keys: the list (never secrets), a new key shown once, and revoking with a confirmation. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Check, Copy, KeyRound } from "lucide-react";
import { useId, useRef, useState, type FormEvent } from "react";
import { api, type ApiKeyCreated, type ApiKeyPublic, type Scope } from "../../api/client";
import { queryKeys, useApiKeys, useProjects } from "../../api/queries";
import { EmptyState, ErrorState, Skeleton, Spinner } from "../../components/States";
import { formatDateTime } from "../../lib/format";
import { formErrors } from "../../lib/settings";
import { ConfirmedAction, controlProps, Field, FormMessage } from "./Field";

const SCOPES: { value: Scope; label: string; hint: string }[] = [
  { value: "ingest", label: "ingest", hint: "send usage events" },
  { value: "read", label: "read", hint: "read usage and reports" },
  { value: "admin", label: "admin", hint: "change settings and keys" },
];

function NewKey({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<"idle" | "copied" | "failed">("idle");

  async function copyKey() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopy("copied");
    } catch {
      // No clipboard access (permissions, insecure origin): select it for a manual copy.
      inputRef.current?.select();
      setCopy("failed");
    }
  }

  return (
    <div role="region" aria-label="New API key" className="space-y-2 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-500/40 dark:bg-amber-500/10 dark:text-amber-100">
      <p className="font-medium">
        Store this key now: it is shown only this once. Key “{created.name || created.prefix}” for project {created.project} ({created.scopes.join(", ")}).
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor={`key-${created.id}`} className="sr-only">
          Secret key
        </label>
        <input
          ref={inputRef}
          id={`key-${created.id}`}
          readOnly
          value={created.key}
          onFocus={(e) => e.currentTarget.select()}
          className="input min-w-0 flex-1 font-mono text-xs"
          data-testid="new-api-key"
        />
        <button type="button" className="btn-secondary" onClick={copyKey}>
          {copy === "copied" ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
          {copy === "copied" ? "Copied" : "Copy key"}
        </button>
        <button type="button" className="btn-secondary" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p aria-live="polite" className="text-xs">
        {copy === "copied" && "Copied to the clipboard."}
        {copy === "failed" && "The browser refused the clipboard: the key is selected, copy it with Ctrl+C / ⌘C."}
      </p>
    </div>
  );
}

function KeyRow({ apiKey, timezone }: { apiKey: ApiKeyPublic; timezone: string }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.revokeApiKey(apiKey.id),
    onSuccess: (revoked) => {
      queryClient.setQueryData<ApiKeyPublic[]>(queryKeys.apiKeys, (keys) => keys?.map((k) => (k.id === revoked.id ? revoked : k)));
    },
  });
  const label = apiKey.name || apiKey.prefix;
  return (
    <tr className={apiKey.revoked_at ? "text-slate-500 dark:text-slate-400" : ""}>
      <td className="px-3 py-2">
        <div className="font-medium">{apiKey.name || <span className="text-slate-500 dark:text-slate-400">unnamed</span>}</div>
        <code className="text-xs">{apiKey.prefix}…</code>
      </td>
      <td className="px-3 py-2">{apiKey.project}</td>
      <td className="px-3 py-2">{apiKey.scopes.join(", ")}</td>
      <td className="whitespace-nowrap px-3 py-2">{formatDateTime(apiKey.created_at, timezone)}</td>
      <td className="whitespace-nowrap px-3 py-2">{apiKey.last_used_at ? formatDateTime(apiKey.last_used_at, timezone) : "never"}</td>
      <td className="whitespace-nowrap px-3 py-2">
        {apiKey.revoked_at ? (
          <span>Revoked {formatDateTime(apiKey.revoked_at, timezone)}</span>
        ) : (
          <span className="text-emerald-700 dark:text-emerald-400">Active</span>
        )}
      </td>
      <td className="px-3 py-2 text-right">
        {apiKey.revoked_at ? null : (
          <ConfirmedAction
            action="Revoke"
            target={`key ${label}`}
            question="Requests with this key will be refused at once."
            failure="Not revoked"
            busy={revoke.isPending}
            error={revoke.error}
            onConfirm={() => revoke.mutate()}
          />
        )}
      </td>
    </tr>
  );
}

export function ApiKeysPanel({ timezone }: { timezone: string }) {
  const id = useId();
  const queryClient = useQueryClient();
  const keys = useApiKeys();
  const projects = useProjects();
  const [project, setProject] = useState("");
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["ingest"]);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);

  const create = useMutation({
    mutationFn: api.createApiKey,
    onSuccess: (key) => {
      setCreated(key);
      setName("");
      const { key: _secret, ...listed } = key; // the list never holds the secret
      queryClient.setQueryData<ApiKeyPublic[]>(queryKeys.apiKeys, (list) => [...(list ?? []), listed]);
      void queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys });
      void queryClient.invalidateQueries({ queryKey: queryKeys.projects }); // a new project name creates it
    },
  });
  const errors = formErrors(create.error);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setCreated(null);
    create.mutate({ project: project.trim(), name: name.trim(), scopes });
  }

  function toggleScope(scope: Scope, on: boolean) {
    setScopes((current) => (on ? [...current, scope] : current.filter((s) => s !== scope)));
  }

  const f = (field: string) => `${id}-${field}`;
  const list = keys.data ?? [];
  return (
    <section aria-labelledby={`${id}-title`} className="panel space-y-4">
      <div>
        <h2 id={`${id}-title`} className="panel-title">
          API keys
        </h2>
        <p className="text-sm text-slate-500 dark:text-slate-400">Keys send usage (ingest) or read it for one project. The secret is shown once, when the key is created.</p>
      </div>

      <form onSubmit={onSubmit} aria-label="Create an API key" className="flex flex-wrap items-start gap-4" noValidate>
        <Field id={f("project")} label="Project" error={errors.fields.project} hint="An existing project, or a new name to create it.">
          <input
            {...controlProps(f("project"), errors.fields.project, true)}
            list={f("projects")}
            required
            className="input w-56"
            value={project}
            onChange={(e) => setProject(e.target.value)}
          />
          <datalist id={f("projects")}>
            {(projects.data ?? []).map((p) => (
              <option key={p.id} value={p.name} />
            ))}
          </datalist>
        </Field>
        <Field id={f("name")} label="Key name" error={errors.fields.name} hint="Optional, e.g. production backend.">
          <input {...controlProps(f("name"), errors.fields.name, true)} className="input w-56" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <fieldset aria-describedby={errors.fields.scopes ? f("scopes-error") : undefined}>
          <legend className="mb-1 text-sm font-medium">Scopes</legend>
          <div className="flex flex-wrap gap-3 py-1.5">
            {SCOPES.map((scope) => (
              <label key={scope.value} className="inline-flex items-center gap-1.5 text-sm" title={scope.hint}>
                <input type="checkbox" checked={scopes.includes(scope.value)} onChange={(e) => toggleScope(scope.value, e.target.checked)} />
                {scope.label}
              </label>
            ))}
          </div>
          {errors.fields.scopes && (
            <p id={f("scopes-error")} className="mt-1 text-xs font-medium text-rose-700 dark:text-rose-300">
              {scopes.length === 0 ? "Pick at least one scope." : errors.fields.scopes}
            </p>
          )}
        </fieldset>
        <div className="self-end pb-5">
          <button type="submit" className="btn-primary" disabled={create.isPending}>
            {create.isPending ? <Spinner label="Creating" /> : (
              <>
                <KeyRound aria-hidden className="size-4" /> Create key
              </>
            )}
          </button>
        </div>
      </form>
      {errors.general && <FormMessage tone="error">Not created: {errors.general}</FormMessage>}
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}

      {keys.isError ? (
        <ErrorState error={keys.error} onRetry={() => keys.refetch()} compact />
      ) : keys.isPending ? (
        <div className="space-y-2" aria-busy="true">
          {Array.from({ length: 3 }, (_, i) => (
            <Skeleton key={i} className="h-8 w-full" />
          ))}
        </div>
      ) : list.length === 0 ? (
        <EmptyState title="No API keys yet">Create one above to send usage from your application.</EmptyState>
      ) : (
        <div className="-mx-4 overflow-x-auto">
          <table className="w-full text-sm" aria-label="API keys">
            <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500 dark:bg-slate-800/60 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Key</th>
                <th scope="col" className="px-3 py-2 font-medium">Project</th>
                <th scope="col" className="px-3 py-2 font-medium">Scopes</th>
                <th scope="col" className="px-3 py-2 font-medium">Created</th>
                <th scope="col" className="px-3 py-2 font-medium">Last used</th>
                <th scope="col" className="px-3 py-2 font-medium">Status</th>
                <th scope="col" className="px-3 py-2 font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {list.map((key) => (
                <KeyRow key={key.id} apiKey={key} timezone={timezone} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
