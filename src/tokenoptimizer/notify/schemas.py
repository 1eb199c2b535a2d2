"""API shapes of notification channels, their configuration per kind, and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

ALERT_KINDS = ("budget_threshold", "spend_spike", "error_rate")
AlertKind = Literal["budget_threshold", "spend_spike", "error_rate"]
DEFAULT_ALERT_KINDS: tuple[AlertKind, ...] = ("spend_spike", "error_rate")
ChannelKind = Literal["webhook", "slack", "email"]

Secret = Annotated[str, Field(min_length=1, max_length=1000)]


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not url.host:
        raise ValueError("must name a host (e.g. https://hooks.example.com/tokenoptimizer)")
    return value


class WebhookConfig(BaseModel):
    """A generic webhook: signed JSON POSTed to `url`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="Where alerts are POSTed (http or https)."
    )
    signing_secret: Annotated[str, Field(min_length=16, max_length=500)] = Field(
        description="Signs each body (HMAC-SHA256, see docs/alerts.md); stored encrypted, never returned."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


class SlackConfig(BaseModel):
    """A Slack incoming webhook (or a Slack-compatible one: Mattermost, Rocket.Chat…)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    webhook_url: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="The incoming webhook URL (https://hooks.slack.com/services/…); it is a credential: "
        "stored encrypted, shown masked."
    )

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


class EmailConfig(BaseModel):
    """E-mail over SMTP."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    host: Annotated[str, Field(min_length=1, max_length=253)] = Field(description="SMTP server host name.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=587, description="587 for STARTTLS, 465 for implicit TLS (use_ssl), 25 for plain."
    )
    username: Annotated[str, Field(min_length=1, max_length=320)] | None = Field(
        default=None, description="Login name, when the server needs authentication."
    )
    password: Secret | None = Field(default=None, description="Stored encrypted, never returned.")
    from_address: EmailStr = Field(description="The sender address.")
    to: Annotated[list[EmailStr], Field(min_length=1, max_length=50)] = Field(description="Recipients.")
    use_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    use_ssl: bool = Field(default=False, description="Connect with implicit TLS (SMTPS, usually port 465).")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(c in value for c in " /:@"):
            raise ValueError("a host name only (e.g. smtp.example.com), without scheme, port or user")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        if self.use_ssl and self.use_starttls:
            raise ValueError("choose use_ssl (implicit TLS) or use_starttls, not both")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self


CONFIGS: dict[str, type[WebhookConfig | SlackConfig | EmailConfig]] = {
    "webhook": WebhookConfig,
    "slack": SlackConfig,
    "email": EmailConfig,
}
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("signing_secret",),
    "slack": ("webhook_url",),
    "email": ("password",),
}
"""Configuration fields stored encrypted and shown masked."""


def _unique_kinds(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("alert kinds must be different from each other")
    return value


class _ChannelBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    alert_kinds: list[AlertKind] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_KINDS),
        description="Alert kinds sent here for the whole organisation (budget_threshold, spend_spike, "
        "error_rate). A budget's alerts also go to the channels the budget names.",
    )
    enabled: bool = True

    @field_validator("alert_kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        return _unique_kinds(value)


class WebhookChannelIn(_ChannelBase):
    """A webhook channel to create."""

    kind: Literal["webhook"]
    config: WebhookConfig


class SlackChannelIn(_ChannelBase):
    """A Slack channel to create."""

    kind: Literal["slack"]
    config: SlackConfig


class EmailChannelIn(_ChannelBase):
    """An e-mail channel to create."""

    kind: Literal["email"]
    config: EmailConfig


ChannelIn = Annotated[WebhookChannelIn | SlackChannelIn | EmailChannelIn, Field(discriminator="kind")]


class ChannelPatch(BaseModel):
    """Changes to a channel (only the fields given).

    `config` is merged into the current one: give only what changes; secrets left out (or sent
    back masked) are kept.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    config: dict[str, Any] | None = None
    alert_kinds: list[AlertKind] | None = None
    enabled: bool | None = None

    @field_validator("alert_kinds")
    @classmethod
    def _kinds(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique_kinds(value)


class ChannelPublic(BaseModel):
    """A channel as the API shows it: secrets are masked (`…` and their last characters)."""

    id: str
    name: str
    kind: ChannelKind
    config: dict[str, Any]
    alert_kinds: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    """An organisation's channels."""

    channels: list[ChannelPublic]


class DeliveryPublic(BaseModel):
    """One attempt to send an alert to a channel."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    channel_id: str
    alert_id: str | None = Field(description="null for a test message.")
    alert_kind: str
    alert_title: str
    attempt: int = Field(description="1 for the first try, 2 for the first retry…")
    status: Literal["ok", "failed"]
    will_retry: bool = Field(description="A failed attempt that will be tried again.")
    response_code: int | None = Field(description="HTTP status, or SMTP reply code.")
    error: str | None
    duration_ms: float
    created_at: datetime


class DeliveryPage(BaseModel):
    """A page of a channel's delivery log, newest first."""

    deliveries: list[DeliveryPublic]
    next_cursor: str | None
