"""Wallets at run time: debiting spend on ingest, blocking calls when empty, interval refills.

`WalletService` keeps, per organisation, which wallet belongs to which owner (`WalletRef`) in
memory. Three paths use it:

* **debits**: the event store calls `on_stored` with every append's new rows, in its writer
  thread, right after they are stored. That thread is the ingest hot path, so the listener only
  hands the (immutable) Arrow table to this service's own worker thread through a queue; the
  worker groups the rows by wallet and writes one `spend` entry per wallet per append (one
  transaction each, see `ledger.post`). Only new rows ever arrive, so a re-sent event is never
  debited twice; the entry's reference is a digest of its event ids all the same;
* **guard**: `BudgetService.reserve` calls `guard` before a call (gateway, SDK guard,
  `POST /api/v1/reservations`): when the wallet the call would be debited from blocks when empty
  and its balance cannot cover the call's worst case (after the organisation's markup), it raises
  `WalletEmpty` (a `BudgetExceeded`, so every caller answers 402 with its message);
* **interval refills**: the worker credits wallets whose `next_refill_at` has come, every few
  seconds (`TICK_SECONDS`), and re-reads the wallets (created or changed by another process).

Which wallet pays: the most specific owner an event names — its end user's wallet, else its
user's, else its team's, else the organisation's. Exactly one wallet is debited per event.

Wallets are debited the **billed** cost (`billed_cost_usd`, after the organisation's markup and
fees): they hold what an operator's customers prepaid, so they pay the resale price. The amount is
converted to the wallet's currency at the rate of each event's day (the organisation's fixed rate
when it set one for that currency), in integer micro-units, event by event like budget counters.

Debits follow the event append by milliseconds (`wait_idle` waits for them); `close` writes the
queued ones. A process that crashes between the two loses the debits of that append: the event
store acknowledges events, not wallet debits (the events stay the record of what was spent).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select, update

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.periods import Period, window_at
from tokenoptimizer.budgets.service import BudgetExceeded
from tokenoptimizer.budgets.state import MICROS, to_micros
from tokenoptimizer.budgets.wallets import ledger
from tokenoptimizer.budgets.wallets.ledger import Posted, Posting, WalletNotFound
from tokenoptimizer.budgets.wallets.models import Wallet
from tokenoptimizer.db.base import Database
from tokenoptimizer.pricing import billed_cost, convert_currency
from tokenoptimizer.usage.pipeline import OrgPricing
from tokenoptimizer.usage.stores.base import EventStore

log = logging.getLogger(__name__)

OWNER_KINDS = ("org", "team", "user", "end_user")
MOST_SPECIFIC_FIRST = ("end_user", "user", "team")
"""Which attribution pays: the first of these an event names that has a wallet, else the org's."""

_ADVERB = {"day": "daily", "week": "weekly", "month": "monthly"}

TICK_SECONDS = 5.0
"""How often the worker re-reads wallets and credits interval refills that are due."""


def money(amount: float, currency: str) -> str:
    """An amount as people read it: $1.20, -$0.40, 3.50 EUR."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


class WalletEmpty(BudgetExceeded):
    """A wallet that blocks when empty cannot cover a call's worst-case cost."""

    def __init__(
        self, *, wallet_id: str, wallet_name: str, balance: float, requested: float, currency: str
    ) -> None:
        self.wallet_id = wallet_id
        self.wallet_name = wallet_name
        self.balance = balance
        super().__init__(
            budget_id=wallet_id,
            budget_name=wallet_name,
            limit=balance,
            spent=0.0,
            reserved=0.0,
            currency=currency,
            period="total",
            requested=requested,
        )

    def __str__(self) -> str:
        return (
            f"Wallet '{self.wallet_name}' has {money(self.balance, self.currency)} left; this call needs "
            f"up to {money(self.requested, self.currency)} — top up the wallet "
            f"(POST /api/v1/wallets/{self.wallet_id}/top-ups) or turn off its block_when_empty"
        )

    def as_dict(self) -> dict[str, Any]:
        """The API's 402 body."""
        return {
            "error": "wallet_empty",
            "message": str(self),
            "wallet_id": self.wallet_id,
            "wallet_name": self.wallet_name,
            "balance": round(self.balance, 6),
            "requested": round(self.requested, 6),
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class WalletRef:
    """What the hot paths need to know of a wallet."""

    id: str
    name: str
    owner_kind: str
    owner_value: str
    block_when_empty: bool


Owners = Mapping[tuple[str, str], WalletRef]
"""(owner kind, owner value) -> wallet; the organisation's own wallet is ("org", "")."""


def paying_wallet(owners: Owners, attribution: Mapping[str, str | None]) -> WalletRef | None:
    """The wallet that pays for a call attributed so (most specific owner first), if any."""
    for kind in MOST_SPECIFIC_FIRST:
        value = attribution.get(kind)
        if value:
            wallet = owners.get((kind, value))
            if wallet is not None:
                return wallet
    return owners.get(("org", ""))


def spend_reference(event_ids: Iterable[str]) -> str:
    """A spend entry's reference: a digest of the events it debits."""
    digest = hashlib.blake2b(digest_size=16)
    for event_id in sorted(event_ids):
        digest.update(event_id.encode())
    return f"spend:{digest.hexdigest()}"


@dataclass
class WalletService:
    """Every organisation's wallets: debits on ingest, the empty-wallet guard, interval refills."""

    db: Database
    store: EventStore
    org_pricing: Callable[[str], OrgPricing]
    _owners: dict[str, dict[tuple[str, str], WalletRef]] = field(default_factory=dict)
    _queue: queue.Queue[pa.Table | None] = field(default_factory=queue.Queue)
    _worker: threading.Thread | None = None
    _rates: dict[tuple[str, date, float | None], float] = field(default_factory=dict)
    _last_tick: float = 0.0
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Read every wallet, start the worker and listen to the event store."""
        self.reload()
        self._last_tick = time.monotonic()
        self._worker = threading.Thread(target=self._work, name="tokenoptimizer-wallets", daemon=True)
        self._worker.start()
        self.store.add_listener(self.on_stored)

    def close(self) -> None:
        """Stop the worker once it has debited what is queued."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)
            self._worker = None

    def wait_idle(self) -> None:
        """Wait until every append seen so far is debited."""
        self._queue.join()

    # -- wallets ---------------------------------------------------------------------------------

    def reload(self, org_id: str | None = None) -> None:
        """Read wallets (of one organisation, or all) from the database again.

        Under a lock, so a full re-read that began before a change cannot land after its own.
        """
        with self._reload_lock, self.db.session() as session:
            query = select(
                Wallet.id,
                Wallet.org_id,
                Wallet.name,
                Wallet.owner_kind,
                Wallet.owner_value,
                Wallet.block_when_empty,
            )
            if org_id is not None:
                query = query.where(Wallet.org_id == org_id)
            loaded: dict[str, dict[tuple[str, str], WalletRef]] = {}
            for wallet_id, org, name, kind, value, block in session.execute(query):
                loaded.setdefault(org, {})[(kind, value)] = WalletRef(wallet_id, name, kind, value, block)
            if org_id is None:
                self._owners = loaded
            else:
                self._owners = {**self._owners, org_id: loaded.get(org_id, {})}

    def owners(self, org_id: str) -> Owners:
        """The organisation's wallets by owner."""
        return self._owners.get(org_id, {})

    def post(self, org_id: str, wallet_id: str, posting: Posting) -> Posted:
        """Apply a balance change to one of the organisation's wallets (see `ledger.post`)."""
        return ledger.post(self.db, org_id, wallet_id, posting)

    # -- the guard -------------------------------------------------------------------------------

    def applies(self, org_id: str) -> bool:
        """Whether a wallet of the organisation refuses calls when empty (the guard's `applies`)."""
        return any(wallet.block_when_empty for wallet in self._owners.get(org_id, {}).values())

    def check(self, org_id: str, attribution: Mapping[str, str | None], amount_usd: float) -> None:
        """Refuse a call its wallet cannot pay for (when that wallet blocks when empty)."""
        owners = self._owners.get(org_id)
        if not owners:
            return
        wallet = paying_wallet(owners, attribution)
        if wallet is None or not wallet.block_when_empty:
            return
        with self.db.session() as session:
            row = session.execute(
                select(
                    Wallet.balance_micros, Wallet.currency, Organization.currency, Organization.fixed_fx_rate
                )
                .join(Organization, Organization.id == Wallet.org_id)
                .where(Wallet.id == wallet.id)
            ).one_or_none()
        if row is None:
            return  # deleted meanwhile
        balance, currency, org_currency, fixed_rate = row
        pricing = self.org_pricing(org_id)
        billed = billed_cost(
            max(amount_usd, 0.0), markup_percent=pricing.markup_percent, fee_percents=pricing.fee_percents
        )
        rate = self._rate(
            currency, datetime.now(UTC).date(), fixed_rate if currency == org_currency else None
        )
        needed = to_micros(billed * rate)
        if balance <= 0 or balance < needed:
            raise WalletEmpty(
                wallet_id=wallet.id,
                wallet_name=wallet.name,
                balance=balance / MICROS,
                requested=needed / MICROS,
                currency=currency,
            )

    def _rate(self, currency: str, day: date, fixed_rate: float | None) -> float:
        key = (currency, day, fixed_rate)
        rate = self._rates.get(key)
        if rate is None:
            rate = convert_currency(1.0, currency, day, fixed_rate)[1]
            self._rates[key] = rate
        return rate

    # -- debits ----------------------------------------------------------------------------------

    def on_stored(self, stored: pa.Table) -> None:
        """The event store's listener: queue new rows for debiting (runs in the writer thread)."""
        if self._owners:
            self._queue.put(stored)

    def _work(self) -> None:
        while True:
            try:
                stored = self._queue.get(timeout=TICK_SECONDS)
            except queue.Empty:
                self._tick()
                continue
            try:
                if stored is None:
                    return
                self.debit(stored)
            except Exception:
                log.exception("could not debit wallets for stored events")
            finally:
                self._queue.task_done()
            if time.monotonic() - self._last_tick >= TICK_SECONDS:
                self._tick()

    def _tick(self) -> None:
        self._last_tick = time.monotonic()
        try:
            self.reload()
            self.run_due_refills()
        except Exception:
            log.exception("wallet refresh or interval refill failed")

    def debit(self, stored: pa.Table) -> list[Posted]:
        """Debit each wallet for the stored events it pays for: one spend entry per wallet."""
        posted: list[Posted] = []
        org_column = stored.column("org_id")
        for org_id in pc.unique(org_column).to_pylist():
            owners = self._owners.get(org_id)
            if owners:
                rows = stored.filter(pc.equal(org_column, org_id)) if len(self._owners) > 1 else stored
                posted.extend(self._debit_org(org_id, owners, rows))
        return posted

    def _debit_org(self, org_id: str, owners: Owners, rows: pa.Table) -> list[Posted]:
        columns = {
            name: rows.column(name).to_pylist()
            for name in ("end_user", "user", "team", "ts", "billed_cost_usd", "event_id")
        }
        by_wallet: dict[str, list[int]] = {}
        for i in range(rows.num_rows):
            attribution = {kind: columns[kind][i] for kind in MOST_SPECIFIC_FIRST}
            wallet = paying_wallet(owners, attribution)
            if wallet is not None:
                by_wallet.setdefault(wallet.id, []).append(i)
        if not by_wallet:
            return []
        with self.db.session() as session:
            org_row = session.execute(
                select(Organization.currency, Organization.fixed_fx_rate).where(Organization.id == org_id)
            ).one_or_none()
            currencies: dict[str, str] = {
                wallet_id: currency
                for wallet_id, currency in session.execute(
                    select(Wallet.id, Wallet.currency).where(Wallet.id.in_(list(by_wallet)))
                )
            }
        if org_row is None:
            return []
        org_currency, fixed_rate = org_row
        posted: list[Posted] = []
        for wallet_id, indices in by_wallet.items():
            currency = currencies.get(wallet_id)
            if currency is None:
                continue  # deleted since the last reload
            rate_fixed = fixed_rate if currency == org_currency else None
            amount = 0
            billed_usd = 0.0
            for i in indices:
                billed = columns["billed_cost_usd"][i] or 0.0
                billed_usd += billed
                amount += to_micros(billed * self._rate(currency, columns["ts"][i].date(), rate_fixed))
            if amount == 0:
                continue
            timestamps = [columns["ts"][i] for i in indices]
            posting = Posting(
                kind="spend",
                amount=-amount,
                reference=spend_reference(str(columns["event_id"][i]) for i in indices),
                actor="ingest",
                details={
                    "events": len(indices),
                    "billed_usd": round(billed_usd, 9),
                    "first_ts": min(timestamps).replace(tzinfo=UTC).isoformat(),
                    "last_ts": max(timestamps).replace(tzinfo=UTC).isoformat(),
                },
            )
            try:
                posted.append(ledger.post(self.db, org_id, wallet_id, posting))
            except WalletNotFound:
                log.info("wallet %s was deleted before its debit", wallet_id)
        return posted

    # -- interval refills ------------------------------------------------------------------------

    def run_due_refills(self, now: datetime | None = None) -> int:
        """Credit every wallet whose interval refill is due; returns how many were credited.

        One refill per period, whatever the number of processes (its reference names the period);
        periods missed while the server was down are not credited after the fact.
        """
        now = now or datetime.now(UTC)
        with self.db.session() as session:
            due = session.execute(
                select(
                    Wallet.id,
                    Wallet.org_id,
                    Wallet.auto_refill_interval,
                    Wallet.auto_refill_amount,
                    Organization.timezone,
                )
                .join(Organization, Organization.id == Wallet.org_id)
                .where(
                    Wallet.auto_refill_interval.is_not(None),
                    Wallet.auto_refill_amount.is_not(None),
                    Wallet.next_refill_at <= now,
                )
            ).all()
        credited = 0
        for wallet_id, org_id, interval, amount, zone in due:
            if interval is None or amount is None:
                continue  # filtered above; for the type checker
            window = window_at(now, Period(interval), ZoneInfo(zone))
            assert window is not None and window.end is not None
            posting = Posting(
                kind="auto_refill",
                amount=round(amount * MICROS),
                reference=f"auto_refill:{interval}:{window.key}",
                actor="auto_refill",
                note=f"{_ADVERB[interval]} credits",
                details={
                    "trigger": "interval",
                    "interval": interval,
                    "period_start": window.start.isoformat(),
                },
                next_refill_at=window.end,
            )
            try:
                posted = ledger.post(self.db, org_id, wallet_id, posting)
            except WalletNotFound:
                continue
            if posted.duplicate:  # this period's refill exists: just move on to the next period
                with self.db.session() as session:
                    session.execute(
                        update(Wallet)
                        .where(Wallet.id == wallet_id, Wallet.next_refill_at <= now)
                        .values(next_refill_at=window.end)
                    )
            elif posted.entries:
                credited += 1
        return credited
