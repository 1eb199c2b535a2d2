"""Who sees what: tenants are isolated, project keys see their project, bad parameters get 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.analytics.helpers import get, store_events
from tests.conftest import Tenant
from tokenoptimizer.accounts import service as accounts
from tokenoptimizer.server.context import AppContext

PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}
ENDPOINTS: list[tuple[str, dict[str, Any]]] = [
    ("summary", {"compare": "previous_period"}),
    ("timeseries", {"group_by": "model"}),
    ("breakdown", {"by": "model", "compare": "previous_period"}),
    ("performance", {"by": "model"}),
    ("heatmap", {"metric": "cost"}),
    ("impact", {"by": "model"}),
    ("top-prompts", {}),
]


def _events(model: str, cost: float, latency: float) -> list[dict[str, Any]]:
    return [
        {
            "ts": datetime(2026, 10, day, 12, tzinfo=UTC) - timedelta(days=offset),
            "model": model,
            "feature": model,
            "prompt_hash": model,
            "cost_usd": cost,
            "latency_ms": latency,
            "co2e_kg": cost,
            "input_tokens": 10,
        }
        for day in (2, 9, 16)
        for offset in (0, 30)  # this period and the previous one
    ]


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


async def test_no_endpoint_returns_another_orgs_numbers(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant, other_tenant: Tenant
) -> None:
    store_events(context, tenant, _events("mine", 1.0, 100.0))
    store_events(context, other_tenant, _events("theirs", 7777.0, 99999.0))
    for path, params in ENDPOINTS:
        for me, them in ((tenant, "theirs"), (other_tenant, "mine")):
            body = await get(client, me, path, {**PERIOD, **params})
            assert them not in _strings(body), path
            numbers = _numbers(body)
            if them == "theirs":
                assert not any(n in (7777.0, 99999.0) or n > 1000 for n in numbers), path
            assert other_tenant.project_id not in _strings(body) or me is other_tenant
    forecast = await get(client, tenant, "forecast")
    assert all(n < 1000 for n in _numbers(forecast["month"]))
    mine = await get(client, tenant, "summary", PERIOD)
    assert mine["requests"] == 3 and mine["cost_usd"] == 3.0
    # Naming the other org's project by id selects nothing.
    foreign = await get(client, tenant, "summary", {**PERIOD, "project": other_tenant.project_id})
    assert foreign["requests"] == 0


async def test_a_logged_in_person_sees_only_their_org(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant, other_tenant: Tenant
) -> None:
    store_events(context, tenant, _events("mine", 1.0, 100.0))
    store_events(context, other_tenant, _events("theirs", 5.0, 200.0))
    login = await client.post(
        "/api/v1/auth/login", json={"email": other_tenant.email, "password": other_tenant.password}
    )
    assert login.status_code == 200
    body = (await client.get("/api/v1/usage/breakdown", params=PERIOD)).json()
    assert [(row["key"], row["cost_usd"]) for row in body["rows"]] == [("theirs", 15.0)]


async def test_a_project_key_reads_only_its_project(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant
) -> None:
    with context.db.session() as session:
        _key, project, admin_key = accounts.create_api_key(
            session, org_id=tenant.org_id, project_name="batch", scopes=["read", "admin"]
        )
        batch_id = project.id
    store_events(context, tenant, _events("app-model", 1.0, 100.0))
    store_events(context, tenant, [dict(e, project_id=batch_id) for e in _events("batch-model", 2.0, 50.0)])
    restricted = await get(client, tenant, "breakdown", {**PERIOD, "by": "project"}, key=tenant.read_key)
    assert [(r["label"], r["requests"]) for r in restricted["rows"]] == [("app", 3)]
    asked_other = await get(client, tenant, "summary", {**PERIOD, "project": "batch"}, key=tenant.read_key)
    assert asked_other["requests"] == 0
    everything = await get(client, tenant, "breakdown", {**PERIOD, "by": "project"}, key=admin_key)
    assert {(r["label"], r["requests"]) for r in everything["rows"]} == {("app", 3), ("batch", 3)}
    only_batch = await get(client, tenant, "summary", {**PERIOD, "project": "batch"}, key=admin_key)
    assert only_batch["cost_usd"] == 6.0


async def test_ingest_keys_without_read_scope_are_refused(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant
) -> None:
    with context.db.session() as session:
        _k, _p, ingest_only = accounts.create_api_key(
            session, org_id=tenant.org_id, project_name="app", scopes=["ingest"]
        )
    response = await client.get("/api/v1/usage/summary", headers=tenant.headers(ingest_only))
    assert response.status_code == 403
    assert (await client.get("/api/v1/usage/summary")).status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "name", "message"),
    [
        ("breakdown", {"by": "colour"}, "by", "unknown dimension 'colour'"),
        ("performance", {"by": "tag."}, "by", "unknown dimension"),
        ("timeseries", {"group_by": "colour"}, "group_by", "unknown dimension"),
        ("summary", {"from": "2026-02-01", "to": "2026-01-01"}, "from", "'from' must be before 'to'"),
        ("summary", {"from": "yesterday"}, "from", "must be a date"),
        (
            "timeseries",
            {"from": "2025-01-01", "to": "2026-03-01", "interval": "hour"},
            "interval",
            "400 days",
        ),
        (
            "impact",
            {"by": "time", "from": "2025-01-01", "to": "2026-03-01", "interval": "hour"},
            "interval",
            "",
        ),
        ("timeseries", {"metric": "happiness"}, "metric", ""),
        ("timeseries", {"interval": "fortnight"}, "interval", ""),
        ("breakdown", {"limit": 0}, "limit", ""),
        ("summary", {"tag": "no-equals-sign"}, "tag", "tag.<key>=<value>"),
        ("summary", {"compare": "last_year"}, "compare", ""),
        ("forecast", {"budget": -5}, "budget", ""),
    ],
)
async def test_invalid_parameters_get_422(
    client: httpx.AsyncClient, tenant: Tenant, path: str, params: dict[str, Any], name: str, message: str
) -> None:
    response = await client.get(f"/api/v1/usage/{path}", params=params, headers=tenant.headers())
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", name]
    assert message in error["msg"]


async def test_hourly_series_up_to_400_days_are_fine(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await get(
        client, tenant, "timeseries", {"from": "2025-02-01", "to": "2026-03-01", "interval": "hour"}
    )
    assert len(body["series"][0]["points"]) == 394 * 24


async def test_the_endpoints_are_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path, _params in [*ENDPOINTS, ("forecast", {})]:
        operation = schema["paths"][f"/api/v1/usage/{path}"]["get"]
        assert operation["description"]  # the route docstring
        content = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert content["$ref"].startswith("#/components/schemas/")
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "project", "model", "tag"} - names == {"tag"}  # tags are free-form keys
