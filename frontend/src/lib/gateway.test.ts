import { describe, expect, it } from "vitest";
import type { RoutingRulePublic, UpstreamPublic } from "../api/client";
import { describeRule, EMPTY_RULE, EMPTY_UPSTREAM, ruleBody, ruleForm, splitModels, upstreamBody, upstreamForm } from "./gateway";

const UPSTREAM: UpstreamPublic = {
  id: "u1",
  name: "openai-prod",
  api: "openai",
  provider: "openai",
  base_url: "https://api.openai.com/v1",
  has_api_key: true,
  api_key_hint: "…a1b2",
  auth_style: "bearer",
  allowed_models: ["gpt-4o", "gpt-4o-mini"],
  project_id: null,
  enabled: true,
  created_at: "2026-05-01T00:00:00Z",
  updated_at: "2026-05-01T00:00:00Z",
};

const RULE: RoutingRulePublic = {
  id: "r1",
  model_pattern: "gpt-4o",
  target_model: "gpt-4o-mini",
  upstream_id: "u1",
  fallback_upstream_id: "u2",
  fallback_model: null,
  project_id: "p1",
  feature: null,
  priority: 10,
  enabled: true,
  note: "",
  created_at: "2026-05-01T00:00:00Z",
  updated_at: "2026-05-01T00:00:00Z",
};

describe("upstreamBody", () => {
  it("creates with the key, models as a list and no trailing slash", () => {
    const { body, errors } = upstreamBody(
      { ...EMPTY_UPSTREAM, name: "openai-prod", base_url: "https://api.openai.com/v1/", api_key: " sk-123 ", allowed_models: "gpt-4o, gpt-4o-mini gpt-4o" },
      false,
    );
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "openai-prod",
      api: "openai",
      base_url: "https://api.openai.com/v1",
      allowed_models: ["gpt-4o", "gpt-4o-mini"],
      project_id: null,
      enabled: true,
      api_key: "sk-123",
    });
  });

  it("never echoes the stored key when editing; sends a new one or null to remove it", () => {
    const form = upstreamForm(UPSTREAM);
    expect(form.api_key).toBe("");
    expect(upstreamBody(form, true).body).not.toHaveProperty("api_key");
    expect(upstreamBody({ ...form, api_key: "sk-new" }, true).body.api_key).toBe("sk-new");
    expect(upstreamBody({ ...form, remove_key: true, api_key: "ignored" }, true).body.api_key).toBeNull();
  });

  it("checks the name and the URL", () => {
    expect(upstreamBody({ ...EMPTY_UPSTREAM, name: "-bad", base_url: "api.openai.com" }, false).errors).toEqual({
      name: "Letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.",
      base_url: "An absolute http(s) URL, e.g. https://api.openai.com/v1.",
    });
    expect(splitModels("")).toEqual([]);
  });
});

describe("ruleBody", () => {
  it("sends cleared fields as null and the scope as project or feature", () => {
    const { body, errors } = ruleBody({ ...EMPTY_RULE, model_pattern: "gpt-4o*", target_model: "gpt-4o-mini" });
    expect(errors).toEqual({});
    expect(body).toEqual({
      model_pattern: "gpt-4o*",
      target_model: "gpt-4o-mini",
      upstream_id: null,
      fallback_upstream_id: null,
      fallback_model: null,
      project_id: null,
      feature: null,
      priority: 100,
      enabled: true,
      note: "",
    });
    expect(ruleBody({ ...EMPTY_RULE, model_pattern: "x", upstream_id: "u1", scope: "feature", feature: "chat", project_id: "p1" }).body).toMatchObject({
      feature: "chat",
      project_id: "p1",
    });
  });

  it("refuses a rule that does nothing, a lone fallback model and a bad priority", () => {
    expect(ruleBody({ ...EMPTY_RULE, fallback_model: "m", priority: "-1", scope: "project" }).errors).toEqual({
      model_pattern: "Enter the requested model, e.g. gpt-4o or gpt-4o*.",
      target_model: "A rule needs a model to serve instead, an upstream or a fallback.",
      fallback_model: "Choose the fallback upstream too.",
      project_id: "Choose the project.",
      priority: "A whole number from 0 to 1,000,000 (lower applies first).",
    });
  });

  it("round-trips a stored rule", () => {
    const form = ruleForm(RULE);
    expect(form.scope).toBe("project");
    expect(ruleBody(form).body).toMatchObject({ model_pattern: "gpt-4o", target_model: "gpt-4o-mini", upstream_id: "u1", project_id: "p1", priority: 10 });
  });
});

describe("describeRule", () => {
  it("names upstreams", () => {
    expect(describeRule(RULE, new Map([["u1", "openai-prod"], ["u2", "azure"]]))).toBe("gpt-4o → gpt-4o-mini via openai-prod, fallback azure");
    expect(describeRule({ ...RULE, target_model: null, upstream_id: null, fallback_model: "m" }, new Map())).toBe("gpt-4o → same model, fallback u2 (m)");
  });
});
