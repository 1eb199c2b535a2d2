"""Budgets at run time: accounting on ingest, atomic reservations, status, threshold alerts.

`BudgetService` keeps each organisation's budgets compiled in memory (`Rule`), and their
counters in a `BudgetState` (this process, or Redis). Three paths touch them:

* **accounting**: the event store calls `account` with every append's new rows, in its writer
  thread, right after they are stored; each rule the rows fall under gets their cost added
  to the counter of the period they belong to, and a crossed threshold raises one alert;
* **reservations**: `reserve` checks the worst-case cost of a call against every hard (`block`)
  budget it falls under and holds it, all or nothing; the caller releases it once the real
  event is stored (which accounted the real cost) — or it expires;
* **rebuild**: a counter that does not exist yet (first use, new period, restart, re-pricing) is
  computed from the event store in the writer thread (`run_exclusive`), so no append can land
  between the query and the counter, and nothing is counted twice.

Spend is the provider cost (`cost_usd`, the dashboard's "cost") converted to the organisation's
currency at the rate of each event's day, in integer micro-units.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.analytics import forecast
from tokenoptimizer.budgets.models import Alert, Budget
from tokenoptimizer.budgets.periods import Period, Window, previous_window, window_at
from tokenoptimizer.budgets.state import MICROS, BudgetState, Check, to_micros
from tokenoptimizer.db.base import Database
from tokenoptimizer.ids import random_uuid
from tokenoptimizer.pricing.currency import convert_currency
from tokenoptimizer.usage.stores.base import EventStore

log = logging.getLogger(__name__)

DIMENSIONS: dict[str, str] = {
    "project": "project_id",
    "team": "team",
    "user": "user",
    "end_user": "end_user",
    "api_key": "api_key_id",
    "feature": "feature",
    "model": "model",
}
"""Scope dimension -> event column."""

DEFAULT_THRESHOLDS = (50.0, 80.0, 100.0)
RESERVATION_TTL_SECONDS = 600.0


class BudgetExceeded(Exception):
    """A call would take a hard budget over its limit."""

    def __init__(
        self,
        *,
        budget_id: str,
        budget_name: str,
        limit: float,
        spent: float,
        reserved: float,
        currency: str,
        period: str,
        requested: float,
    ) -> None:
        self.budget_id = budget_id
        self.budget_name = budget_name
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.currency = currency
        self.period = period
        self.requested = requested
        super().__init__(str(self))

    def __str__(self) -> str:
        per = "in total" if self.period == "total" else f"per {self.period}"
        return (
            f"Budget '{self.budget_name}' ({_money(self.limit, self.currency)} {per}) would be exceeded: "
            f"spent {_money(self.spent, self.currency)}, reserved {_money(self.reserved, self.currency)}, "
            f"this call needs up to {_money(self.requested, self.currency)}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The API's 402 body."""
        return {
            "error": "budget_exceeded",
            "message": str(self),
            "budget_id": self.budget_id,
            "budget_name": self.budget_name,
            "limit": self.limit,
            "spent": round(self.spent, 6),
            "reserved": round(self.reserved, 6),
            "requested": round(self.requested, 6),
            "currency": self.currency,
        }


def _money(amount: float, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money held for a call until its event is stored."""

    reservation_id: str
    expires_at: datetime


@dataclass(frozen=True)
class OrgSettings:
    """What accounting needs to know of an organisation."""

    zone: ZoneInfo
    currency: str
    fixed_rate: float | None


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: rules are replaced on reload
class Rule:
    """A budget compiled for the hot paths."""

    id: str
    org_id: str
    name: str
    scope: tuple[tuple[str, str], ...]
    period: Period
    anchor: date | None
    limit: float
    thresholds: tuple[float, ...]
    block: bool
    rollover: bool
    channel_ids: tuple[str, ...]
    org: OrgSettings
    version: str = ""
    """Changes when what the counter measures changes (scope, period, anchor, currency, zone)."""

    def matches(self, attribution: Mapping[str, str | None]) -> bool:
        """Whether a call with this attribution falls under the budget."""
        return all(attribution.get(dimension) == value for dimension, value in self.scope)

    def window(self, instant: datetime) -> Window | None:
        """The budget's period containing `instant`."""
        return window_at(instant, self.period, self.org.zone, self.anchor)

    def key(self, window: Window) -> str:
        """The counter of one period."""
        return f"{self.id}:{self.version}:{window.key}"


@dataclass(frozen=True)
class Status:
    """Where a budget stands in its current period."""

    spent: float
    reserved: float
    limit: float
    window: Window | None
    forecast_exhaustion: date | None
    forecast_spend: float | None

    @property
    def remaining(self) -> float:
        """What is left (never negative)."""
        return max(0.0, self.limit - self.spent - self.reserved)

    @property
    def percent(self) -> float:
        """Spend as a percentage of the limit."""
        return 100.0 * self.spent / self.limit if self.limit > 0 else (100.0 if self.spent > 0 else 0.0)


@dataclass
class ThresholdCrossed:
    """A budget's spend reached one of its thresholds in a period."""

    rule: Rule
    threshold: float
    window: Window
    spent: float
    limit: float


AlertListener = Callable[[Alert, Sequence[str]], None]
"""Called with each new alert (stored) and the channels to notify."""


class Guard(Protocol):
    """Another reason to refuse a call before it is made (prepaid wallets are one)."""

    def applies(self, org_id: str) -> bool:
        """Whether the guard may refuse some call of the organisation (answer from memory)."""

    def check(self, org_id: str, attribution: Mapping[str, str | None], amount_usd: float) -> None:
        """Raise `BudgetExceeded` (or a subclass) to refuse a call of `amount_usd`."""


@dataclass
class BudgetService:
    """Budgets of every organisation, their counters, reservations and alerts."""

    db: Database
    store: EventStore
    state: BudgetState
    reservation_ttl: float = RESERVATION_TTL_SECONDS
    alert_listeners: list[AlertListener] = field(default_factory=list)
    extra_guards: list[Guard] = field(default_factory=list)
    """Checked by `reserve` before the budgets (wallets use it)."""
    _rules: dict[str, list[Rule]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _alerts: queue.Queue[ThresholdCrossed | None] = field(default_factory=queue.Queue)
    _worker: threading.Thread | None = None
    _rates: dict[tuple[str, date, float | None], float] = field(default_factory=dict)
    _versions: dict[str, int] = field(default_factory=dict)
    _periods: dict[Rule, tuple[Window, str, float]] = field(default_factory=dict)
    _ensured: set[str] = field(default_factory=set)  # counter keys known to exist

    def start(self) -> None:
        """Load every budget, rebuild current counters, start the alert writer, listen to the store."""
        self.reload()
        self._worker = threading.Thread(target=self._alert_loop, name="tokenoptimizer-alerts", daemon=True)
        self._worker.start()
        self.store.add_listener(self.account)

    def close(self) -> None:
        """Stop the alert writer after it has written what is queued."""
        if self._worker is not None:
            self._alerts.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    # -- budgets ---------------------------------------------------------------------------------

    def reload(self, org_id: str | None = None, *, rebuild: bool = False) -> None:
        """Read budgets (of one organisation, or all) from the database again.

        With `rebuild`, the organisation's current counters are recomputed from the event store
        too (after its costs, currency or time zone changed).
        """
        with self.db.session() as session:
            query = select(Budget, Organization).join(Organization, Organization.id == Budget.org_id)
            query = query.where(Budget.enabled.is_(True))
            if org_id is not None:
                query = query.where(Budget.org_id == org_id)
            loaded: dict[str, list[Rule]] = {}
            version = self.state.rules_version(org_id) if org_id is not None else 0
            for budget, org in session.execute(query).all():
                loaded.setdefault(budget.org_id, []).append(compile_rule(budget, org))
        with self._lock:
            self._periods.clear()
            if org_id is None:
                self._rules = loaded
            else:
                self._rules[org_id] = loaded.get(org_id, [])
                self._versions[org_id] = version  # only now: other threads use the old rules until here
        now = datetime.now(UTC)
        rules = [r for rs in loaded.values() for r in rs]
        if rules:
            self.store.run_exclusive(lambda: self._ensure_counters(rules, now))
        if rebuild and org_id is not None:
            self.rebuild(org_id)

    def changed(self, org_id: str, *, rebuild: bool = False) -> None:
        """The organisation's budgets (or settings) changed: tell every process, reload them here."""
        self.state.bump_rules_version(org_id)
        self.reload(org_id, rebuild=rebuild)

    def guarded(self, org_id: str) -> bool:
        """Whether a guard applies to the organisation: then `reserve` may read the database."""
        return any(guard.applies(org_id) for guard in self.extra_guards)

    def has_hard_budget(self, org_id: str) -> bool:
        """Whether a budget of the organisation blocks calls.

        When neither this nor `guarded` holds, `reserve` cannot refuse a call: a caller can skip the
        reservation (and estimating the worst case it needs).
        """
        return any(rule.block for rule in self.rules(org_id))

    def rules(self, org_id: str) -> list[Rule]:
        """The organisation's enabled budgets (reloaded if another process changed them)."""
        if self.state.rules_version(org_id) != self._versions.get(org_id, 0):
            self.reload(org_id)
        return self._rules.get(org_id, [])

    def rebuild(self, org_id: str) -> None:
        """Recompute the organisation's current counters from the event store (after re-pricing)."""
        rules = self.rules(org_id)
        now = datetime.now(UTC)

        def run() -> None:
            for rule in rules:
                window = rule.window(now)
                if window is not None:
                    key = rule.key(window)
                    self.state.add_spend({key: self._spend_from_store(rule, window) - self.state.spent(key)})

        if rules:
            self.store.run_exclusive(run)

    # -- counters --------------------------------------------------------------------------------

    def _ensure_counters(self, rules: Sequence[Rule], now: datetime) -> None:
        """Create missing counters of the periods containing `now` (call in the writer thread)."""
        for rule in rules:
            window = rule.window(now)
            if window is not None and not self.state.has(rule.key(window)):
                self.state.init_spend(rule.key(window), self._spend_from_store(rule, window))

    def _rate(self, org: OrgSettings, day: date) -> float:
        key = (org.currency, day, org.fixed_rate)
        rate = self._rates.get(key)
        if rate is None:
            rate = convert_currency(1.0, org.currency, day, org.fixed_rate)[1]
            self._rates[key] = rate
        return rate

    def _spend_from_store(self, rule: Rule, window: Window) -> int:
        """The rule's spend in a period, from the stored events (micro-units of its currency)."""
        conditions = ["org_id = ?", "ts >= ?"]
        params: list[Any] = [rule.org_id, window.start.replace(tzinfo=None)]
        if window.end is not None:
            conditions.append("ts < ?")
            params.append(window.end.replace(tzinfo=None))
        for dimension, value in rule.scope:
            conditions.append(f'"{DIMENSIONS[dimension]}" = ?')
            params.append(value)
        rows = self.store.fetch(
            f"SELECT CAST(ts AS DATE), sum(cost_usd) FROM events WHERE {' AND '.join(conditions)} GROUP BY 1",
            params,
        )
        return sum(to_micros((cost or 0.0) * self._rate(rule.org, day)) for day, cost in rows)

    def account(self, stored: pa.Table) -> None:
        """Add newly stored events to every budget they fall under (the store's listener)."""
        if self._rules or self.state.shared:
            org_column = stored.column("org_id")
            orgs = pc.unique(org_column).to_pylist()
            for org_id in orgs:
                rules = self.rules(org_id)
                if rules:
                    rows = stored.filter(pc.equal(org_column, org_id)) if len(orgs) > 1 else stored
                    self._account_org(rules, rows)
        self._release_awaited(stored)

    def _account_org(self, rules: Sequence[Rule], rows: pa.Table) -> None:
        columns = {name: rows.column(name).to_pylist() for name in {"ts", "cost_usd", *DIMENSIONS.values()}}
        timestamps: list[datetime] = columns["ts"]
        costs: list[float | None] = columns["cost_usd"]
        increments: dict[str, int] = {}
        windows: dict[str, tuple[Rule, Window]] = {}
        fresh: list[tuple[Rule, Window]] = []
        for rule in rules:
            selected: Sequence[int] = range(len(timestamps))
            for dimension, value in rule.scope:
                column = columns[DIMENSIONS[dimension]]
                selected = [i for i in selected if column[i] == value]
            current: Window | None = None
            for i in selected:
                ts = timestamps[i].replace(tzinfo=UTC)
                if current is None or not current.contains(ts):
                    current = rule.window(ts)
                    if current is None:
                        continue
                    key = rule.key(current)
                    if key not in windows:
                        windows[key] = (rule, current)
                        if not self.state.has(key):
                            fresh.append((rule, current))  # rebuilt below, this batch included
                amount = to_micros((costs[i] or 0.0) * self._rate(rule.org, ts.date()))
                key = rule.key(current)
                increments[key] = increments.get(key, 0) + amount
        for rule, window in fresh:
            key = rule.key(window)
            increments.pop(key, None)
            self.state.init_spend(key, self._spend_from_store(rule, window))
        changes = self.state.add_spend(increments)
        for key, (before, after) in changes.items():
            rule, window = windows[key]
            self._check_thresholds(rule, window, before, after)

    def _release_awaited(self, stored: pa.Table) -> None:
        keys = (
            _internal(org, str(event))
            for org, event in zip(
                stored.column("org_id").to_pylist(), stored.column("event_id").to_pylist(), strict=True
            )
        )
        for reservation_id in self.state.pop_awaited(keys):
            self.state.release(reservation_id)

    def _effective_limit(self, rule: Rule, window: Window) -> float:
        """The limit, plus what was left of the previous period when the budget rolls over."""
        if not rule.rollover:
            return rule.limit
        previous = previous_window(window, rule.period, rule.org.zone, rule.anchor)
        if previous is None:
            return rule.limit
        key = rule.key(previous)
        if not self.state.has(key):
            self.state.init_spend(key, self._spend_from_store(rule, previous))
        return rule.limit + max(0.0, rule.limit - self.state.spent(key) / MICROS)

    # -- reservations ----------------------------------------------------------------------------

    def reserve(
        self,
        org_id: str,
        attribution: Mapping[str, str | None],
        amount_usd: float,
        *,
        ttl: float | None = None,
    ) -> Reservation:
        """Hold `amount_usd` against every hard budget the call falls under, or raise `BudgetExceeded`."""
        for guard in self.extra_guards:
            guard.check(org_id, attribution, amount_usd)
        reservation_id = str(random_uuid())
        ttl = self.reservation_ttl if ttl is None else ttl
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
        rules = [r for r in self.rules(org_id) if r.block and r.matches(attribution)]
        if not rules:
            return Reservation(reservation_id, expires_at)
        now = datetime.now(UTC)
        periods = [(rule, current) for rule in rules if (current := self._current(rule, now)) is not None]
        missing = [rule for rule, (_window, key, _limit) in periods if key not in self._ensured]
        if missing:
            self.store.run_exclusive(lambda: self._ensure_counters(missing, now))
            self._ensured.update(key for _rule, (_window, key, _limit) in periods)
        checks = [Check(key, to_micros(limit)) for _rule, (_window, key, limit) in periods]
        by_key = {key: (rule, limit) for rule, (_window, key, limit) in periods}
        amount = to_micros(amount_usd * self._rate(rules[0].org, now.date()))
        refusal = self.state.reserve(_internal(org_id, reservation_id), checks, amount, ttl)
        if refusal is not None:
            rule, limit = by_key[refusal.key]
            raise BudgetExceeded(
                budget_id=rule.id,
                budget_name=rule.name,
                limit=limit,
                spent=refusal.spent / MICROS,
                reserved=refusal.reserved / MICROS,
                currency=rule.org.currency,
                period=rule.period.value,
                requested=amount / MICROS,
            )
        return Reservation(reservation_id, expires_at)

    def _current(self, rule: Rule, now: datetime) -> tuple[Window, str, float] | None:
        """The rule's period at `now`, its counter key and effective limit (cached for the period)."""
        cached = self._periods.get(rule)
        if cached is not None and cached[0].contains(now):
            return cached
        window = rule.window(now)
        if window is None:
            return None
        current = (window, rule.key(window), self._effective_limit(rule, window))
        self._periods[rule] = current
        return current

    def release(self, org_id: str, reservation_id: str) -> bool:
        """Drop a reservation (the call's event is stored, or the call did not happen).

        Only the organisation that made it can release it: False for anyone else's id.
        """
        return self.state.release(_internal(org_id, reservation_id))

    def await_event(self, org_id: str, reservation_id: str, event_id: str) -> bool:
        """Keep a reservation until the organisation's event `event_id` is stored, then release it.

        The wait is registered before looking in the store, so an event stored at any moment
        (before, during or after this call) releases the reservation exactly once.
        """
        if not self.state.await_event(_internal(org_id, reservation_id), _internal(org_id, event_id)):
            return False
        try:
            stored = self.store.fetch(
                "SELECT 1 FROM events WHERE org_id = ? AND event_id = TRY_CAST(? AS UUID) LIMIT 1",
                [org_id, event_id],
            )
        except Exception:  # the listener still releases it when the event arrives
            log.exception("could not look for event %s", event_id)
            return True
        if stored:
            for awaited in self.state.pop_awaited([_internal(org_id, event_id)]):
                self.state.release(awaited)
        return True

    # -- status ----------------------------------------------------------------------------------

    def status(self, rule: Rule, *, now: datetime | None = None) -> Status:
        """Spent, reserved, limit, period and the forecast exhaustion day of a budget."""
        now = now or datetime.now(UTC)
        window = rule.window(now)
        if window is None:
            return Status(0.0, 0.0, rule.limit, None, None, None)
        key = rule.key(window)
        if not self.state.has(key):
            self.store.run_exclusive(lambda: self._ensure_counters([rule], now))
        limit = self._effective_limit(rule, window)
        spent = self.state.spent(key) / MICROS
        reserved = self.state.reserved(key) / MICROS
        exhaustion, projected = self._forecast(rule, window, spent, limit, now)
        return Status(spent, reserved, limit, window, exhaustion, projected)

    def _forecast(
        self, rule: Rule, window: Window, spent: float, limit: float, now: datetime
    ) -> tuple[date | None, float | None]:
        """When spend reaches the limit at the expected daily rate, and the period's expected total."""
        zone = rule.org.zone
        today = now.astimezone(zone).date()
        history_start = today - timedelta(days=forecast.TREND_DAYS)
        daily = self._daily_spend(rule, history_start, today)
        model = forecast.fit(
            history_start, [daily.get(history_start + timedelta(days=i), 0.0) for i in range(28)]
        )
        local_now = now.astimezone(zone)
        today_remaining = 1.0 - (local_now.hour * 3600 + local_now.minute * 60 + local_now.second) / 86400
        last_day = (
            (window.end.astimezone(zone).date() - timedelta(days=1)) if window.end else today + timedelta(365)
        )
        exhaustion = (
            today
            if spent >= limit
            else forecast.exhaustion_day(
                model,
                today=today,
                today_remaining=today_remaining,
                spent=spent,
                budget=limit,
                last_day=last_day,
            )
        )
        projected = (
            spent + forecast.project(model, today, today_remaining, last_day).value if window.end else None
        )
        return exhaustion, projected

    def _daily_spend(self, rule: Rule, first: date, until: date) -> dict[date, float]:
        """The rule's spend per local day in `[first, until)`, in its currency."""
        zone = rule.org.zone
        start = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(until, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        conditions = ["org_id = ?", "ts >= ?", "ts < ?"]
        params: list[Any] = [rule.org_id, start.replace(tzinfo=None), end.replace(tzinfo=None)]
        for dimension, value in rule.scope:
            conditions.append(f'"{DIMENSIONS[dimension]}" = ?')
            params.append(value)
        offset = f"INTERVAL '{int(now_offset(zone).total_seconds())} seconds'"
        rows = self.store.fetch(
            f"SELECT CAST(ts + {offset} AS DATE), sum(cost_usd) FROM events "
            f"WHERE {' AND '.join(conditions)} GROUP BY 1",
            params,
        )
        return {day: (cost or 0.0) * self._rate(rule.org, day) for day, cost in rows}

    # -- alerts ----------------------------------------------------------------------------------

    def _check_thresholds(self, rule: Rule, window: Window, before: int, after: int) -> None:
        if after <= before:
            return
        limit = self._effective_limit(rule, window)
        for threshold in rule.thresholds:
            line = to_micros(limit * threshold / 100.0)
            if before < line <= after:
                self._alerts.put(ThresholdCrossed(rule, threshold, window, after / MICROS, limit))

    def _alert_loop(self) -> None:
        while True:
            crossed = self._alerts.get()
            try:
                if crossed is None:
                    return
                self._raise_alert(crossed)
            except Exception:
                log.exception("could not record a budget alert")
            finally:
                self._alerts.task_done()

    def wait_idle(self) -> None:
        """Wait until every threshold crossing seen so far is recorded (and handed to listeners)."""
        self._alerts.join()

    def _raise_alert(self, crossed: ThresholdCrossed) -> None:
        rule = crossed.rule
        currency = rule.org.currency
        start = crossed.window.start.astimezone(rule.org.zone).date().isoformat()
        threshold = f"{crossed.threshold:g}%"
        alert = Alert(
            org_id=rule.org_id,
            kind="budget_threshold",
            severity="critical" if crossed.threshold >= 100 else "warning",
            budget_id=rule.id,
            threshold=crossed.threshold,
            dedupe_key=f"budget:{rule.id}:{crossed.window.key}:{crossed.threshold:g}",
            title=f"Budget '{rule.name}' reached {threshold}",
            message=(
                f"Budget '{rule.name}' has reached {threshold} of its "
                f"{_money(crossed.limit, currency)} limit "
                f"for the period starting {start}: {_money(crossed.spent, currency)} spent."
                + (" Further calls are blocked." if rule.block and crossed.threshold >= 100 else "")
            ),
            details={
                "budget_name": rule.name,
                "period": rule.period.value,
                "period_start": crossed.window.start.isoformat(),
                "period_end": crossed.window.end.isoformat() if crossed.window.end else None,
                "spent": round(crossed.spent, 6),
                "limit": crossed.limit,
                "currency": currency,
                "scope": dict(rule.scope),
                "action": "block" if rule.block else "alert",
            },
        )
        if self.record_alert(alert):
            for listener in self.alert_listeners:
                listener(alert, rule.channel_ids)

    def record_alert(self, alert: Alert) -> bool:
        """Store an alert unless one with its dedupe key exists; True if it is new."""
        try:
            with self.db.session() as session:
                session.add(alert)
                session.flush()
                session.expunge(alert)
        except IntegrityError:
            return False
        return True


def _internal(org_id: str, identifier: str) -> str:
    """Reservations and awaited events are kept per organisation: one cannot touch another's."""
    return f"{org_id}/{identifier}"


def now_offset(zone: ZoneInfo) -> timedelta:
    """The zone's current UTC offset (daily history is bucketed with it; DST days are ±1 h off)."""
    return datetime.now(zone).utcoffset() or timedelta(0)


def compile_rule(budget: Budget, org: Organization) -> Rule:
    """A stored budget, ready for the hot paths."""
    return Rule(
        id=budget.id,
        org_id=budget.org_id,
        name=budget.name,
        scope=tuple(sorted(budget.scope.items())),
        period=Period(budget.period),
        anchor=budget.starts_on,
        limit=float(budget.limit_amount),
        thresholds=tuple(sorted(float(t) for t in budget.thresholds)),
        block=budget.action == "block",
        rollover=bool(budget.rollover),
        channel_ids=tuple(budget.channel_ids or ()),
        org=OrgSettings(ZoneInfo(org.timezone), org.currency, org.fixed_fx_rate),
        version=hashlib.blake2b(
            repr(
                (sorted(budget.scope.items()), budget.period, budget.starts_on, org.currency, org.timezone)
            ).encode(),
            digest_size=6,
        ).hexdigest(),
    )
