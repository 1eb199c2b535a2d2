"""API shapes of accounts: sign-up, login, the caller, API keys."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

Scope = Literal["ingest", "read", "admin"]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class SignupIn(BaseModel):
    """The first owner and their organisation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    password: Annotated[str, Field(min_length=8, max_length=200)]
    name: Annotated[str, Field(max_length=200)] = ""
    organization: Name = "My organization"


class LoginIn(BaseModel):
    """Credentials for a session."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Not EmailStr: whatever address an account was created with (e.g. `demo@….local`) must log in.
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class OrganizationPublic(BaseModel):
    """An organisation as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    timezone: str
    currency: str
    markup_percent: float
    fee_percents: list[float]
    fixed_fx_rate: float | None
    electricity_zone: str | None
    m2_per_kg_co2e: float


class OrganizationUpdate(BaseModel):
    """Organisation settings to change (omitted fields stay as they are)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Berlin.")
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = Field(
        default=None, description="Display currency (ISO 4217), e.g. EUR."
    )
    markup_percent: Annotated[float, Field(ge=-100, le=1000)] | None = None
    fee_percents: list[Annotated[float, Field(ge=0, le=100)]] | None = None
    fixed_fx_rate: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="Units of the display currency per USD; null to use ECB rates."
    )
    electricity_zone: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    m2_per_kg_co2e: Annotated[float, Field(ge=0)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
                ) from exc
        return value

    @field_validator("currency", "electricity_zone")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None


class UserPublic(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str


class MePublic(BaseModel):
    """Who is calling, in which organisation, with which role."""

    user: UserPublic
    organization: OrganizationPublic
    role: str


class SessionPublic(BaseModel):
    """The current login, if any, and whether the first owner can still sign up."""

    user: MePublic | None
    signup_open: bool


class ApiKeyCreate(BaseModel):
    """A new API key for a project."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    project: Name
    name: Annotated[str, Field(max_length=200)] = ""
    scopes: list[Scope] = Field(default=["ingest"], min_length=1)


class ApiKeyPublic(BaseModel):
    """An API key as lists show it: never the secret."""

    id: str
    name: str
    prefix: str
    project_id: str
    project: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """A new key: the only time the secret is shown."""

    key: str


class ProjectPublic(BaseModel):
    """A project."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime
