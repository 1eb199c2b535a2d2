/**
 * Gateway settings' pure parts: upstream and routing-rule forms to API bodies (keys write-only,
 * cleared fields sent as null), and rules in words. Tested in gateway.test.ts.
 */
import type { AuthStyle, RoutingRuleIn, RoutingRulePublic, UpstreamApi, UpstreamIn, UpstreamPublic } from "../api/client";

type Errors = Record<string, string>;

export interface UpstreamForm {
  name: string;
  api: UpstreamApi;
  base_url: string;
  provider: string;
  api_key: string;
  /** Editing: remove the stored key (send `api_key: null`). */
  remove_key: boolean;
  auth_style: AuthStyle | "";
  allowed_models: string;
  project_id: string;
  enabled: boolean;
}

export const EMPTY_UPSTREAM: UpstreamForm = {
  name: "",
  api: "openai",
  base_url: "",
  provider: "",
  api_key: "",
  remove_key: false,
  auth_style: "",
  allowed_models: "",
  project_id: "",
  enabled: true,
};

/** Base URLs of the usual providers, offered as suggestions. */
export const BASE_URL_EXAMPLES: Record<UpstreamApi, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
};

export function upstreamForm(upstream: UpstreamPublic): UpstreamForm {
  return {
    name: upstream.name,
    api: upstream.api,
    base_url: upstream.base_url,
    provider: upstream.provider,
    api_key: "",
    remove_key: false,
    auth_style: upstream.auth_style,
    allowed_models: upstream.allowed_models.join(", "),
    project_id: upstream.project_id ?? "",
    enabled: upstream.enabled,
  };
}

/** "gpt-4o, gpt-4o-mini\no4-*" → the list; empty → [] (any model). */
export function splitModels(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((m) => m.trim()).filter(Boolean))];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;

/**
 * The body of an upstream. The key is write-only: creating sends it if typed; editing sends it
 * only when replaced (a new one typed) or removed (`null`), so the stored key is never echoed.
 */
export function upstreamBody(form: UpstreamForm, editing: boolean): { body: UpstreamIn; errors: Errors } {
  const errors: Errors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the upstream a name, e.g. openai-prod.";
  else if (!NAME.test(name)) errors.name = "Letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.";
  const base_url = form.base_url.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/?#]+/i.test(base_url)) errors.base_url = `An absolute http(s) URL, e.g. ${BASE_URL_EXAMPLES[form.api]}.`;
  const body: UpstreamIn = {
    name,
    api: form.api,
    base_url,
    allowed_models: splitModels(form.allowed_models),
    project_id: form.project_id || null,
    enabled: form.enabled,
  };
  const provider = form.provider.trim().toLowerCase();
  if (provider) body.provider = provider;
  if (form.auth_style) body.auth_style = form.auth_style;
  if (editing && form.remove_key) body.api_key = null;
  else if (form.api_key.trim()) body.api_key = form.api_key.trim();
  return { body, errors };
}

export type RuleScope = "org" | "project" | "feature";

export interface RuleForm {
  model_pattern: string;
  target_model: string;
  upstream_id: string;
  fallback_upstream_id: string;
  fallback_model: string;
  scope: RuleScope;
  project_id: string;
  feature: string;
  priority: string;
  enabled: boolean;
  note: string;
}

export const EMPTY_RULE: RuleForm = {
  model_pattern: "",
  target_model: "",
  upstream_id: "",
  fallback_upstream_id: "",
  fallback_model: "",
  scope: "org",
  project_id: "",
  feature: "",
  priority: "100",
  enabled: true,
  note: "",
};

export function ruleForm(rule: RoutingRulePublic): RuleForm {
  return {
    model_pattern: rule.model_pattern,
    target_model: rule.target_model ?? "",
    upstream_id: rule.upstream_id ?? "",
    fallback_upstream_id: rule.fallback_upstream_id ?? "",
    fallback_model: rule.fallback_model ?? "",
    scope: rule.feature ? "feature" : rule.project_id ? "project" : "org",
    project_id: rule.project_id ?? "",
    feature: rule.feature ?? "",
    priority: String(rule.priority),
    enabled: rule.enabled,
    note: rule.note,
  };
}

/**
 * A rule's body; empty optional fields are sent as null, which also clears them on PATCH. The
 * scope is the whole organisation, one project, or one feature (of one project, or of all).
 */
export function ruleBody(form: RuleForm): { body: RoutingRuleIn; errors: Errors } {
  const errors: Errors = {};
  const model_pattern = form.model_pattern.trim();
  if (!model_pattern) errors.model_pattern = "Enter the requested model, e.g. gpt-4o or gpt-4o*.";
  const target_model = form.target_model.trim() || null;
  const upstream_id = form.upstream_id || null;
  const fallback_upstream_id = form.fallback_upstream_id || null;
  const fallback_model = form.fallback_model.trim() || null;
  if (!target_model && !upstream_id && !fallback_upstream_id) errors.target_model = "A rule needs a model to serve instead, an upstream or a fallback.";
  if (fallback_model && !fallback_upstream_id) errors.fallback_model = "Choose the fallback upstream too.";
  if (fallback_upstream_id && fallback_upstream_id === upstream_id) errors.fallback_upstream_id = "The fallback must be another upstream.";
  const project_id = form.scope === "org" ? null : form.project_id || null;
  if (form.scope === "project" && !project_id) errors.project_id = "Choose the project.";
  const feature = form.scope === "feature" ? form.feature.trim() || null : null;
  if (form.scope === "feature" && !feature) errors.feature = "Enter the feature (the x-tko-feature header).";
  const priority = Number(form.priority.trim());
  if (!Number.isInteger(priority) || priority < 0 || priority > 1_000_000) errors.priority = "A whole number from 0 to 1,000,000 (lower applies first).";
  return {
    body: {
      model_pattern,
      target_model,
      upstream_id,
      fallback_upstream_id,
      fallback_model,
      project_id,
      feature,
      priority: Number.isInteger(priority) ? priority : 100,
      enabled: form.enabled,
      note: form.note.trim(),
    },
    errors,
  };
}

/** "gpt-4o → gpt-4o-mini via openai-eu, fallback azure" (ids replaced by upstream names). */
export function describeRule(rule: RoutingRulePublic, upstreamNames: ReadonlyMap<string, string>): string {
  const name = (id: string | null) => (id ? (upstreamNames.get(id) ?? id) : null);
  let text = `${rule.model_pattern} → ${rule.target_model ?? "same model"}`;
  const upstream = name(rule.upstream_id);
  if (upstream) text += ` via ${upstream}`;
  const fallback = name(rule.fallback_upstream_id);
  if (fallback) text += `, fallback ${fallback}${rule.fallback_model ? ` (${rule.fallback_model})` : ""}`;
  return text;
}
