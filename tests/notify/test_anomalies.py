"""Spend-spike and error-rate alerts: seeded events, a fixed `now`, real delivery to a receiver."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.notify.receivers import HttpReceiver
from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.anomalies import (
    AnomalyMonitor,
    AnomalyThresholds,
    check_anomalies,
    robust_baseline,
    spike_baseline,
)
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.usage.stores import events_table

NOW = datetime(2026, 11, 23, 15, 5, tzinfo=UTC)
LAST_HOUR = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SECRET = "whsec_anomalies_0123456789"


def seed(context: AppContext, tenant: Tenant, rows: list[tuple[datetime, float, str]]) -> None:
    """Store events (time, cost in USD, status) for the tenant."""
    columns: dict[str, list[Any]] = {
        "event_id": [str(uuid.uuid4()) for _ in rows],
        "ts": [ts for ts, _cost, _status in rows],
        "cost_usd": [cost for _ts, cost, _status in rows],
        "status": [status for _ts, _cost, status in rows],
    }
    n = len(rows)
    columns.update(
        {
            "org_id": [tenant.org_id] * n,
            "project_id": [tenant.project_id] * n,
            "provider": ["openai"] * n,
            "model": ["gpt-4o"] * n,
            "request_type": ["chat"] * n,
            "price_source": ["test"] * n,
            "source": ["test"] * n,
            "ingested_at": [datetime.now(UTC)] * n,
        }
    )
    assert context.store.append(events_table(columns)).accepted == n


async def subscribe(client: httpx.AsyncClient, admin: dict[str, str], url: str, kinds: list[str]) -> None:
    body = {
        "name": f"Receives {', '.join(kinds) or 'nothing'}",
        "kind": "webhook",
        "config": {"url": url, "signing_secret": SECRET},
        "alert_kinds": kinds,
    }
    assert (await client.post("/api/v1/channels", json=body, headers=admin)).status_code == 201


def test_median_and_mad_ignore_one_earlier_outlier() -> None:
    thresholds = AnomalyThresholds()
    history = [10.0] * 13 + [1000.0]  # one earlier spike
    assert robust_baseline(history).median == 10.0 and robust_baseline(history).mad == 0.0
    assert spike_baseline(30.0, history, thresholds, minimum=5.0) is not None  # a mean+3σ rule misses it
    assert spike_baseline(15.0, history, thresholds, minimum=5.0) is None  # not twice the usual
    noisy = [5.0, 15.0] * 7  # median 10, MAD 5: the limit is 10 + 4·1.4826·5 ≈ 39.7
    assert spike_baseline(35.0, noisy, thresholds, minimum=5.0) is None
    assert spike_baseline(45.0, noisy, thresholds, minimum=5.0) is not None
    assert spike_baseline(3.0, [0.01] * 14, thresholds, minimum=5.0) is None  # cents are never paged


async def test_an_hours_spend_spike_raises_one_alert_and_reaches_subscribed_channels(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    # The same hour (14:00 UTC) cost $1–$1.20 on each of the previous 14 days; today it cost $30.
    history = [(LAST_HOUR - timedelta(days=d, minutes=-20), 1.0 + 0.1 * (d % 3), "ok") for d in range(1, 15)]
    seed(context, tenant, [*history, (LAST_HOUR + timedelta(minutes=10), 12.0, "ok")])
    seed(context, tenant, [(LAST_HOUR + timedelta(minutes=40), 18.0, "ok")])
    with HttpReceiver() as spikes, HttpReceiver() as budgets_only:
        await subscribe(client, admin, spikes.url, ["spend_spike", "error_rate"])
        await subscribe(client, admin, budgets_only.url, ["budget_threshold"])

        (alert,) = check_anomalies(context.budgets, now=NOW)
        assert alert.kind == "spend_spike" and alert.dedupe_key == "spike:hour:2026-11-23T14"
        assert alert.details["spend_usd"] == pytest.approx(30.0)
        assert alert.details["baseline_median_usd"] == pytest.approx(1.1)
        assert alert.severity == "critical"  # ≥ 5× the usual
        assert check_anomalies(context.budgets, now=NOW + timedelta(minutes=5)) == []  # not twice
        await asyncio.to_thread(context.notifier.wait_idle, 30)

        (request,) = spikes.requests
        body = json.loads(request.body)
        assert body["kind"] == "spend_spike" and body["title"] == "Spend spike: $30.00 in one hour"
        assert "27.3× its usual $1.10" in body["message"]
        assert budgets_only.requests == []
    listed = (await client.get("/api/v1/alerts", params={"kind": "spend_spike"}, headers=admin)).json()
    assert [a["id"] for a in listed["alerts"]] == [alert.id]


async def test_a_days_spike_is_counted_in_the_organisations_time_zone(
    context: AppContext, tenant: Tenant, admin: dict[str, str], client: httpx.AsyncClient
) -> None:
    with context.db.session() as session:
        org = session.get(Organization, tenant.org_id)
        assert org is not None
        org.timezone = "America/New_York"
    # Every day $40 at 12:00 UTC (07:00 in New York); on Nov 22 (New York) $300 at 03:00 UTC on
    # Nov 23, which is still Nov 22 in New York (22:00): the UTC day would put it on the 23rd.
    days = [(datetime(2026, 11, 22, 12, tzinfo=UTC) - timedelta(days=d), 40.0, "ok") for d in range(16)]
    seed(context, tenant, [*days, (datetime(2026, 11, 23, 3, tzinfo=UTC), 300.0, "ok")])
    (alert,) = check_anomalies(context.budgets, now=NOW)
    assert alert.dedupe_key == "spike:day:2026-11-22"
    assert alert.details["spend_usd"] == pytest.approx(340.0)
    assert alert.details["baseline_median_usd"] == pytest.approx(40.0)
    assert alert.details["timezone"] == "America/New_York"
    assert "(America/New_York)" in alert.message
    assert check_anomalies(context.budgets, now=NOW + timedelta(hours=2)) == []


async def test_small_or_new_organisations_are_not_paged(
    context: AppContext, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Tiny: cents every day, then $3 — a 300× jump, but under the $5 floor.
    tiny = [(LAST_HOUR - timedelta(days=d), 0.01, "ok") for d in range(1, 15)]
    seed(context, tenant, [*tiny, (LAST_HOUR + timedelta(minutes=5), 3.0, "ok")])
    # New: its first events ever, this morning.
    seed(context, other_tenant, [(LAST_HOUR - timedelta(hours=h), 60.0, "ok") for h in range(3)])
    assert check_anomalies(context.budgets, now=NOW) == []


async def test_an_error_rate_surge_raises_one_alert(
    context: AppContext, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Acme: 6 calls an hour for 3 days, one failing in every fourth hour; then 12 of 30 fail.
    hours = [LAST_HOUR - timedelta(hours=h) for h in range(1, 73)]
    usual = [
        (hour, 0.01, "error" if i % 4 == 0 and c == 0 else "ok")
        for i, hour in enumerate(hours)
        for c in range(6)
    ]
    surge = [(LAST_HOUR + timedelta(minutes=m), 0.01, "error" if m < 12 else "ok") for m in range(30)]
    seed(context, tenant, usual + surge)
    # Globex usually fails 30% of its calls, and did 40% in the last hour: not far from its usual.
    noisy = [(hour, 0.01, "error" if c < 3 else "ok") for hour in hours for c in range(10)]
    recent = [(LAST_HOUR + timedelta(minutes=m), 0.01, "error" if m < 12 else "ok") for m in range(30)]
    seed(context, other_tenant, noisy + recent)

    (alert,) = check_anomalies(context.budgets, now=NOW)
    assert alert.org_id == tenant.org_id and alert.kind == "error_rate"
    assert alert.dedupe_key == "error_rate:hour:2026-11-23T14"
    assert alert.details["requests"] == 30 and alert.details["errors"] == 12
    assert alert.details["baseline_median_rate"] == 0.0
    assert alert.title == "Error rate 40% in the last hour"
    assert check_anomalies(context.budgets, now=NOW + timedelta(minutes=30)) == []


async def test_too_few_calls_never_raise_an_error_rate_alert(context: AppContext, tenant: Tenant) -> None:
    seed(context, tenant, [(LAST_HOUR + timedelta(minutes=m), 0.0, "error") for m in range(10)])
    assert check_anomalies(context.budgets, now=NOW) == []


async def test_the_monitor_runs_the_checks_on_its_schedule(
    context: AppContext, tenant: Tenant, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    rows: list[tuple[datetime, float, str]] = []
    # Spike the last complete hour and the current one (in case the clock turns during the test).
    for hour in (now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in (0, 1)):
        rows += [(hour - timedelta(days=d), 1.0, "ok") for d in range(1, 15)]
        rows.append((hour + timedelta(seconds=1), 50.0, "ok"))
    seed(context, tenant, [r for r in rows if r[0] <= now])
    monitor = AnomalyMonitor(context.budgets, interval=0.2)
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = (
                await client.get("/api/v1/alerts", params={"kind": "spend_spike"}, headers=admin)
            ).json()
            if listed["alerts"]:
                break
            await asyncio.sleep(0.1)
        assert listed["alerts"] and listed["alerts"][0]["details"]["window"] == "hour"
    finally:
        monitor.close()
        monitor.close()  # harmless twice
