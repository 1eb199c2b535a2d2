"""Spend spikes and error-rate surges: alerts that need no budget.

Every few minutes (`AnomalyMonitor`, in the server process) the last complete hour and the last
complete day of every organisation with recent events are compared with their own recent past:

* **spend spike, hour**: the hour's cost against the same hour of each of the previous 14 days
  (usage follows the clock: 3 a.m. is compared with 3 a.m.);
* **spend spike, day**: the day's cost (in the organisation's time zone) against the previous 14 days;
* **error rate**: the hour's share of failed calls against the hourly rates of the previous 7 days.

The baseline is the **median** and the spread the **median absolute deviation** (MAD, scaled by
1.4826 to match a standard deviation for normal data): one earlier outage or one spike moves
neither, unlike a mean and standard deviation. A value is anomalous when it is above
`median + k·1.4826·MAD` *and* at least `min_ratio` times the median *and* above an absolute
floor, so a steady org is not paged for noise and a tiny one not for cents. Spend spikes also need
7 days of history: a new organisation's first busy day is not a spike.

Alerts are stored through `BudgetService.record_alert`, whose dedupe key (`spike:hour:2026-11-23T14`,
`spike:day:2026-11-22`, `error_rate:hour:2026-11-23T14`) makes a check idempotent: it runs many
times per hour, in one process or several, and raises each alert once. New alerts go to the
budgets' alert listeners (the notifier), with no channels of their own: they reach the channels
subscribed to their kind.

Costs are compared in USD (the events' `cost_usd`). Hours are UTC hours; in a time zone that is
not a whole number of hours from UTC, a local day is counted from the UTC hour its midnight falls in.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.models import Alert
from tokenoptimizer.budgets.service import BudgetService

log = logging.getLogger(__name__)

MAD_TO_SIGMA = 1.4826
MIN_HISTORY = timedelta(days=7)
MIN_BASELINE_REQUESTS = 5
"""An hour with fewer calls says too little about the usual error rate to be part of the baseline."""


@dataclass(frozen=True)
class AnomalyThresholds:
    """How far above its baseline a value must be to raise an alert."""

    sensitivity: float = 4.0
    """k: robust standard deviations (1.4826·MAD) above the median."""
    min_ratio: float = 2.0
    """The value must also be at least this many times the median."""
    spike_min_hour_usd: float = 5.0
    """An hour costing less is never a spike."""
    spike_min_day_usd: float = 25.0
    """A day costing less is never a spike."""
    spike_history_days: int = 14
    error_min_requests: int = 20
    """An hour with fewer calls never raises an error-rate alert."""
    error_min_rate: float = 0.10
    """An error rate below this (10%) never raises an alert."""
    error_history_days: int = 7


@dataclass(frozen=True)
class HourStats:
    """One organisation's calls in one hour."""

    cost: float = 0.0
    requests: int = 0
    errors: int = 0


_EMPTY = HourStats()


@dataclass(frozen=True)
class Baseline:
    """The usual value: median and median absolute deviation of the history."""

    median: float
    mad: float

    def limit(self, thresholds: AnomalyThresholds) -> float:
        """The value above which something is anomalous (before the absolute floor)."""
        return max(
            self.median * thresholds.min_ratio,
            self.median + thresholds.sensitivity * MAD_TO_SIGMA * self.mad,
        )


def robust_baseline(history: Sequence[float]) -> Baseline:
    """Median and MAD of the history (zeros for none)."""
    if not history:
        return Baseline(0.0, 0.0)
    median = statistics.median(history)
    return Baseline(median, statistics.median(abs(value - median) for value in history))


def spike_baseline(
    value: float, history: Sequence[float], thresholds: AnomalyThresholds, minimum: float
) -> Baseline | None:
    """The baseline `value` is a spike above, or None when it is not one."""
    if value < minimum:
        return None
    baseline = robust_baseline(history)
    return baseline if value > baseline.limit(thresholds) else None


# -- the checks of one organisation --------------------------------------------------------------


def _hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H")


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _times(value: float, median: float) -> str:
    return f"{value / median:,.1f}× its usual {_usd(median)}" if median > 0 else f"usually {_usd(0)}"


def _severity(value: float, baseline: Baseline, minimum: float) -> str:
    """Critical at five times the usual spend (or five times the floor, for an org usually at 0)."""
    return "critical" if value >= 5 * max(baseline.median, minimum) else "warning"


def _has_history(hours: Mapping[datetime, HourStats], before: datetime) -> bool:
    return any(hour <= before - MIN_HISTORY for hour in hours)


def hourly_spike(
    org_id: str, hours: Mapping[datetime, HourStats], hour: datetime, thresholds: AnomalyThresholds
) -> Alert | None:
    """A spend spike alert for `hour` (a UTC hour start), or None."""
    current = hours.get(hour, _EMPTY).cost
    if not _has_history(hours, hour):
        return None
    days = thresholds.spike_history_days
    history = [hours.get(hour - timedelta(days=d), _EMPTY).cost for d in range(1, days + 1)]
    baseline = spike_baseline(current, history, thresholds, thresholds.spike_min_hour_usd)
    if baseline is None:
        return None
    end = hour + timedelta(hours=1)
    return Alert(
        org_id=org_id,
        kind="spend_spike",
        severity=_severity(current, baseline, thresholds.spike_min_hour_usd),
        dedupe_key=f"spike:hour:{_hour_key(hour)}",
        title=f"Spend spike: {_usd(current)} in one hour",
        message=(
            f"Spend from {hour:%H:%M} to {end:%H:%M} UTC on {hour:%Y-%m-%d} was {_usd(current)}, "
            f"{_times(current, baseline.median)} (median of the same hour over the previous {days} days)."
        ),
        details={
            "window": "hour",
            "period_start": hour.isoformat(),
            "period_end": end.isoformat(),
            "spend_usd": round(current, 6),
            "baseline_median_usd": round(baseline.median, 6),
            "baseline_mad_usd": round(baseline.mad, 6),
            "threshold_usd": round(max(baseline.limit(thresholds), thresholds.spike_min_hour_usd), 6),
            "history_days": days,
        },
    )


def _local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def _day_cost(hours: Mapping[datetime, HourStats], day: date, zone: ZoneInfo) -> float:
    start, end = _local_day_bounds(day, zone)
    return sum(stats.cost for hour, stats in hours.items() if start <= hour < end)


def daily_spike(
    org_id: str,
    hours: Mapping[datetime, HourStats],
    day: date,
    zone: ZoneInfo,
    thresholds: AnomalyThresholds,
) -> Alert | None:
    """A spend spike alert for the local `day`, or None."""
    start, end = _local_day_bounds(day, zone)
    if not _has_history(hours, start):
        return None
    current = _day_cost(hours, day, zone)
    days = thresholds.spike_history_days
    history = [_day_cost(hours, day - timedelta(days=d), zone) for d in range(1, days + 1)]
    baseline = spike_baseline(current, history, thresholds, thresholds.spike_min_day_usd)
    if baseline is None:
        return None
    return Alert(
        org_id=org_id,
        kind="spend_spike",
        severity=_severity(current, baseline, thresholds.spike_min_day_usd),
        dedupe_key=f"spike:day:{day.isoformat()}",
        title=f"Spend spike: {_usd(current)} on {day.isoformat()}",
        message=(
            f"Spend on {day.isoformat()} ({zone.key}) was {_usd(current)}, "
            f"{_times(current, baseline.median)} (median of the previous {days} days)."
        ),
        details={
            "window": "day",
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "timezone": zone.key,
            "spend_usd": round(current, 6),
            "baseline_median_usd": round(baseline.median, 6),
            "baseline_mad_usd": round(baseline.mad, 6),
            "threshold_usd": round(max(baseline.limit(thresholds), thresholds.spike_min_day_usd), 6),
            "history_days": days,
        },
    )


def error_rate_surge(
    org_id: str, hours: Mapping[datetime, HourStats], hour: datetime, thresholds: AnomalyThresholds
) -> Alert | None:
    """An error-rate alert for `hour` (a UTC hour start), or None."""
    current = hours.get(hour, _EMPTY)
    if current.requests < thresholds.error_min_requests:
        return None
    rate = current.errors / current.requests
    first = hour - timedelta(days=thresholds.error_history_days)
    history = [
        stats.errors / stats.requests
        for start, stats in hours.items()
        if first <= start < hour and stats.requests >= MIN_BASELINE_REQUESTS
    ]
    baseline = spike_baseline(rate, history, thresholds, thresholds.error_min_rate)
    if baseline is None:
        return None
    end = hour + timedelta(hours=1)
    return Alert(
        org_id=org_id,
        kind="error_rate",
        severity="critical" if rate >= 0.5 else "warning",
        dedupe_key=f"error_rate:hour:{_hour_key(hour)}",
        title=f"Error rate {rate:.0%} in the last hour",
        message=(
            f"{current.errors} of {current.requests} calls failed from {hour:%H:%M} to {end:%H:%M} UTC "
            f"on {hour:%Y-%m-%d} ({rate:.1%}); the usual hourly error rate over the previous "
            f"{thresholds.error_history_days} days is {baseline.median:.1%}."
        ),
        details={
            "window": "hour",
            "period_start": hour.isoformat(),
            "period_end": end.isoformat(),
            "requests": current.requests,
            "errors": current.errors,
            "error_rate": round(rate, 6),
            "baseline_median_rate": round(baseline.median, 6),
            "baseline_mad_rate": round(baseline.mad, 6),
            "history_hours": len(history),
        },
    )


def org_anomalies(
    org_id: str,
    zone: ZoneInfo,
    hours: Mapping[datetime, HourStats],
    now: datetime,
    thresholds: AnomalyThresholds,
) -> list[Alert]:
    """Every anomaly of one organisation's last complete hour and day (alerts not stored yet)."""
    last_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    found = (
        hourly_spike(org_id, hours, last_hour, thresholds),
        daily_spike(org_id, hours, yesterday, zone, thresholds),
        error_rate_surge(org_id, hours, last_hour, thresholds),
    )
    return [alert for alert in found if alert is not None]


# -- running the checks --------------------------------------------------------------------------


def hourly_series(
    budgets: BudgetService, start: datetime, end: datetime
) -> dict[str, dict[datetime, HourStats]]:
    """Cost, calls and errors per organisation and UTC hour in [start, end)."""
    rows = budgets.store.fetch(
        "SELECT org_id, date_trunc('hour', ts) AS hour, sum(cost_usd), count(*), "
        "sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) "
        "FROM events WHERE ts >= ? AND ts < ? GROUP BY 1, 2",
        [start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None)],
    )
    series: dict[str, dict[datetime, HourStats]] = {}
    for org_id, hour, cost, requests, errors in rows:
        series.setdefault(org_id, {})[hour.replace(tzinfo=UTC)] = HourStats(
            float(cost or 0.0), int(requests), int(errors or 0)
        )
    return series


def _zones(budgets: BudgetService, org_ids: Iterable[str]) -> dict[str, ZoneInfo]:
    with budgets.db.session() as session:
        rows = session.execute(
            select(Organization.id, Organization.timezone).where(Organization.id.in_(list(org_ids)))
        ).all()
    return {org_id: ZoneInfo(timezone) for org_id, timezone in rows}


def check_anomalies(
    budgets: BudgetService, thresholds: AnomalyThresholds | None = None, *, now: datetime | None = None
) -> list[Alert]:
    """Run every check for every organisation; store and publish new alerts, and return them."""
    thresholds = thresholds or AnomalyThresholds()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    end = now.replace(minute=0, second=0, microsecond=0)
    days = max(thresholds.spike_history_days, thresholds.error_history_days) + 2  # + a local day's offset
    series = hourly_series(budgets, end - timedelta(days=days), end)
    if not series:
        return []
    zones = _zones(budgets, series)
    raised: list[Alert] = []
    for org_id, hours in series.items():
        zone = zones.get(org_id)
        if zone is None:
            continue  # events of a deleted organisation
        for alert in org_anomalies(org_id, zone, hours, now, thresholds):
            if budgets.record_alert(alert):
                raised.append(alert)
                _publish(budgets, alert)
    return raised


def _publish(budgets: BudgetService, alert: Alert) -> None:
    for listener in budgets.alert_listeners:
        try:
            listener(alert, ())
        except Exception:
            log.exception("an alert listener failed")


class AnomalyMonitor:
    """Runs `check_anomalies` every `interval` seconds in a background scheduler thread."""

    def __init__(
        self, budgets: BudgetService, thresholds: AnomalyThresholds | None = None, *, interval: float = 300.0
    ) -> None:
        self.budgets = budgets
        self.thresholds = thresholds or AnomalyThresholds()
        self.interval = interval
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        """Schedule the checks (the first one `interval` seconds from now); no-op when interval ≤ 0."""
        if self.interval <= 0 or self._scheduler is not None:
            return
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self.check,
            "interval",
            seconds=self.interval,
            id="anomaly-checks",
            max_instances=1,
            coalesce=True,
        )
        scheduler.start()
        self._scheduler = scheduler

    def check(self, now: datetime | None = None) -> list[Alert]:
        """Run the checks once (the scheduled job); failures are logged, never raised."""
        try:
            return check_anomalies(self.budgets, self.thresholds, now=now)
        except Exception:
            log.exception("anomaly checks failed")
            return []

    def close(self) -> None:
        """Stop the scheduler, waiting for a running check; harmless twice."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
