"""Budgets through the API: validation, accounting on ingest, status, periods, restarts, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.budgets.conftest import create_budget, dollars, spend
from tests.conftest import Tenant
from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.models import Budget
from tokenoptimizer.budgets.periods import Period, window_at
from tokenoptimizer.budgets.service import compile_rule
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")


async def test_create_validates_every_field(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant
) -> None:
    cases = [
        ({"limit": 0}, ["body", "limit"]),
        ({"period": "fortnight"}, ["body", "period"]),
        ({"scope": {"planet": "mars"}}, ["body", "scope"]),
        ({"scope": {"project": "nope"}}, ["body", "scope", "project"]),
        ({"thresholds": [80, 80]}, ["body", "thresholds"]),
        ({"action": "explode"}, ["body", "action"]),
        ({"period": "total", "rollover": True}, ["body"]),
    ]
    for fields, loc in cases:
        body = {"name": "B", "period": "month", "limit": 10, **fields}
        response = await client.post("/api/v1/budgets", json=body, headers=admin)
        assert response.status_code == 422, (fields, response.text)
        assert any(error["loc"][: len(loc)] == loc for error in response.json()["detail"]), response.json()
    # Writing needs the admin scope; reading only read.
    denied = await client.post(
        "/api/v1/budgets", json={"name": "B", "period": "month", "limit": 1}, headers=tenant.headers()
    )
    assert denied.status_code == 403
    assert (await client.get("/api/v1/budgets", headers=tenant.headers())).json() == {"budgets": []}


async def test_ingested_spend_is_counted_in_every_budget_it_falls_under(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    org_wide = await create_budget(client, admin, name="All")
    search = await create_budget(client, admin, name="Search", scope={"feature": "search"})
    by_project = await create_budget(
        client, admin, name="App", scope={"project": "app", "model": dollar_model}
    )
    assert by_project["scope"] == {"project": tenant.project_id, "model": dollar_model}  # name resolved to id

    await spend(client, tenant, dollars(3, feature="search"), dollars(4, feature="chat"), dollars(5))
    statuses = {
        b["name"]: b["status"]
        for b in (await client.get("/api/v1/budgets", headers=tenant.headers())).json()["budgets"]
    }
    assert statuses["All"]["spent"] == pytest.approx(12)
    assert statuses["Search"]["spent"] == pytest.approx(3)
    assert statuses["App"]["spent"] == pytest.approx(12)
    assert statuses["All"]["remaining"] == pytest.approx(38)
    assert statuses["All"]["percent"] == pytest.approx(24)
    assert statuses["All"]["currency"] == "USD"

    # A re-sent event is not counted twice.
    again = dollars(7, feature="search")
    await spend(client, tenant, again)
    await spend(client, tenant, again)
    status = (await client.get(f"/api/v1/budgets/{search['id']}/status", headers=tenant.headers())).json()
    assert status["spent"] == pytest.approx(10)
    assert org_wide["status"]["spent"] == 0  # created before any spend


async def test_existing_spend_counts_when_a_budget_is_created(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    last_month = datetime.now(UTC) - timedelta(days=40)
    await spend(client, tenant, dollars(6), dollars(9, ts=last_month))
    budget = await create_budget(client, admin)
    assert budget["status"]["spent"] == pytest.approx(6)


async def test_spend_after_restart_equals_spend_before(
    settings: Settings,
    admin: dict[str, str],
    tenant: Tenant,
    client: httpx.AsyncClient,
    dollar_model: str,
    app: object,
) -> None:
    budget = await create_budget(client, admin, period="week")
    await spend(client, tenant, dollars(11), dollars(2, feature="x"))
    before = (await client.get(f"/api/v1/budgets/{budget['id']}/status", headers=tenant.headers())).json()
    assert before["spent"] == pytest.approx(13)
    app.state.context.close()  # type: ignore[attr-defined]

    restarted = create_app(settings, serve_ui=False)
    try:
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as fresh:
            after = (
                await fresh.get(f"/api/v1/budgets/{budget['id']}/status", headers=tenant.headers())
            ).json()
            assert after["spent"] == pytest.approx(before["spent"])
            await spend(fresh, tenant, dollars(1))
            again = (
                await fresh.get(f"/api/v1/budgets/{budget['id']}/status", headers=tenant.headers())
            ).json()
            assert again["spent"] == pytest.approx(14)
    finally:
        restarted.state.context.close()
        # the fixture closes the first app again; closing twice must be harmless


def test_monthly_period_in_berlin_resets_at_local_midnight_on_the_first() -> None:
    # Berlin is UTC+2 on 31 March 2026 (summer time began on the 29th): local midnight is 22:00 UTC.
    march = window_at(datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC), Period.month, BERLIN)
    april = window_at(datetime(2026, 3, 31, 22, 0, 0, tzinfo=UTC), Period.month, BERLIN)
    assert march is not None and april is not None
    assert march.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # 1 March 00:00 CET (UTC+1)
    assert march.end == april.start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert april.end == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)
    # Weekly: Monday 00:00 local. 23 Nov 2026 is a Monday; Berlin is UTC+1 in November.
    week = window_at(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), Period.week, BERLIN)
    assert week is not None
    assert week.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    sunday_night = window_at(datetime(2026, 11, 22, 22, 59, tzinfo=UTC), Period.week, BERLIN)
    assert sunday_night is not None and sunday_night.end == week.start
    # Quarter and a custom start on the 31st (clamped to short months).
    quarter = window_at(datetime(2026, 5, 5, tzinfo=UTC), Period.quarter, BERLIN)
    assert quarter is not None and quarter.start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    anchored = window_at(
        datetime(2026, 2, 10, tzinfo=UTC), Period.month, BERLIN, anchor=datetime(2026, 1, 31).date()
    )
    assert anchored is not None
    assert (anchored.start, anchored.end) == (
        datetime(2026, 1, 30, 23, 0, tzinfo=UTC),
        datetime(2026, 2, 27, 23, 0, tzinfo=UTC),
    )
    assert (
        window_at(datetime(2026, 1, 1, tzinfo=UTC), Period.month, BERLIN, anchor=datetime(2026, 1, 31).date())
        is None
    )


async def test_spend_lands_in_the_local_period_of_each_event(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    await login_patch_timezone(client, admin, "Europe/Berlin")
    budget = await create_budget(client, admin)
    march_end = datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC)
    april_start = datetime(2026, 3, 31, 22, 0, 0, tzinfo=UTC)
    await spend(client, tenant, dollars(5, ts=march_end), dollars(7, ts=april_start))
    with context.db.session() as session:
        row = session.get(Budget, budget["id"])
        org = session.get(Organization, tenant.org_id)
        assert row is not None and org is not None
        rule = compile_rule(row, org)
    assert context.budgets.status(rule, now=march_end).spent == pytest.approx(5)
    assert context.budgets.status(rule, now=april_start).spent == pytest.approx(7)
    assert context.budgets.status(rule, now=april_start + timedelta(days=31)).spent == 0


async def login_patch_timezone(client: httpx.AsyncClient, admin: dict[str, str], zone: str) -> None:
    response = await client.patch("/api/v1/organization", json={"timezone": zone}, headers=admin)
    assert response.status_code == 200, response.text


async def test_status_forecasts_exhaustion(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    # $10 a day for the last 28 days; a $1,000 monthly budget with $5 spent is not exhausted this
    # month, a $20 one already nearly is.
    now = datetime.now(UTC)
    history = [dollars(10, ts=now - timedelta(days=d, hours=1)) for d in range(1, 29)]
    await spend(client, tenant, *history)
    small = await create_budget(client, admin, name="small", period="total", limit=1_000)
    assert small["status"]["forecast_exhaustion_date"] is not None
    assert small["status"]["period_end"] is None
    daily = await create_budget(client, admin, name="daily", period="day", limit=5)
    assert daily["status"]["forecast_exhaustion_date"] in (None, now.date().isoformat())


async def test_budgets_and_alerts_are_walled_off_between_organisations(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await create_budget(client, admin)
    theirs = other_tenant.headers()
    assert (await client.get(f"/api/v1/budgets/{ours['id']}", headers=theirs)).status_code == 404
    assert (await client.get(f"/api/v1/budgets/{ours['id']}/status", headers=theirs)).status_code == 404
    assert (await client.get("/api/v1/budgets", headers=theirs)).json() == {"budgets": []}
    assert (await client.get("/api/v1/alerts", headers=theirs)).json()["alerts"] == []


async def test_update_and_delete(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    budget = await create_budget(client, admin)
    await spend(client, tenant, dollars(4, feature="a"))
    patched = await client.patch(
        f"/api/v1/budgets/{budget['id']}", json={"limit": 8, "scope": {"feature": "b"}}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["limit"] == 8 and patched.json()["status"]["spent"] == 0
    assert (
        await client.patch(f"/api/v1/budgets/{budget['id']}", json={"limit": -1}, headers=admin)
    ).status_code == 422
    assert (await client.delete(f"/api/v1/budgets/{budget['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/budgets/{budget['id']}", headers=admin)).status_code == 404


async def test_rollover_adds_last_periods_unused_budget(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    await spend(client, tenant, dollars(3, ts=yesterday))
    budget = await create_budget(client, admin, period="day", limit=10, rollover=True)
    assert budget["status"]["limit"] == pytest.approx(17)  # 10 + (10 - 3) unused yesterday
