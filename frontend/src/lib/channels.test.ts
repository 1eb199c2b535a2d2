import { describe, expect, it } from "vitest";
import { ApiError, type ChannelPublic } from "../api/client";
import { channelApiErrors, channelBody, channelForm, channelPatch, channelTarget, deliverySummary, EMPTY_CHANNEL, splitAddresses } from "./channels";

const EMAIL_CHANNEL: ChannelPublic = {
  id: "c1",
  name: "Finance",
  kind: "email",
  config: { host: "smtp.example.com", port: 465, username: "bot", password: "…cret", from_address: "bot@example.com", to: ["a@example.com", "b@example.com"], use_starttls: false, use_ssl: true },
  alert_kinds: ["budget_threshold"],
  enabled: true,
  created_at: "2026-05-01T00:00:00Z",
  updated_at: "2026-05-01T00:00:00Z",
};

describe("channelBody", () => {
  it("builds a webhook with its signing secret", () => {
    const { body, errors } = channelBody({ ...EMPTY_CHANNEL, name: " Hooks ", url: " https://hooks.example.com/x ", signing_secret: "s".repeat(16) });
    expect(errors).toEqual({});
    expect(body).toEqual({
      kind: "webhook",
      name: "Hooks",
      alert_kinds: ["spend_spike", "error_rate"],
      enabled: true,
      config: { url: "https://hooks.example.com/x", signing_secret: "s".repeat(16) },
    });
  });

  it("refuses a short secret, a missing name and a non-http URL", () => {
    const { errors } = channelBody({ ...EMPTY_CHANNEL, url: "ftp://x", signing_secret: "short" });
    expect(Object.keys(errors).sort()).toEqual(["name", "signing_secret", "url"]);
  });

  it("builds Slack and e-mail channels", () => {
    expect(channelBody({ ...EMPTY_CHANNEL, kind: "slack", name: "Ops", webhook_url: "https://hooks.slack.com/services/T/B/X" }).body).toMatchObject({
      kind: "slack",
      config: { webhook_url: "https://hooks.slack.com/services/T/B/X" },
    });
    const email = channelBody({
      ...EMPTY_CHANNEL,
      kind: "email",
      name: "Finance",
      host: "smtp.example.com",
      port: "465",
      security: "ssl",
      from_address: "bot@example.com",
      to: "a@example.com; b@example.com",
    });
    expect(email.errors).toEqual({});
    expect(email.body).toMatchObject({
      kind: "email",
      config: { host: "smtp.example.com", port: 465, username: null, password: null, to: ["a@example.com", "b@example.com"], use_ssl: true, use_starttls: false },
    });
  });

  it("checks e-mail fields", () => {
    const { errors } = channelBody({ ...EMPTY_CHANNEL, kind: "email", name: "x", port: "99999", from_address: "nope", to: "a@example.com, bad", password: "pw" });
    expect(errors).toEqual({
      host: "Enter the SMTP server, e.g. smtp.example.com.",
      port: "Enter a port between 1 and 65535 (587, 465 or 25).",
      from_address: "Enter the sender's address, e.g. alerts@example.com.",
      to: "“bad” is not an e-mail address.",
      username: "A password needs a username.",
    });
    expect(splitAddresses(" a@x.org,b@y.org\nc@z.org ")).toEqual(["a@x.org", "b@y.org", "c@z.org"]);
  });
});

describe("editing a channel", () => {
  it("fills the form without secrets and keeps them unless a new one is typed", () => {
    const form = channelForm(EMAIL_CHANNEL);
    expect(form).toMatchObject({ host: "smtp.example.com", port: "465", username: "bot", password: "", to: "a@example.com, b@example.com", security: "ssl" });
    const { body, errors } = channelPatch(form);
    expect(errors).toEqual({});
    expect(body.config).not.toHaveProperty("password");
    expect(channelPatch({ ...form, password: "new-one" }).body.config).toMatchObject({ password: "new-one" });
  });

  it("sends a webhook's secret or Slack's URL only when replaced", () => {
    const webhook = { ...EMPTY_CHANNEL, name: "h", url: "https://h.example.com" };
    expect(channelPatch(webhook).body.config).toEqual({ url: "https://h.example.com" });
    expect(channelPatch({ ...webhook, signing_secret: "x".repeat(20) }).body.config).toEqual({ url: "https://h.example.com", signing_secret: "x".repeat(20) });
    expect(channelPatch({ ...EMPTY_CHANNEL, kind: "slack", name: "s" }).body).not.toHaveProperty("config");
  });
});

describe("channelApiErrors", () => {
  it("finds the field behind the union's tag and config, and names e-mail's model rules", () => {
    const error = new ApiError(
      422,
      [
        { loc: ["body", "webhook", "config", "signing_secret"], msg: "String should have at least 16 characters", type: "string_too_short" },
        { loc: ["body", "config", "url"], msg: "Value error, must be an http:// or https:// URL", type: "value_error" },
        { loc: ["body", "email", "config"], msg: "Value error, choose use_ssl (implicit TLS) or use_starttls, not both", type: "value_error" },
        { loc: ["body"], msg: "something else", type: "value_error" },
      ],
      "422",
    );
    expect(channelApiErrors(error)).toEqual({
      fields: {
        signing_secret: "String should have at least 16 characters",
        url: "must be an http:// or https:// URL",
        security: "choose use_ssl (implicit TLS) or use_starttls, not both",
      },
      general: "something else",
    });
  });
});

describe("channels in words", () => {
  it("shows where a channel sends", () => {
    expect(channelTarget(EMAIL_CHANNEL)).toBe("a@example.com, b@example.com via smtp.example.com:465");
    expect(channelTarget({ ...EMAIL_CHANNEL, kind: "slack", config: { webhook_url: "https://hooks.slack.com/…abcd" } })).toBe("https://hooks.slack.com/…abcd");
  });

  it("summarises a delivery", () => {
    expect(deliverySummary({ status: "ok", response_code: 200, error: null, duration_ms: 120.4, will_retry: false }, "webhook")).toBe("Delivered: HTTP 200 in 120 ms");
    expect(deliverySummary({ status: "failed", response_code: 500, error: "server error", duration_ms: 80, will_retry: true }, "slack")).toBe(
      "Failed: HTTP 500 in 80 ms — server error (will retry)",
    );
    expect(deliverySummary({ status: "failed", response_code: null, error: "connection refused", duration_ms: 3, will_retry: false }, "email")).toBe(
      "Failed: after 3 ms — connection refused",
    );
  });
});
