"""Budget periods: calendar-aligned windows in the organisation's time zone.

A period is `[start, end)` in UTC, computed from local calendar boundaries, so a monthly budget in
Europe/Berlin resets at local midnight on the 1st whatever the UTC offset (DST included). An
optional anchor shifts the boundary: a monthly budget anchored on the 15th runs 15th to 15th (on
months too short for the anchor day it starts on the month's last day), a weekly one anchored on a
Wednesday runs Wednesday to Wednesday; before its anchor a budget has no period. `total` runs from
the anchor (or the beginning of time) for ever.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Period(StrEnum):
    """How often a budget resets."""

    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    total = "total"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """One period of a budget, in UTC; `end` is None for `total`."""

    start: datetime
    end: datetime | None

    def contains(self, instant: datetime) -> bool:
        """Whether `instant` (aware) falls in the window."""
        return self.start <= instant and (self.end is None or instant < self.end)

    @property
    def key(self) -> str:
        """A stable identifier of the window (its start as a UTC timestamp)."""
        return str(int(self.start.timestamp()))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _month_start(year: int, month: int, anchor_day: int) -> date:
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def window_at(instant: datetime, period: Period, zone: ZoneInfo, anchor: date | None = None) -> Window | None:
    """The period containing `instant` (aware), or None before the budget's anchor."""
    if anchor is not None and instant < _midnight(anchor, zone):
        return None
    if period is Period.total:
        return Window(_midnight(anchor, zone) if anchor else EPOCH, None)
    local = instant.astimezone(zone).date()
    if period is Period.day:
        return Window(_midnight(local, zone), _midnight(local + timedelta(days=1), zone))
    if period is Period.week:
        first_weekday = anchor.weekday() if anchor else 0  # Monday unless anchored
        start = local - timedelta(days=(local.weekday() - first_weekday) % 7)
        return Window(_midnight(start, zone), _midnight(start + timedelta(days=7), zone))
    months = 1 if period is Period.month else 3
    anchor_day = anchor.day if anchor else 1
    if period is Period.quarter:
        anchor_month = anchor.month if anchor else 1
        offset = (local.month - anchor_month) % 3
        year, month = _add_months(local.year, local.month, -offset)
    else:
        year, month = local.year, local.month
    start = _month_start(year, month, anchor_day)
    if start > local:  # before this month's anchor day: the period began a cycle earlier
        year, month = _add_months(year, month, -months)
        start = _month_start(year, month, anchor_day)
    next_year, next_month = _add_months(year, month, months)
    end = _month_start(next_year, next_month, anchor_day)
    return Window(_midnight(start, zone), _midnight(end, zone))


def previous_window(
    window: Window, period: Period, zone: ZoneInfo, anchor: date | None = None
) -> Window | None:
    """The period before `window` (None for `total` or before the anchor)."""
    if period is Period.total:
        return None
    return window_at(window.start - timedelta(seconds=1), period, zone, anchor)
