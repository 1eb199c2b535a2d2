"""API shapes of wallets, their ledger, top-ups and Stripe Checkout."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

OwnerKind = Literal["org", "team", "user", "end_user"]
Interval = Literal["day", "week", "month"]
Amount = Annotated[float, Field(gt=0, le=1e9, description="In the wallet's currency.")]
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=150,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Unique per wallet: sending the same key again returns the first result "
        "(letters, digits, . _ : -).",
    ),
]
Note = Annotated[str, Field(max_length=500)]


def check_refill(amount: float | None, threshold: float | None, interval: str | None) -> None:
    """Refuse an auto-refill setting that can never trigger, or that has nothing to credit."""
    if amount is None and (threshold is not None or interval is not None):
        raise ValueError("auto_refill_amount is needed with auto_refill_threshold or auto_refill_interval")
    if amount is not None and threshold is None and interval is None:
        raise ValueError(
            "auto_refill_amount needs auto_refill_threshold (refill when the balance falls below it) "
            "or auto_refill_interval (refill every day, week or month)"
        )


class WalletIn(BaseModel):
    """A wallet to create: prepaid credits of the organisation or of one team, user or end user."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    owner_kind: OwnerKind = Field(
        default="org",
        description="Whose credits: org, team, user or end_user. An event is debited from its end "
        "user's wallet, else its user's, else its team's, else the organisation's.",
    )
    owner_value: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The team, user or end user as events name it (none for org)."
    )
    initial_balance: Annotated[float, Field(ge=0, le=1e9)] = Field(
        default=0.0, description="Credited at once (a top_up entry with the key 'initial')."
    )
    block_when_empty: bool = Field(
        default=False,
        description="Refuse calls (402) the balance cannot cover, at reservation time (gateway, SDK guard).",
    )
    auto_refill_amount: Amount | None = None
    auto_refill_threshold: Annotated[float, Field(ge=0, le=1e9)] | None = Field(
        default=None, description="Refill when a spend leaves the balance below this."
    )
    auto_refill_interval: Interval | None = Field(
        default=None, description="Refill at the start of every day, week or month (org time zone)."
    )
    auto_refill_max_per_month: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10, description="At most this many automatic refills per calendar month."
    )

    @model_validator(mode="after")
    def _consistent(self) -> WalletIn:
        if self.owner_kind == "org" and self.owner_value is not None:
            raise ValueError("an org wallet has no owner_value; use owner_kind team, user or end_user")
        if self.owner_kind != "org" and self.owner_value is None:
            raise ValueError(f"owner_value is needed: which {self.owner_kind} owns the wallet")
        check_refill(self.auto_refill_amount, self.auto_refill_threshold, self.auto_refill_interval)
        return self


class WalletPatch(BaseModel):
    """Changes to a wallet (only the fields given; null turns an auto-refill setting off)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    block_when_empty: bool | None = None
    auto_refill_amount: Amount | None = None
    auto_refill_threshold: Annotated[float, Field(ge=0, le=1e9)] | None = None
    auto_refill_interval: Interval | None = None
    auto_refill_max_per_month: Annotated[int, Field(ge=1, le=1000)] | None = None


class WalletPublic(BaseModel):
    """A wallet as the API shows it (amounts in its currency)."""

    id: str
    name: str
    owner_kind: OwnerKind
    owner_value: str | None
    currency: str
    balance: float
    block_when_empty: bool
    auto_refill_amount: float | None
    auto_refill_threshold: float | None
    auto_refill_interval: Interval | None
    auto_refill_max_per_month: int
    refills_this_month: int
    next_refill_at: datetime | None
    version: int = Field(description="Grows by one with every ledger entry.")
    created_at: datetime
    updated_at: datetime


class WalletList(BaseModel):
    """An organisation's wallets."""

    wallets: list[WalletPublic]
    stripe_checkout: bool = False
    """Whether credits can be bought with Stripe Checkout (the server has Stripe settings)."""


class MovementIn(BaseModel):
    """A credit to a wallet: a top-up or a refund."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: Amount
    idempotency_key: IdempotencyKey
    note: Note = ""


class AdjustmentIn(BaseModel):
    """A correction of a wallet's balance, up or down."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: Annotated[float, Field(ge=-1e9, le=1e9)] = Field(
        description="Signed: positive credits the wallet, negative debits it."
    )
    idempotency_key: IdempotencyKey
    note: Annotated[str, Field(min_length=1, max_length=500)] = Field(description="Why (kept in the ledger).")

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: float) -> float:
        if value == 0 or not math.isfinite(value):
            raise ValueError("an adjustment needs a non-zero amount")
        return value


class EntryPublic(BaseModel):
    """One ledger entry."""

    id: str
    seq: int
    kind: Literal["top_up", "spend", "refund", "adjustment", "auto_refill"]
    amount: float
    balance_after: float
    reference: str
    actor: str
    note: str
    details: dict[str, Any]
    created_at: datetime


class MovementResult(BaseModel):
    """The entries a movement wrote (or, for a repeated key, the ones written the first time)."""

    entries: list[EntryPublic]
    balance: float
    duplicate: bool = Field(description="True when the idempotency key was used before: nothing changed.")


class LedgerPage(BaseModel):
    """A page of a wallet's ledger, newest first."""

    entries: list[EntryPublic]
    balance: float
    next_cursor: str | None


class CheckoutIn(BaseModel):
    """A Stripe Checkout payment that credits the wallet once paid."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[float, Field(ge=0.5, le=1e6)] = Field(
        description="Credits to buy, in the wallet's currency."
    )
    success_url: HttpUrl = Field(description="Where Stripe sends the payer after paying.")
    cancel_url: HttpUrl = Field(description="Where Stripe sends the payer on cancel.")


class CheckoutPublic(BaseModel):
    """A Checkout Session to send the payer to."""

    session_id: str
    url: str
