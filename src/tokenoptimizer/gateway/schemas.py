"""API shapes of gateway upstreams, routing rules and settings. Provider keys are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Api = Literal["openai", "anthropic"]
AuthStyle = Literal["bearer", "api-key", "x-api-key"]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
PerMinute = Annotated[int, Field(ge=1, le=1_000_000_000)]


def _check_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("base_url must be an absolute http(s) URL, e.g. https://api.openai.com/v1")
    if parts.query or parts.fragment:
        raise ValueError("base_url takes no query or fragment")
    return value


def _check_models(models: list[str]) -> list[str]:
    cleaned = [m.strip() for m in models]
    if any(not m for m in cleaned):
        raise ValueError("model names cannot be empty")
    return sorted(set(cleaned))


class UpstreamIn(BaseModel):
    """A provider endpoint to forward to."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name = Field(description="Unique in the organisation, e.g. `openai-prod`.")
    api: Api = Field(
        description="Wire format: `openai` (OpenAI, Azure OpenAI, Groq, Together, Mistral, OpenRouter, "
        "vLLM, Ollama…) or `anthropic`."
    )
    base_url: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="As the provider SDK's base_url: `https://api.openai.com/v1`, `https://api.anthropic.com`."
    )
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Who is paid, for pricing (openai, azure, groq, mistral…); default: guessed from "
        "base_url, else the api.",
    )
    api_key: Annotated[str, Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="The provider key; stored encrypted, never returned."
    )
    auth_style: AuthStyle | None = Field(
        default=None,
        description="How the key is sent: `bearer` (Authorization), `api-key` (Azure) or `x-api-key` "
        "(Anthropic). Default: bearer for openai, x-api-key for anthropic.",
    )
    allowed_models: list[ModelName] = Field(
        default_factory=list, description="Models callers may use here (patterns with * allowed); [] = any."
    )
    project_id: str | None = Field(default=None, description="Only for this project; None: the whole org.")
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("allowed_models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        return _check_models(value)

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class UpstreamUpdate(BaseModel):
    """Fields to change; omitted fields stay. `api_key: null` removes the stored key."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    api: Api | None = None
    base_url: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    api_key: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    auth_style: AuthStyle | None = None
    allowed_models: list[ModelName] | None = None
    project_id: str | None = None
    enabled: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return _check_base_url(value) if value is not None else None

    @field_validator("allowed_models")
    @classmethod
    def _models(cls, value: list[str] | None) -> list[str] | None:
        return _check_models(value) if value is not None else None

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @model_validator(mode="after")
    def _not_null(self) -> UpstreamUpdate:
        for name in ("name", "api", "base_url", "provider", "auth_style", "allowed_models", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class UpstreamPublic(BaseModel):
    """A stored upstream; the key shows only as its last characters."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    api: Api
    provider: str
    base_url: str
    has_api_key: bool
    api_key_hint: str | None = Field(description="The stored key's last four characters, e.g. `…a1b2`.")
    auth_style: AuthStyle
    allowed_models: list[str]
    project_id: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RoutingRuleIn(BaseModel):
    """Serve calls for one model with another model and/or upstream."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    model_pattern: ModelName = Field(description="Requested model, exact or with * and ? (e.g. `gpt-4o*`).")
    target_model: ModelName | None = Field(
        default=None, description="Model to serve instead; None: the same."
    )
    upstream_id: str | None = Field(default=None, description="Upstream to send to; None: the usual one.")
    fallback_upstream_id: str | None = Field(
        default=None, description="Tried once when the first upstream fails (5xx, timeout, unreachable)."
    )
    fallback_model: ModelName | None = Field(
        default=None, description="Model for the fallback; None: the target model."
    )
    project_id: str | None = Field(default=None, description="Only this project's calls; None: all.")
    feature: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Only calls with this `x-tko-feature`; None: all."
    )
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=100, description="Lower first; the first matching rule applies."
    )
    enabled: bool = True
    note: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _does_something(self) -> RoutingRuleIn:
        if self.target_model is None and self.upstream_id is None and self.fallback_upstream_id is None:
            raise ValueError("a rule needs target_model, upstream_id or fallback_upstream_id")
        if self.fallback_model is not None and self.fallback_upstream_id is None:
            raise ValueError("fallback_model needs fallback_upstream_id")
        return self


class RoutingRuleUpdate(BaseModel):
    """Fields to change; omitted fields stay, `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    model_pattern: ModelName | None = None
    target_model: ModelName | None = None
    upstream_id: str | None = None
    fallback_upstream_id: str | None = None
    fallback_model: ModelName | None = None
    project_id: str | None = None
    feature: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    enabled: bool | None = None
    note: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _not_null(self) -> RoutingRuleUpdate:
        for name in ("model_pattern", "priority", "enabled", "note"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RoutingRulePublic(BaseModel):
    """A stored routing rule."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    model_pattern: str
    target_model: str | None
    upstream_id: str | None
    fallback_upstream_id: str | None
    fallback_model: str | None
    project_id: str | None
    feature: str | None
    priority: int
    enabled: bool
    note: str
    created_at: datetime
    updated_at: datetime


class GatewaySettingsIn(BaseModel):
    """An organisation's gateway settings; null means the server default."""

    model_config = ConfigDict(extra="forbid")

    allow_key_passthrough: bool | None = Field(
        default=None, description="Callers may send their own provider key in `x-tko-provider-key`."
    )
    rpm_per_key: PerMinute | None = None
    tpm_per_key: PerMinute | None = None
    rpm_per_project: PerMinute | None = None
    tpm_per_project: PerMinute | None = None
    rpm_per_user: PerMinute | None = None
    tpm_per_user: PerMinute | None = None


class GatewaySettingsPublic(GatewaySettingsIn):
    """The organisation's own settings and what is in force (its own or the server's defaults)."""

    effective: EffectiveGatewaySettings


class EffectiveGatewaySettings(BaseModel):
    """The settings in force."""

    allow_key_passthrough: bool
    rpm_per_key: int | None
    tpm_per_key: int | None
    rpm_per_project: int | None
    tpm_per_project: int | None
    rpm_per_user: int | None
    tpm_per_user: int | None
    server_default_upstreams: list[Literal["openai", "anthropic"]] = Field(
        description="Which server-wide upstreams (set in the environment) have a key."
    )


GatewaySettingsPublic.model_rebuild()
