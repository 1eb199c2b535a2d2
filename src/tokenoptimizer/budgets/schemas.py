"""API shapes of budgets, their status, reservations and alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tokenoptimizer.budgets.periods import Period
from tokenoptimizer.budgets.service import DEFAULT_THRESHOLDS, DIMENSIONS

ScopeValue = Annotated[str, Field(min_length=1, max_length=200)]


def _check_scope(scope: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(scope) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"unknown scope dimension(s) {', '.join(unknown)}; use {', '.join(DIMENSIONS)}")
    return scope


def _check_thresholds(thresholds: list[float]) -> list[float]:
    if len(set(thresholds)) != len(thresholds):
        raise ValueError("thresholds must be different from each other")
    return sorted(thresholds)


class BudgetIn(BaseModel):
    """A budget to create."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    scope: dict[str, ScopeValue] = Field(
        default_factory=dict,
        description="Which usage counts, e.g. {'project': 'web', 'model': 'gpt-4o'}; {} = the whole "
        "organisation. Dimensions: " + ", ".join(DIMENSIONS) + ". A project is given by name or id.",
    )
    period: Period = Field(
        description="day, week (from Monday), month, quarter or total; in the org's time zone."
    )
    starts_on: date | None = Field(
        default=None, description="Optional custom start: periods begin on this day (of the month, week…)."
    )
    limit: Annotated[float, Field(gt=0, le=1e12)] = Field(description="In the organisation's currency.")
    thresholds: Annotated[list[Annotated[float, Field(gt=0, le=1000)]], Field(max_length=10)] = Field(
        default_factory=lambda: list(DEFAULT_THRESHOLDS),
        description="Percentages of the limit that raise an alert.",
    )
    action: Literal["alert", "block"] = Field(
        default="alert", description="block: calls through the gateway/SDK guard are refused at the limit."
    )
    rollover: bool = Field(
        default=False, description="Add what was unused of the previous period to the limit."
    )
    channel_ids: list[str] = Field(default_factory=list, description="Notification channels for its alerts.")
    enabled: bool = True

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_scope(value)

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float]) -> list[float]:
        return _check_thresholds(value)

    @model_validator(mode="after")
    def _consistent(self) -> BudgetIn:
        if self.rollover and self.period is Period.total:
            raise ValueError("rollover needs a repeating period (a total budget has no previous period)")
        return self


class BudgetPatch(BaseModel):
    """Changes to a budget (only the fields given)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    scope: dict[str, ScopeValue] | None = None
    period: Period | None = None
    starts_on: date | None = None
    limit: Annotated[float, Field(gt=0, le=1e12)] | None = None
    thresholds: Annotated[list[Annotated[float, Field(gt=0, le=1000)]], Field(max_length=10)] | None = None
    action: Literal["alert", "block"] | None = None
    rollover: bool | None = None
    channel_ids: list[str] | None = None
    enabled: bool | None = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else _check_scope(value)

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float] | None) -> list[float] | None:
        return None if value is None else _check_thresholds(value)


class BudgetStatus(BaseModel):
    """Where a budget stands in its current period (amounts in the organisation's currency)."""

    spent: float
    reserved: float
    remaining: float
    limit: float
    percent: float
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    forecast_exhaustion_date: date | None = Field(
        description="The day spend is expected to reach the limit at the current rate "
        "(null: not within this period)."
    )
    forecast_period_spend: float | None = Field(description="Expected spend by the end of the period.")
    thresholds_reached: list[float]


class BudgetPublic(BaseModel):
    """A budget as the API shows it."""

    id: str
    name: str
    scope: dict[str, str]
    period: Period
    starts_on: date | None
    limit: float
    currency: str
    thresholds: list[float]
    action: Literal["alert", "block"]
    rollover: bool
    channel_ids: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    status: BudgetStatus | None = None


class BudgetList(BaseModel):
    """An organisation's budgets with their current status."""

    budgets: list[BudgetPublic]


class ReservationIn(BaseModel):
    """Money to hold for a call: an estimate, or what to price (model, tokens) for one."""

    model_config = ConfigDict(extra="forbid")

    attribution: dict[str, Annotated[str, Field(max_length=200)] | None] = Field(
        default_factory=dict,
        description="project, team, user, end_user, feature, model; "
        "project and api_key default to the key's.",
    )
    estimated_cost_usd: Annotated[float, Field(ge=0, le=1e6)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    input_tokens: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    max_output_tokens: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    ttl_seconds: Annotated[float, Field(gt=0, le=86_400)] | None = Field(
        default=None, description="How long the money is held if never committed (default 600)."
    )

    @field_validator("attribution")
    @classmethod
    def _attribution(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        _check_scope({k: v or "" for k, v in value.items()})
        return value

    @model_validator(mode="after")
    def _one_way(self) -> ReservationIn:
        if self.estimated_cost_usd is None:
            if self.model is None or self.max_output_tokens is None:
                raise ValueError(
                    "give estimated_cost_usd, or model + max_output_tokens (+ input_tokens) to price the call"
                )
        elif self.model is not None and self.max_output_tokens is not None:
            raise ValueError("give either estimated_cost_usd or model + tokens, not both")
        return self


class ReservationPublic(BaseModel):
    """A held reservation."""

    reservation_id: str
    expires_at: datetime
    amount_usd: float


class CommitIn(BaseModel):
    """What a reserved call cost: its event (stored now) or the id of an event sent separately."""

    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] | None = None
    event_id: str | None = None

    @model_validator(mode="after")
    def _one(self) -> CommitIn:
        if (self.event is None) == (self.event_id is None):
            raise ValueError("give either 'event' (stored now) or 'event_id' (an event you send separately)")
        return self


class CommitResult(BaseModel):
    """The outcome of a commit."""

    reservation_id: str
    committed: Literal["stored", "awaiting_event"]
    accepted: int = 0
    duplicates: int = 0


class AlertPublic(BaseModel):
    """An alert as the API shows it."""

    id: str
    kind: str
    severity: str
    budget_id: str | None
    threshold: float | None
    title: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    acked_at: datetime | None
    acked_by: str | None


class AlertPage(BaseModel):
    """A page of alerts, newest first, and how many are unread."""

    alerts: list[AlertPublic]
    unread_count: int
    next_cursor: str | None
