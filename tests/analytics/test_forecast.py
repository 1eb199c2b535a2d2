"""The spend forecast: the pure model, and the endpoint on a weekly-seasonal history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tests.analytics.helpers import get, store_events
from tests.conftest import Tenant
from tokenoptimizer.analytics import forecast
from tokenoptimizer.server.context import AppContext

WEEK = [10.0, 12.0, 11.0, 13.0, 9.0, 2.0, 1.0]  # Monday … Sunday


def test_a_weekly_pattern_is_projected_by_weekday_not_as_a_line() -> None:
    first = date(2026, 9, 7)  # a Monday
    values = [WEEK[i % 7] for i in range(56)]
    model = forecast.fit(first, values)
    assert model.slope == pytest.approx(0.0, abs=1e-9)
    assert model.sigma == pytest.approx(0.0, abs=1e-9)
    for offset in range(14):
        day = date(2026, 11, 2) + timedelta(days=offset)
        assert model.mean(day) == pytest.approx(WEEK[day.weekday()])
    # Saturday morning, a quarter of the day gone: 0.75 × Saturday + Sunday.
    ahead = forecast.project(model, date(2026, 11, 7), 0.75, date(2026, 11, 8))
    assert ahead.value == pytest.approx(0.75 * 2.0 + 1.0)
    assert ahead.half_width == pytest.approx(0.0, abs=1e-9)


def test_growth_is_followed_and_noise_widens_the_interval() -> None:
    first = date(2026, 9, 7)
    growing = [(100 + 2 * i) * (1.5 if i % 7 < 5 else 0.25) for i in range(56)]
    model = forecast.fit(first, growing)
    # Deseasonalised, the level grows by 2 × the mean weekday factor (8/7) per day.
    assert model.slope == pytest.approx(2.0 * 8 / 7, rel=0.02)
    # The next week follows the pattern, where a straight line would be off by 35 % to 260 %.
    for i in range(56, 63):
        truth = (100 + 2 * i) * (1.5 if i % 7 < 5 else 0.25)
        assert model.mean(first + timedelta(days=i)) == pytest.approx(truth, rel=0.02)
    noisy = [v * (1.1 if i % 2 else 0.9) for i, v in enumerate(growing)]
    assert forecast.fit(first, noisy).sigma > 0
    wide = forecast.project(forecast.fit(first, noisy), date(2026, 11, 2), 1.0, date(2026, 11, 8))
    assert wide.half_width > 0


def test_budget_exhaustion_day() -> None:
    model = forecast.fit(date(2026, 9, 7), [WEEK[i % 7] for i in range(56)])
    # Monday 2 Nov, from midnight: spent 5; +10 (Mon) = 15, +12 (Tue) = 27, +11 (Wed) = 38.
    kwargs = {
        "today": date(2026, 11, 2),
        "today_remaining": 1.0,
        "spent": 5.0,
        "last_day": date(2026, 11, 30),
    }
    assert forecast.exhaustion_day(model, budget=30.0, **kwargs) == date(2026, 11, 4)
    assert forecast.exhaustion_day(model, budget=10_000.0, **kwargs) is None


async def test_forecast_endpoint(client: httpx.AsyncClient, context: AppContext, tenant: Tenant) -> None:
    today = datetime.now(UTC).date()
    rows = []
    for back in range(1, 57):  # eight complete weeks before today, one call at noon each day
        day = today - timedelta(days=back)
        rows.append(
            {"ts": datetime(day.year, day.month, day.day, 12, tzinfo=UTC), "cost_usd": WEEK[day.weekday()]}
        )
    store_events(context, tenant, rows)

    body = await get(client, tenant, "forecast", {"budget": 1_000_000})
    as_of = datetime.fromisoformat(body["as_of"])
    remaining = 1 - (as_of - datetime(today.year, today.month, today.day, tzinfo=UTC)) / timedelta(days=1)

    week_start = today - timedelta(days=today.weekday())
    actual = sum(WEEK[(week_start + timedelta(days=i)).weekday()] for i in range((today - week_start).days))
    ahead = remaining * WEEK[today.weekday()] + sum(WEEK[w] for w in range(today.weekday() + 1, 7))
    week = body["week"]
    assert week["start"] == week_start.isoformat()
    assert week["actual"] == pytest.approx(actual)
    assert week["projected"] == pytest.approx(actual + ahead, rel=1e-6)
    assert week["low"] <= week["projected"] <= week["high"]

    month_start = today.replace(day=1)
    month_actual = sum(
        WEEK[(month_start + timedelta(days=i)).weekday()] for i in range((today - month_start).days)
    )
    assert body["month"]["actual"] == pytest.approx(month_actual)
    assert body["month"]["projected"] >= body["month"]["actual"]
    assert body["daily"][0]["date"] == today.isoformat()
    assert body["budget"]["exhausted_on"] is None and body["budget"]["already_exhausted"] is False

    tight = await get(
        client, tenant, "forecast", {"budget": month_actual + WEEK[today.weekday()] * remaining / 2}
    )
    expected = today if month_actual + remaining * WEEK[today.weekday()] > 0 else None
    assert tight["budget"]["exhausted_on"] == (expected.isoformat() if expected else None)
