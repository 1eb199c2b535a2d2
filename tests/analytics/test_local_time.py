"""Buckets and heatmap cells in the organisation's time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.analytics.helpers import get, set_org, store_events
from tests.conftest import Tenant
from tokenoptimizer.server.context import AppContext


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def berlin(context: AppContext, tenant: Tenant) -> Tenant:
    set_org(context, tenant, timezone="Europe/Berlin")
    return tenant


async def test_days_and_hours_when_clocks_go_back(
    client: httpx.AsyncClient, context: AppContext, berlin: Tenant
) -> None:
    # 25 Oct 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC; the day has 25 hours.
    store_events(
        context,
        berlin,
        [
            {"ts": utc(2026, 10, 24, 22, 30), "cost_usd": 1.0},  # 25 Oct 00:30 CEST (24 Oct in UTC)
            {"ts": utc(2026, 10, 25, 0, 30), "cost_usd": 2.0},  # 02:30 CEST, first time round
            {"ts": utc(2026, 10, 25, 1, 30), "cost_usd": 4.0},  # 02:30 CET, second time round
            {"ts": utc(2026, 10, 25, 22, 30), "cost_usd": 8.0},  # 25 Oct 23:30 CET
            {"ts": utc(2026, 10, 25, 23, 30), "cost_usd": 16.0},  # 26 Oct 00:30 CET
        ],
    )
    params = {"from": "2026-10-24", "to": "2026-10-26", "metric": "cost"}
    days = (await get(client, berlin, "timeseries", {**params, "interval": "day"}))["series"][0]["points"]
    assert [(p["start"], p["value"]) for p in days] == [
        ("2026-10-24T00:00:00+02:00", 0.0),
        ("2026-10-25T00:00:00+02:00", 15.0),
        ("2026-10-26T00:00:00+01:00", 16.0),
    ]
    hours = (await get(client, berlin, "timeseries", {**params, "interval": "hour"}))["series"][0]["points"]
    assert len(hours) == 24 + 25 + 24
    values = {p["start"]: p["value"] for p in hours}
    assert values["2026-10-25T00:00:00+02:00"] == 1.0
    assert values["2026-10-25T02:00:00+02:00"] == 2.0
    assert values["2026-10-25T02:00:00+01:00"] == 4.0
    assert values["2026-10-25T23:00:00+01:00"] == 8.0
    assert sum(values.values()) == 31.0
    summary = await get(client, berlin, "summary", {"from": "2026-10-25", "to": "2026-10-25"})
    assert summary["period"] == {"from": "2026-10-25T00:00:00+02:00", "to": "2026-10-26T00:00:00+01:00"}
    assert summary["cost_usd"] == 15.0


async def test_days_and_hours_when_clocks_go_forward(
    client: httpx.AsyncClient, context: AppContext, berlin: Tenant
) -> None:
    # 29 Mar 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC; the day has 23 hours.
    store_events(
        context,
        berlin,
        [
            {"ts": utc(2026, 3, 28, 23, 30)},  # 29 Mar 00:30 CET
            {"ts": utc(2026, 3, 29, 1, 30)},  # 03:30 CEST
            {"ts": utc(2026, 3, 29, 21, 30)},  # 23:30 CEST, still 29 Mar
            {"ts": utc(2026, 3, 29, 22, 30)},  # 30 Mar 00:30 CEST
        ],
    )
    params = {"from": "2026-03-28", "to": "2026-03-30", "metric": "requests"}
    days = (await get(client, berlin, "timeseries", {**params, "interval": "day"}))["series"][0]["points"]
    assert [(p["start"], p["value"]) for p in days] == [
        ("2026-03-28T00:00:00+01:00", 0),
        ("2026-03-29T00:00:00+01:00", 3),
        ("2026-03-30T00:00:00+02:00", 1),
    ]
    hours = (await get(client, berlin, "timeseries", {**params, "interval": "hour"}))["series"][0]["points"]
    assert len(hours) == 24 + 23 + 24
    starts = [p["start"] for p in hours]
    assert "2026-03-29T01:00:00+01:00" in starts and "2026-03-29T03:00:00+02:00" in starts
    assert not any(s.startswith("2026-03-29T02:") for s in starts)
    assert {p["start"]: p["value"] for p in hours}["2026-03-29T03:00:00+02:00"] == 1
    week = (await get(client, berlin, "timeseries", {**params, "interval": "week"}))["series"][0]["points"]
    assert [(p["start"], p["value"]) for p in week] == [
        ("2026-03-23T00:00:00+01:00", 3),
        ("2026-03-30T00:00:00+02:00", 1),
    ]


async def test_heatmap_in_local_time(client: httpx.AsyncClient, context: AppContext, berlin: Tenant) -> None:
    set_org(context, berlin, currency="EUR", fixed_fx_rate=2.0)
    store_events(
        context,
        berlin,
        [
            {"ts": utc(2026, 10, 5, 8, 30), "cost_usd": 1.0},  # Monday 10:30 CEST
            {"ts": utc(2026, 10, 12, 8, 59), "cost_usd": 0.5},  # Monday 10:59 CEST
            {"ts": utc(2026, 10, 24, 22, 30), "cost_usd": 3.0},  # Sunday 25 Oct 00:30 CEST (Saturday UTC)
            {"ts": utc(2026, 10, 26, 9, 30), "cost_usd": 4.0},  # Monday 10:30 CET (09:30 UTC)
        ],
    )
    period = {"from": "2026-10-01", "to": "2026-10-31"}
    requests = await get(client, berlin, "heatmap", period)
    assert len(requests["cells"]) == 7 * 24
    counts = {(c["weekday"], c["hour"]): c["value"] for c in requests["cells"] if c["value"]}
    assert counts == {(1, 10): 3, (7, 0): 1}
    cost = await get(client, berlin, "heatmap", {**period, "metric": "cost"})
    values = {(c["weekday"], c["hour"]): c["value"] for c in cost["cells"] if c["value"]}
    assert values == {(1, 10): pytest.approx(11.0), (7, 0): pytest.approx(6.0)}  # EUR at 2 per USD
    assert cost["timezone"] == "Europe/Berlin" and cost["currency"] == "EUR"


async def test_default_period_is_the_last_30_local_days(
    client: httpx.AsyncClient, context: AppContext, berlin: Tenant
) -> None:
    body = await get(client, berlin, "summary")
    start = datetime.fromisoformat(body["period"]["from"])
    end = datetime.fromisoformat(body["period"]["to"])
    assert (start.hour, start.minute, end.hour, end.minute) == (0, 0, 0, 0)  # local midnights
    assert round((end - start).total_seconds() / 86400) == 30
    assert start <= datetime.now(UTC) < end
