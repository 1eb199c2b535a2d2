/**
 * Notification channels' pure parts: the form of each kind (webhook, Slack, e-mail) to API bodies,
 * the API's 422s on the form's fields, and deliveries in words. Tested in channels.test.ts.
 */
import { ApiError, type ChannelIn, type ChannelKind, type ChannelPatch, type ChannelPublic, type DeliveryPublic, type ValidationIssue } from "../api/client";

export const CHANNEL_KIND_LABELS: Record<ChannelKind, string> = {
  webhook: "Webhook",
  slack: "Slack",
  email: "E-mail",
};

/** Organisation-wide alerts sent to a new channel by default (budgets name their channels themselves). */
export const DEFAULT_CHANNEL_ALERT_KINDS = ["spend_spike", "error_rate"];

export type EmailSecurity = "starttls" | "ssl" | "none";

export interface ChannelForm {
  kind: ChannelKind;
  name: string;
  alert_kinds: string[];
  enabled: boolean;
  // webhook
  url: string;
  signing_secret: string;
  // slack
  webhook_url: string;
  // e-mail
  host: string;
  port: string;
  username: string;
  password: string;
  from_address: string;
  to: string;
  security: EmailSecurity;
}

export const EMPTY_CHANNEL: ChannelForm = {
  kind: "webhook",
  name: "",
  alert_kinds: DEFAULT_CHANNEL_ALERT_KINDS,
  enabled: true,
  url: "",
  signing_secret: "",
  webhook_url: "",
  host: "",
  port: "587",
  username: "",
  password: "",
  from_address: "",
  to: "",
  security: "starttls",
};

function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** The form of a stored channel; secrets stay empty (typing one replaces it, empty keeps it). */
export function channelForm(channel: ChannelPublic): ChannelForm {
  const c = channel.config;
  const to = Array.isArray(c.to) ? (c.to as unknown[]).map(text).join(", ") : "";
  return {
    ...EMPTY_CHANNEL,
    kind: channel.kind,
    name: channel.name,
    alert_kinds: [...channel.alert_kinds],
    enabled: channel.enabled,
    url: text(c.url),
    host: text(c.host),
    port: c.port === undefined ? "587" : text(c.port),
    username: text(c.username),
    from_address: text(c.from_address),
    to,
    security: c.use_ssl ? "ssl" : c.use_starttls === false ? "none" : "starttls",
  };
}

/** "a@x.org, b@y.org; c@z.org" → three addresses. */
export function splitAddresses(value: string): string[] {
  return value
    .split(/[\s,;]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Errors = Record<string, string>;

function checkCommon(form: ChannelForm, errors: Errors) {
  if (!form.name.trim()) errors.name = "Give the channel a name, e.g. Ops Slack.";
}

function emailConfig(form: ChannelForm, errors: Errors, editing: boolean): Record<string, unknown> {
  const host = form.host.trim();
  if (!host) errors.host = "Enter the SMTP server, e.g. smtp.example.com.";
  const port = Number(form.port.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535) errors.port = "Enter a port between 1 and 65535 (587, 465 or 25).";
  const from = form.from_address.trim();
  if (!EMAIL.test(from)) errors.from_address = "Enter the sender's address, e.g. alerts@example.com.";
  const to = splitAddresses(form.to);
  if (to.length === 0) errors.to = "Enter at least one recipient.";
  else {
    const bad = to.find((a) => !EMAIL.test(a));
    if (bad) errors.to = `“${bad}” is not an e-mail address.`;
  }
  const username = form.username.trim();
  const password = form.password;
  if (password && !username) errors.username = "A password needs a username.";
  const config: Record<string, unknown> = {
    host,
    port,
    username: username || null,
    from_address: from,
    to,
    use_starttls: form.security === "starttls",
    use_ssl: form.security === "ssl",
  };
  // Editing: an empty password keeps the stored one; creating: none.
  if (password) config.password = password;
  else if (!editing) config.password = null;
  return config;
}

/** The POST body of a new channel, and what the browser can already tell is wrong. */
export function channelBody(form: ChannelForm): { body: ChannelIn; errors: Errors } {
  const errors: Errors = {};
  checkCommon(form, errors);
  const common = { name: form.name.trim(), alert_kinds: form.alert_kinds, enabled: form.enabled };
  if (form.kind === "webhook") {
    const url = form.url.trim();
    if (!HTTP_URL.test(url)) errors.url = "Enter an http:// or https:// URL.";
    if (form.signing_secret.length < 16) errors.signing_secret = "At least 16 characters: use Generate for a random one.";
    return { body: { ...common, kind: "webhook", config: { url, signing_secret: form.signing_secret } }, errors };
  }
  if (form.kind === "slack") {
    const webhook_url = form.webhook_url.trim();
    if (!HTTP_URL.test(webhook_url)) errors.webhook_url = "Enter the incoming webhook URL, https://hooks.slack.com/services/….";
    return { body: { ...common, kind: "slack", config: { webhook_url } }, errors };
  }
  const config = emailConfig(form, errors, false);
  return { body: { ...common, kind: "email", config: config as unknown as Extract<ChannelIn, { kind: "email" }>["config"] }, errors };
}

/** The PATCH body of an edited channel: its settings, and a secret only when a new one is typed. */
export function channelPatch(form: ChannelForm): { body: ChannelPatch; errors: Errors } {
  const errors: Errors = {};
  checkCommon(form, errors);
  const body: ChannelPatch = { name: form.name.trim(), alert_kinds: form.alert_kinds, enabled: form.enabled };
  if (form.kind === "webhook") {
    const url = form.url.trim();
    if (!HTTP_URL.test(url)) errors.url = "Enter an http:// or https:// URL.";
    const config: Record<string, unknown> = { url };
    if (form.signing_secret) {
      if (form.signing_secret.length < 16) errors.signing_secret = "At least 16 characters: use Generate for a random one.";
      config.signing_secret = form.signing_secret;
    }
    body.config = config;
  } else if (form.kind === "slack") {
    const webhook_url = form.webhook_url.trim();
    if (webhook_url) {
      if (!HTTP_URL.test(webhook_url)) errors.webhook_url = "Enter the incoming webhook URL, https://hooks.slack.com/services/….";
      body.config = { webhook_url };
    }
  } else {
    body.config = emailConfig(form, errors, true);
  }
  return { body, errors };
}

function clean(msg: string): string {
  return msg.replace(/^Value error, /, "");
}

/**
 * A 422 on the form's fields. Create answers `["body", <kind>, "config", <field>]` (the kind is
 * the union's tag), edit answers `["body", "config", <field>]`; e-mail's model rules name no field.
 */
export function channelApiErrors(error: unknown): { fields: Errors; general: string | null } {
  if (!(error instanceof ApiError)) return { fields: {}, general: error instanceof Error ? error.message : null };
  if (error.status !== 422 || !Array.isArray(error.detail)) return { fields: {}, general: error.message };
  const fields: Errors = {};
  const general: string[] = [];
  for (const issue of error.detail as ValidationIssue[]) {
    let loc = (issue.loc ?? []).filter((part) => part !== "body");
    if (loc[0] === "webhook" || loc[0] === "slack" || loc[0] === "email") loc = loc.slice(1);
    if (loc[0] === "config") loc = loc.slice(1);
    const msg = clean(issue.msg ?? "invalid");
    let field = typeof loc[0] === "string" ? loc[0] : null;
    if (!field && /use_ssl|starttls/.test(msg)) field = "security";
    if (!field && /password needs a username/.test(msg)) field = "username";
    if (field === "use_ssl" || field === "use_starttls") field = "security";
    if (field) fields[field] = fields[field] ? `${fields[field]}; ${msg}` : msg;
    else general.push(msg);
  }
  return { fields, general: general.length ? general.join("; ") : null };
}

/** Where a channel sends, as the API shows it (secrets masked). */
export function channelTarget(channel: ChannelPublic): string {
  const c = channel.config;
  if (channel.kind === "webhook") return text(c.url);
  if (channel.kind === "slack") return text(c.webhook_url) || "no webhook URL";
  const to = Array.isArray(c.to) ? (c.to as unknown[]).map(text).join(", ") : "";
  return `${to} via ${text(c.host)}:${text(c.port)}`;
}

/** One delivery in a sentence: "Delivered: HTTP 200 in 120 ms" / "Failed: HTTP 500 in 80 ms — boom". */
export function deliverySummary(delivery: Pick<DeliveryPublic, "status" | "response_code" | "error" | "duration_ms" | "will_retry">, kind: ChannelKind): string {
  const code = delivery.response_code === null ? null : `${kind === "email" ? "SMTP" : "HTTP"} ${delivery.response_code}`;
  const time = `${Math.round(delivery.duration_ms)} ms`;
  const head = delivery.status === "ok" ? "Delivered" : "Failed";
  const parts = [code ? `${code} in ${time}` : `after ${time}`];
  let line = `${head}: ${parts.join("")}`;
  if (delivery.error) line += ` — ${delivery.error}`;
  if (delivery.will_retry) line += " (will retry)";
  return line;
}
