"""The ledger: every change of a wallet's balance is a posting, applied with optimistic concurrency.

`post` reads the wallet (balance, version), plans the entries (the posting, plus an automatic
refill when a spend leaves the balance below the wallet's threshold), then in one transaction runs
`UPDATE wallets SET balance_micros = ?, version = ? WHERE id = ? AND version = <read version>`
and inserts the entries. When another writer changed the wallet in between, the update touches no
row: the transaction is rolled back and the whole posting is planned again from the fresh balance
(with a short random back-off). No lock is held while planning, so readers never wait, and an
update can never be lost: the balance is always the sum of the wallet's entries.

Each posting has a reference, unique per wallet: posting the same reference again returns the
entry already written (idempotent top-ups, Stripe payments, interval refills), and the same
reference with a different amount is refused (`ReferenceReused`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.state import MICROS
from tokenoptimizer.budgets.wallets.models import Wallet, WalletEntry
from tokenoptimizer.db.base import Database

log = logging.getLogger(__name__)

EntryKind = Literal["top_up", "spend", "refund", "adjustment", "auto_refill"]
ENTRY_KINDS: Final = ("top_up", "spend", "refund", "adjustment", "auto_refill")

MAX_ATTEMPTS = 1000
"""Conflicts tolerated before giving up (each one means another posting on the wallet succeeded)."""
MAX_BACKOFF_SECONDS = 0.02


class WalletNotFound(LookupError):
    """No such wallet in this organisation."""


class WalletBusy(RuntimeError):
    """A posting kept conflicting with others on the same wallet (MAX_ATTEMPTS times)."""


class ReferenceReused(ValueError):
    """The reference was already used on this wallet for a different movement."""

    def __init__(self, reference: str, existing: WalletEntry) -> None:
        self.reference = reference
        self.existing = existing
        super().__init__(
            f"idempotency key {reference!r} was already used on this wallet for a {existing.kind} of "
            f"{existing.amount_micros / MICROS:,.6g}; use a new key for a different movement"
        )


@dataclass(frozen=True, slots=True)
class Posting:
    """A balance change to apply: `amount` in signed micro-units of the wallet's currency."""

    kind: EntryKind
    amount: int
    reference: str
    actor: str
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    next_refill_at: datetime | None = None
    """Interval refills move the wallet's next refill time in the same transaction."""


@dataclass(frozen=True, slots=True)
class WalletSnapshot:
    """What planning needs to know of a wallet (micro-units)."""

    balance: int
    refill_amount: int | None
    refill_threshold: int | None
    refill_max_per_month: int
    refill_month: str | None
    refills_this_month: int


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """An entry to write, with the balance after it."""

    kind: EntryKind
    amount: int
    balance_after: int
    reference: str
    actor: str
    note: str
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """The entries of one posting and the wallet's state after them."""

    entries: tuple[PlannedEntry, ...]
    balance: int
    refill_month: str
    refills_this_month: int


def plan(wallet: WalletSnapshot, posting: Posting, month: str) -> Plan:
    """The entries a posting writes (pure).

    Automatic refills, whether triggered by the threshold or by the interval, count towards
    `refill_max_per_month` in the calendar month `month` (of the organisation's time zone): past
    the cap none is written, so a runaway spender cannot draw unlimited free credits.
    """
    refills = wallet.refills_this_month if wallet.refill_month == month else 0
    balance = wallet.balance
    entries: list[PlannedEntry] = []
    if posting.kind == "auto_refill":
        if refills >= wallet.refill_max_per_month:
            return Plan((), balance, month, refills)
        refills += 1
    balance += posting.amount
    entries.append(
        PlannedEntry(
            posting.kind,
            posting.amount,
            balance,
            posting.reference,
            posting.actor,
            posting.note,
            posting.details,
        )
    )
    threshold = wallet.refill_threshold
    if (
        posting.kind == "spend"
        and threshold is not None
        and wallet.refill_amount
        and balance < threshold
        and refills < wallet.refill_max_per_month
    ):
        refills += 1
        balance += wallet.refill_amount
        entries.append(
            PlannedEntry(
                "auto_refill",
                wallet.refill_amount,
                balance,
                f"auto_refill:{posting.reference}",
                "auto_refill",
                "the balance fell below the refill threshold",
                {"trigger": "threshold", "threshold": threshold / MICROS, "refill": refills},
            )
        )
    return Plan(tuple(entries), balance, month, refills)


def snapshot(wallet: Wallet) -> WalletSnapshot:
    """A stored wallet, for `plan`."""
    return WalletSnapshot(
        balance=wallet.balance_micros,
        refill_amount=_micros(wallet.auto_refill_amount),
        refill_threshold=_micros(wallet.auto_refill_threshold),
        refill_max_per_month=wallet.auto_refill_max_per_month,
        refill_month=wallet.refill_month,
        refills_this_month=wallet.refills_this_month,
    )


def _micros(amount: float | None) -> int | None:
    return None if amount is None else round(amount * MICROS)


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a posting."""

    entries: list[WalletEntry]
    """Entries written (or, for a repeated reference, the entry written the first time)."""
    balance: int
    duplicate: bool = False
    conflicts: int = 0
    """How many times another posting won the race and this one was planned again."""


def post(
    db: Database, org_id: str, wallet_id: str, posting: Posting, *, now: datetime | None = None
) -> Posted:
    """Apply a posting to one of the organisation's wallets; retry on conflict."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            with db.sessionmaker() as session:
                posted = _try(session, org_id, wallet_id, posting, now or datetime.now(UTC))
                if posted is not None:
                    return Posted(posted.entries, posted.balance, posted.duplicate, attempt)
        except IntegrityError:
            pass  # the same reference was written concurrently: the next attempt returns it
        except OperationalError as exc:  # SQLite: another writer held the file past the busy timeout
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
        time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.0005 * 2**attempt)))
    raise WalletBusy(f"wallet {wallet_id} is too busy: {MAX_ATTEMPTS} conflicting postings in a row")


def _try(session: Session, org_id: str, wallet_id: str, posting: Posting, now: datetime) -> Posted | None:
    found = session.execute(
        select(Wallet, Organization.timezone)
        .join(Organization, Organization.id == Wallet.org_id)
        .where(Wallet.id == wallet_id, Wallet.org_id == org_id)
    ).one_or_none()
    if found is None:
        raise WalletNotFound(wallet_id)
    wallet, zone = found
    existing = session.scalar(
        select(WalletEntry).where(
            WalletEntry.wallet_id == wallet_id, WalletEntry.reference == posting.reference
        )
    )
    if existing is not None:
        if existing.kind != posting.kind or existing.amount_micros != posting.amount:
            raise ReferenceReused(posting.reference, existing)
        return Posted([existing], wallet.balance_micros, duplicate=True)
    planned = plan(snapshot(wallet), posting, now.astimezone(ZoneInfo(zone)).strftime("%Y-%m"))
    if not planned.entries and posting.next_refill_at is None:
        return Posted([], wallet.balance_micros)
    values: dict[str, Any] = {
        "balance_micros": planned.balance,
        "version": wallet.version + len(planned.entries),
        "refill_month": planned.refill_month,
        "refills_this_month": planned.refills_this_month,
        "updated_at": now,
    }
    if posting.next_refill_at is not None:
        values["next_refill_at"] = posting.next_refill_at
    result = session.execute(
        update(Wallet)
        .where(Wallet.id == wallet_id, Wallet.version == wallet.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        session.rollback()
        return None
    rows = [
        WalletEntry(
            wallet_id=wallet_id,
            org_id=org_id,
            seq=wallet.version + position,
            kind=entry.kind,
            amount_micros=entry.amount,
            balance_after_micros=entry.balance_after,
            reference=entry.reference,
            actor=entry.actor,
            note=entry.note,
            details=dict(entry.details),
            created_at=now,
        )
        for position, entry in enumerate(planned.entries, start=1)
    ]
    session.add_all(rows)
    session.commit()
    return Posted(rows, planned.balance)
