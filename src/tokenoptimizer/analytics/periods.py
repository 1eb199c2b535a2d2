"""Time in the organisation's zone: periods, UTC-offset changes and zero-filled buckets.

Pure functions over `datetime` and `zoneinfo`. A period is `[start, end)` in aware UTC. Buckets are
labelled by their local start (an aware datetime in the organisation's zone), so a day is the
organisation's day even when daylight saving makes it 23 or 25 hours long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tokenoptimizer.analytics.queries import Interval, LocalTime

DEFAULT_DAYS = 30
MAX_HOURLY_DAYS = 400


@dataclass(frozen=True)
class Period:
    """`[start, end)` in aware UTC."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """How long the period lasts."""
        return self.end - self.start

    def previous(self) -> Period:
        """The period of equal length that ends where this one starts."""
        return Period(self.start - self.length, self.start)

    def naive(self) -> tuple[datetime, datetime]:
        """Start and end as naive UTC, like the stored `ts`."""
        return naive_utc(self.start), naive_utc(self.end)


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (aware UTC)."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def resolve_bound(value: date | datetime, zone: ZoneInfo, *, is_end: bool) -> datetime:
    """A query bound as aware UTC.

    A date means the local day: `from` is its start, `to` its end (so `to=2026-03-31` includes the
    31st). A datetime without offset is local time; with an offset, that instant.
    """
    if not isinstance(value, datetime):
        return local_midnight(value + timedelta(days=1) if is_end else value, zone)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def default_period(zone: ZoneInfo, now: datetime, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` whole local days, today included."""
    today = now.astimezone(zone).date()
    return Period(
        local_midnight(today - timedelta(days=days - 1), zone),
        local_midnight(today + timedelta(days=1), zone),
    )


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    offset = instant.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_time(zone: ZoneInfo, start: datetime, end: datetime) -> LocalTime:
    """The zone's UTC offsets between two instants, and the instants where they change.

    Offsets change at most a few times a year, so the period is sampled every 12 hours and each
    change is then found to the second by bisection.
    """
    offsets = [_offset(zone, start)]
    changes: list[datetime] = []
    step = timedelta(hours=12)
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        offset = _offset(zone, following)
        if offset != offsets[-1]:
            low, high = cursor, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            changes.append(naive_utc(high).replace(microsecond=0))
            offsets.append(offset)
        cursor = following
    return LocalTime(offsets=tuple(offsets), changes=tuple(changes))


def truncate_local(instant: datetime, zone: ZoneInfo, interval: Interval) -> datetime:
    """The local start (aware, in `zone`) of the bucket holding `instant`."""
    local = instant.astimezone(zone)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return datetime.combine(day, time(), zone)


def _next_local(bucket: datetime, zone: ZoneInfo, interval: Interval) -> datetime:
    day = bucket.date()
    if interval == "day":
        day += timedelta(days=1)
    elif interval == "week":
        day += timedelta(days=7)
    else:
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(day, time(), zone)


def bucket_starts(period: Period, zone: ZoneInfo, interval: Interval) -> list[datetime]:
    """Every bucket that overlaps the period, by start instant (aware UTC), in order.

    Instants, not local times, identify buckets: two local times of the repeated hour when clocks
    go back compare equal in Python, though they are an hour apart.
    """
    starts = []
    bucket = truncate_local(period.start, zone, interval)
    if interval == "hour":  # local hours start on UTC hour steps (offsets change by whole hours)
        instant = bucket.astimezone(UTC)
        while instant < period.end:
            starts.append(instant)
            instant += timedelta(hours=1)
        return starts
    while (instant := bucket.astimezone(UTC)) < period.end:
        starts.append(instant)
        bucket = _next_local(bucket, zone, interval)
    return starts


def bucket_key(label: datetime, offset_seconds: int | None, zone: ZoneInfo) -> datetime:
    """The bucket start instant (aware UTC) of a query row's naive local label.

    Hourly rows carry the UTC offset, which tells the two hours apart when clocks go back.
    """
    if offset_seconds is not None:
        return (label - timedelta(seconds=offset_seconds)).replace(tzinfo=UTC)
    return label.replace(tzinfo=zone).astimezone(UTC)
