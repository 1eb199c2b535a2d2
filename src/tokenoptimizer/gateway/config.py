"""An organisation's gateway configuration in memory, and the choice of upstream for a call.

Pure logic over frozen data: the runtime loads an `OrgGateway` once per organisation (and again
after a change), so the hot path never queries the database.

How a call is routed:

1. The first enabled routing rule (lowest `priority`, then oldest) whose project, feature and model
   pattern match — and whose upstream, if it names one, speaks the call's API — may rewrite the
   model and pick the upstream and a fallback.
2. Without an upstream from a rule: the organisation's enabled upstreams of that API, those bound
   to the caller's project first, the first that allows the model. If the organisation has
   upstreams of that API but none allows the model, the call is refused (403).
3. Without any: the server-wide upstream from the environment (`TOKENOPTIMIZER_OPENAI_*`,
   `TOKENOPTIMIZER_ANTHROPIC_*`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from tokenoptimizer.gateway.errors import Api, GatewayError

# Hosts of OpenAI-compatible providers -> the provider name pricing knows them by.
_PROVIDER_HOSTS = (
    ("openai.azure.com", "azure"),
    ("azure.com", "azure"),
    ("openai.com", "openai"),
    ("anthropic.com", "anthropic"),
    ("groq.com", "groq"),
    ("together.xyz", "together"),
    ("together.ai", "together"),
    ("mistral.ai", "mistral"),
    ("openrouter.ai", "openrouter"),
    ("fireworks.ai", "fireworks"),
    ("deepseek.com", "deepseek"),
    ("x.ai", "xai"),
    ("cerebras.ai", "cerebras"),
    ("perplexity.ai", "perplexity"),
    ("moonshot.ai", "moonshotai"),
    ("moonshot.cn", "moonshotai"),
)

OFFICIAL_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}


def guess_provider(base_url: str, api: str) -> str:
    """The provider to price calls with, from the upstream's host (default: the API's maker)."""
    host = (urlsplit(base_url).hostname or "").lower()
    for suffix, provider in _PROVIDER_HOSTS:
        if host == suffix or host.endswith("." + suffix):
            return provider
    return api


def model_matches(pattern: str, model: str) -> bool:
    """Exact name, or a pattern with `*` and `?`."""
    return pattern == model or fnmatchcase(model, pattern)


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    """Where a call goes: base URL, key (decrypted) and how to send it."""

    id: str | None
    """None for the server-wide upstream from the environment."""
    name: str
    api: Api
    provider: str
    base_url: str
    api_key: str | None
    auth_style: str
    allowed_models: tuple[str, ...] = ()
    project_id: str | None = None

    def allows(self, model: str) -> bool:
        """Whether callers may use `model` here."""
        return not self.allowed_models or any(model_matches(p, model) for p in self.allowed_models)

    def with_key(self, api_key: str) -> UpstreamTarget:
        """The same upstream called with the caller's own key."""
        return UpstreamTarget(
            self.id,
            self.name,
            self.api,
            self.provider,
            self.base_url,
            api_key,
            self.auth_style,
            self.allowed_models,
            self.project_id,
        )

    def auth_header(self) -> tuple[str, str] | None:
        """The header carrying the key, if there is a key."""
        if not self.api_key:
            return None
        if self.auth_style == "x-api-key":
            return "x-api-key", self.api_key
        if self.auth_style == "api-key":
            return "api-key", self.api_key
        return "authorization", "Bearer " + self.api_key


@dataclass(frozen=True, slots=True)
class Rule:
    """A routing rule, compiled."""

    id: str
    model_pattern: str
    target_model: str | None
    upstream_id: str | None
    fallback_upstream_id: str | None
    fallback_model: str | None
    project_id: str | None
    feature: str | None

    def matches(self, project_id: str, feature: str | None, model: str) -> bool:
        """Whether a call falls under the rule."""
        if self.project_id is not None and self.project_id != project_id:
            return False
        if self.feature is not None and self.feature != feature:
            return False
        return model_matches(self.model_pattern, model)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests and tokens per minute per API key, project and user (None: no limit)."""

    rpm_per_key: int | None = None
    tpm_per_key: int | None = None
    rpm_per_project: int | None = None
    tpm_per_project: int | None = None
    rpm_per_user: int | None = None
    tpm_per_user: int | None = None
    any: bool = field(init=False, repr=False, compare=False)
    """Whether any limit is set (asked twice per call: worked out once)."""

    def __post_init__(self) -> None:
        limits = (
            self.rpm_per_key,
            self.tpm_per_key,
            self.rpm_per_project,
            self.tpm_per_project,
            self.rpm_per_user,
            self.tpm_per_user,
        )
        object.__setattr__(self, "any", any(v is not None for v in limits))


@dataclass(frozen=True, slots=True)
class Route:
    """The decision for one call."""

    model: str
    """The model served (the requested one unless a rule rewrote it)."""
    upstream: UpstreamTarget
    rule_id: str | None = None
    fallback: UpstreamTarget | None = None
    fallback_model: str | None = None


@dataclass(frozen=True)
class OrgGateway:
    """One organisation's upstreams, rules and settings, plus the server-wide upstreams."""

    upstreams: tuple[UpstreamTarget, ...]
    rules: tuple[Rule, ...]
    """Enabled rules, in the order they are tried."""
    limits: RateLimits
    allow_key_passthrough: bool
    defaults: dict[str, UpstreamTarget]
    """Server-wide upstream per API (from the environment; maybe without a key)."""

    def upstream(self, upstream_id: str | None) -> UpstreamTarget | None:
        """An enabled upstream of the organisation by id."""
        if upstream_id is None:
            return None
        return next((u for u in self.upstreams if u.id == upstream_id), None)

    def route(self, api: Api, project_id: str, feature: str | None, model: str) -> Route:
        """Choose the model and upstream for a call, or raise `GatewayError` saying why none fits."""
        for rule in self.rules:
            if not rule.matches(project_id, feature, model):
                continue
            target = self.upstream(rule.upstream_id)
            if rule.upstream_id is not None and (target is None or target.api != api):
                continue  # the rule is for the other API (or its upstream is disabled)
            served = rule.target_model or model
            fallback = self.upstream(rule.fallback_upstream_id)
            if fallback is not None and fallback.api != api:
                fallback = None
            upstream = target or self.default_upstream(api, project_id, served)
            return Route(served, upstream, rule.id, fallback, rule.fallback_model or served)
        return Route(model, self.default_upstream(api, project_id, model))

    def default_upstream(self, api: Api, project_id: str, model: str) -> UpstreamTarget:
        """The organisation's upstream for `model`, else the server-wide one."""
        own = [u for u in self.upstreams if u.api == api and u.project_id in (None, project_id)]
        if own:
            own.sort(key=lambda u: u.project_id is None)  # the project's own first (stable)
            for upstream in own:
                if upstream.allows(model):
                    return upstream
            raise GatewayError(
                403,
                f"Model '{model}' is not allowed through this gateway; allowed: "
                + ", ".join(sorted({m for u in own for m in u.allowed_models})),
                "permission",
                "model_not_allowed",
                event_error="model_not_allowed",
            )
        return self.defaults[api]


def require_key(upstream: UpstreamTarget) -> None:
    """Refuse calls to an official provider endpoint without a key (instead of a puzzling 401)."""
    if upstream.api_key or OFFICIAL_BASE_URLS.get(upstream.api) != upstream.base_url:
        return
    if upstream.id is None:
        variable = f"TOKENOPTIMIZER_{upstream.api.upper()}_API_KEY"
        message = (
            f"No {'OpenAI' if upstream.api == 'openai' else 'Anthropic'} upstream is configured for this "
            f"organisation: add one with POST /api/v1/upstreams, or set {variable} on the server"
        )
    else:
        message = (
            f"Upstream '{upstream.name}' has no provider key: set its api_key with PATCH /api/v1/upstreams"
        )
    raise GatewayError(503, message, "upstream", "no_upstream", event_error="no_upstream")
