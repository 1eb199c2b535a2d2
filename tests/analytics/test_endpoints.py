"""Each analytics endpoint on a small hand-built data set; expected figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from tests.analytics.helpers import get, set_org, store_events
from tests.conftest import Tenant
from tokenoptimizer.server.context import AppContext

PERIOD = {"from": "2026-10-01", "to": "2026-10-07"}  # dates: 1 Oct 00:00 to 8 Oct 00:00 (UTC org)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ROWS: list[dict[str, Any]] = [
    # In the period.
    {
        "ts": utc(2026, 10, 1, 10),
        "model": "gpt-4o",
        "feature": "chat",
        "user": "alice",
        "team": "product",
        "cost_usd": 1.0,
        "billed_cost_usd": 1.1,
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_tokens": 10,
        "reasoning_tokens": 5,
        "latency_ms": 100.0,
        "time_to_first_token_ms": 40.0,
        "tags": {"env": "prod", "region": "eu"},
        "prompt_hash": "h1",
    },
    {
        "ts": utc(2026, 10, 2, 11),
        "model": "gpt-4o-mini",
        "feature": "search",
        "user": "bob",
        "team": "search",
        "cost_usd": 0.5,
        "billed_cost_usd": 0.55,
        "input_tokens": 200,
        "output_tokens": 20,
        "latency_ms": 300.0,
        "time_to_first_token_ms": 60.0,
        "tags": {"env": "dev", "region": "us"},
        "prompt_hash": "h1",
    },
    {
        "ts": utc(2026, 10, 3, 12),
        "provider": "anthropic",
        "model": "claude-sonnet-4",
        "feature": "chat",
        "user": "alice",
        "team": "product",
        "cost_usd": 2.0,
        "billed_cost_usd": 2.2,
        "input_tokens": 1000,
        "output_tokens": 100,
        "latency_ms": 500.0,
        "status": "error",
        "error_type": "rate_limit",
        "tags": {"env": "prod", "region": "us"},
        "prompt_hash": "h2",
    },
    {
        "ts": utc(2026, 10, 7, 23, 30),
        "model": "gpt-4o",
        "feature": "search",
        "user": "carol",
        "end_user": "cust-1",
        "cost_usd": 0.25,
        "billed_cost_usd": 0.3,
        "input_tokens": 10,
        "output_tokens": 5,
        "tags": {"env": "staging"},
    },
    # After the period.
    {"ts": utc(2026, 10, 8, 0, 0), "cost_usd": 100.0, "input_tokens": 7, "latency_ms": 9000.0},
    # The previous period (24 Sep to 1 Oct).
    {"ts": utc(2026, 9, 30, 23, 59), "cost_usd": 10.0, "billed_cost_usd": 11.0, "input_tokens": 400},
    {"ts": utc(2026, 9, 25, 8), "cost_usd": 2.0, "billed_cost_usd": 2.0, "status": "error"},
    # Before the previous period.
    {"ts": utc(2026, 9, 23, 23), "cost_usd": 50.0},
]


@pytest.fixture
def data(context: AppContext, tenant: Tenant) -> Tenant:
    store_events(context, tenant, ROWS)
    return tenant


async def test_summary_totals(client: httpx.AsyncClient, data: Tenant) -> None:
    body = await get(client, data, "summary", PERIOD)
    assert body["requests"] == 4
    assert body["errors"] == 1 and body["error_rate"] == 0.25
    assert (body["input_tokens"], body["output_tokens"]) == (1310, 175)
    assert (body["cache_read_tokens"], body["reasoning_tokens"]) == (10, 5)
    assert body["cost_usd"] == pytest.approx(3.75)
    assert body["billed_cost_usd"] == pytest.approx(4.15)
    assert body["currency"] == "USD" and body["cost"] == pytest.approx(3.75) and body["fx_rate"] == 1.0
    assert body["avg_cost_usd"] == pytest.approx(3.75 / 4)
    assert body["latency_avg_ms"] == pytest.approx(300.0)  # the call without latency does not count
    assert body["latency_p95_ms"] == pytest.approx(480.0)  # 300 + 0.9 × (500 - 300)
    assert body["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-10-08T00:00:00Z"}
    assert body["previous"] is None and body["change"] is None


async def test_summary_compares_with_the_previous_period(client: httpx.AsyncClient, data: Tenant) -> None:
    body = await get(client, data, "summary", {**PERIOD, "compare": "previous_period"})
    previous = body["previous"]
    assert previous["period"] == {"from": "2026-09-24T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    assert previous["requests"] == 2 and previous["errors"] == 1
    assert previous["cost_usd"] == pytest.approx(12.0) and previous["input_tokens"] == 400
    assert previous["latency_p95_ms"] is None
    change = body["change"]
    assert change["requests"] == pytest.approx(1.0)  # 2 -> 4
    assert change["cost_usd"] == pytest.approx((3.75 - 12) / 12)
    assert change["error_rate"] == pytest.approx((0.25 - 0.5) / 0.5)
    assert change["latency_p95_ms"] is None  # nothing to compare with


async def test_money_in_the_org_currency(
    client: httpx.AsyncClient, context: AppContext, data: Tenant
) -> None:
    set_org(context, data, currency="EUR", fixed_fx_rate=0.5)
    body = await get(client, data, "summary", PERIOD)
    assert (body["currency"], body["fx_rate"]) == ("EUR", 0.5)
    assert body["cost_usd"] == pytest.approx(3.75) and body["cost"] == pytest.approx(1.875)
    rows = (await get(client, data, "breakdown", {**PERIOD, "by": "model"}))["rows"]
    assert rows[0]["cost"] == pytest.approx(1.0) and rows[0]["cost_usd"] == pytest.approx(2.0)


async def test_or_filters_and_tag_filters(client: httpx.AsyncClient, data: Tenant) -> None:
    async def summary(**params: Any) -> tuple[int, float]:
        body = await get(client, data, "summary", {**PERIOD, **params})
        return body["requests"], round(body["cost_usd"], 6)

    assert await summary(model=["gpt-4o", "gpt-4o-mini"]) == (3, 1.75)
    assert await summary(user=["alice", "carol"]) == (3, 3.25)
    assert await summary(provider="anthropic") == (1, 2.0)
    assert await summary(status="error") == (1, 2.0)
    assert await summary(team="search") == (1, 0.5)
    assert await summary(end_user="cust-1") == (1, 0.25)
    assert await summary(**{"tag.env": ["prod", "dev"]}) == (3, 3.5)
    assert await summary(**{"tag.env": "prod", "tag.region": "us"}) == (1, 2.0)
    assert await summary(**{"tag.env": "prod", "feature": "chat"}) == (2, 3.0)
    assert await summary(tag="region=eu") == (1, 1.0)
    assert await summary(**{"tag.nope": "x"}) == (0, 0.0)
    assert await summary(project="app") == (4, 3.75)
    assert await summary(project="no-such-project") == (0, 0.0)


async def test_breakdown(client: httpx.AsyncClient, data: Tenant) -> None:
    body = await get(client, data, "breakdown", {**PERIOD, "by": "model", "compare": "previous_period"})
    assert body["by"] == "model" and body["sort"] == "cost"
    rows = {row["key"]: row for row in body["rows"]}
    assert [row["key"] for row in body["rows"]] == ["claude-sonnet-4", "gpt-4o", "gpt-4o-mini"]
    assert rows["gpt-4o"]["requests"] == 2 and rows["gpt-4o"]["cost_usd"] == pytest.approx(1.25)
    assert rows["gpt-4o"]["input_tokens"] == 110 and rows["gpt-4o"]["output_tokens"] == 55
    assert rows["claude-sonnet-4"]["errors"] == 1
    assert rows["claude-sonnet-4"]["share"] == pytest.approx(2.0 / 3.75)
    assert rows["gpt-4o-mini"]["share"] == pytest.approx(0.5 / 3.75)
    # Both earlier events were gpt-4o: 10 + 2.
    assert rows["gpt-4o"]["previous"]["cost_usd"] == pytest.approx(12.0)
    assert rows["gpt-4o"]["change"] == pytest.approx((1.25 - 12) / 12)
    assert rows["claude-sonnet-4"]["previous"] is None and rows["claude-sonnet-4"]["change"] is None

    by_requests = await get(
        client, data, "breakdown", {**PERIOD, "by": "user", "sort": "requests", "limit": 1}
    )
    assert [(r["key"], r["requests"], r["share"]) for r in by_requests["rows"]] == [("alice", 2, 0.5)]

    by_tag = await get(client, data, "breakdown", {**PERIOD, "by": "tag.env"})
    assert {r["key"]: round(r["cost_usd"], 6) for r in by_tag["rows"]} == {
        "prod": 3.0,
        "dev": 0.5,
        "staging": 0.25,
    }

    by_project = await get(client, data, "breakdown", {**PERIOD, "by": "project"})
    assert [(r["key"], r["label"], r["requests"]) for r in by_project["rows"]] == [
        (data.project_id, "app", 4)
    ]

    by_feature = await get(client, data, "breakdown", {**PERIOD, "by": "feature", "model": "gpt-4o"})
    assert {r["key"]: r["requests"] for r in by_feature["rows"]} == {"chat": 1, "search": 1}


async def test_timeseries_total_and_grouped(client: httpx.AsyncClient, data: Tenant) -> None:
    body = await get(client, data, "timeseries", {**PERIOD, "metric": "cost", "interval": "day"})
    assert body["metric"] == "cost" and body["interval"] == "day"
    [series] = body["series"]
    assert series["key"] == "total"
    points = [(p["start"][:10], round(p["value"], 6)) for p in series["points"]]
    assert points == [
        ("2026-10-01", 1.0),
        ("2026-10-02", 0.5),
        ("2026-10-03", 2.0),
        ("2026-10-04", 0.0),
        ("2026-10-05", 0.0),
        ("2026-10-06", 0.0),
        ("2026-10-07", 0.25),
    ]

    grouped = await get(
        client, data, "timeseries", {**PERIOD, "metric": "requests", "group_by": "model", "top": 2}
    )
    totals = {s["key"]: sum(p["value"] for p in s["points"]) for s in grouped["series"]}
    # Ranked by requests: gpt-4o (2), then a tie of one request each, broken by name.
    assert totals == {"gpt-4o": 2, "claude-sonnet-4": 1, "other": 1}
    assert [s["is_other"] for s in grouped["series"]] == [False, False, True]
    assert all(len(s["points"]) == 7 for s in grouped["series"])

    latency = await get(client, data, "timeseries", {**PERIOD, "metric": "latency_p95", "interval": "week"})
    [series] = latency["series"]
    # Weeks start on Monday: 28 Sep (1–3 Oct: 100, 300, 500 ms) and 5 Oct (no latency reported).
    assert [p["start"][:10] for p in series["points"]] == ["2026-09-28", "2026-10-05"]
    assert series["points"][0]["value"] == pytest.approx(480.0) and series["points"][1]["value"] is None

    # Percentiles cannot be re-aggregated: "other" is computed from its own events (300 and 500 ms).
    p95 = await get(
        client, data, "timeseries", {**PERIOD, "metric": "latency_p95", "group_by": "model", "top": 1}
    )
    assert [(s["key"], s["is_other"]) for s in p95["series"]] == [("gpt-4o", False), ("other", True)]
    other = {p["start"][:10]: p["value"] for p in p95["series"][1]["points"] if p["value"] is not None}
    assert other == {"2026-10-02": 300.0, "2026-10-03": 500.0}
    by_model = await get(
        client, data, "timeseries", {**PERIOD, "metric": "cost", "group_by": "model", "top": 1}
    )
    # Ranked by cost: claude (2.0) first; gpt-4o (1.25) and gpt-4o-mini (0.5) make "other".
    assert [(s["key"], round(sum(p["value"] for p in s["points"]), 6)) for s in by_model["series"]] == [
        ("claude-sonnet-4", 2.0),
        ("other", 1.75),
    ]
    rate = await get(client, data, "timeseries", {**PERIOD, "metric": "error_rate", "interval": "month"})
    assert [p["value"] for p in rate["series"][0]["points"]] == [0.25]


async def test_performance(client: httpx.AsyncClient, context: AppContext, tenant: Tenant) -> None:
    rng = np.random.default_rng(7)
    latencies = {"fast": rng.lognormal(5, 0.5, 400), "slow": rng.lognormal(7, 0.8, 300)}
    ttft = {name: values / 4 for name, values in latencies.items()}
    rows: list[dict[str, Any]] = []
    for name, values in latencies.items():
        for i, value in enumerate(values):
            failed = i % 50 == 0
            rows.append(
                {
                    "ts": utc(2026, 10, 2, i % 24, i % 60),
                    "model": name,
                    "latency_ms": float(value),
                    "time_to_first_token_ms": float(ttft[name][i]),
                    "status": "error" if failed else "ok",
                    "error_type": ("timeout" if i % 100 == 0 else "rate_limit") if failed else None,
                }
            )
    store_events(context, tenant, rows)
    body = await get(client, tenant, "performance", {**PERIOD, "by": "model"})
    by_key = {row["key"]: row for row in body["rows"]}
    assert [row["key"] for row in body["rows"]] == ["fast", "slow"]  # most requests first
    for name, values in latencies.items():
        row = by_key[name]
        for q in (50, 90, 95, 99):
            assert row[f"latency_p{q}_ms"] == pytest.approx(np.percentile(values, q), rel=0.01)
        assert row["ttft_p50_ms"] == pytest.approx(np.percentile(ttft[name], 50), rel=0.01)
    # fast: i = 0, 50, …, 350 fail (8), timeouts at 0, 100, 200, 300; slow: 0, 50, …, 250 (6).
    assert by_key["fast"]["errors"] == 8 and by_key["fast"]["success_rate"] == pytest.approx(392 / 400)
    assert by_key["fast"]["error_types"] == {"timeout": 4, "rate_limit": 4}
    assert by_key["slow"]["error_types"] == {"timeout": 3, "rate_limit": 3}
    assert body["error_types"] == [
        {"error_type": "rate_limit", "count": 7},
        {"error_type": "timeout", "count": 7},
    ]


async def test_top_prompts(client: httpx.AsyncClient, data: Tenant) -> None:
    body = await get(client, data, "top-prompts", PERIOD)
    rows = body["rows"]
    assert [row["key"] for row in rows] == ["h2", "h1"]  # the call without prompt_hash is left out
    h2, h1 = rows
    assert (h2["requests"], h2["cost_usd"], h2["cost_per_call_usd"]) == (1, 2.0, 2.0)
    assert h1["requests"] == 2 and h1["cost_usd"] == pytest.approx(1.5)
    assert h1["cost_per_call_usd"] == pytest.approx(0.75)
    assert h1["avg_input_tokens"] == pytest.approx(150) and h1["avg_output_tokens"] == pytest.approx(35)
    assert h2["share"] == pytest.approx(2.0 / 3.5) and h2["feature"] == "chat"

    by_feature = await get(client, data, "top-prompts", {**PERIOD, "by": "feature"})
    assert [(r["key"], r["requests"], round(r["cost_usd"], 6)) for r in by_feature["rows"]] == [
        ("chat", 2, 3.0),
        ("search", 2, 0.75),
    ]


async def test_impact(client: httpx.AsyncClient, context: AppContext, tenant: Tenant) -> None:
    set_org(context, tenant, m2_per_kg_co2e=2.5)
    store_events(
        context,
        tenant,
        [
            {"ts": utc(2026, 10, 1, 9), "model": "a", "energy_kwh": 0.5, "co2e_kg": 0.2, "water_l": 1.0},
            {"ts": utc(2026, 10, 1, 10), "model": "a", "energy_kwh": 0.25, "co2e_kg": 0.1, "water_l": 0.5},
            {"ts": utc(2026, 10, 3, 10), "model": "b", "energy_kwh": 2.0, "co2e_kg": 0.8, "water_l": 4.0},
            {"ts": utc(2026, 10, 3, 11), "model": "unknown-model"},
        ],
    )
    body = await get(client, tenant, "impact", {"from": "2026-10-01", "to": "2026-10-03"})
    total = body["total"]
    assert total["requests"] == 4 and total["requests_with_impact"] == 3
    assert total["energy_kwh"] == pytest.approx(2.75) and total["co2e_kg"] == pytest.approx(1.1)
    assert total["water_l"] == pytest.approx(5.5) and total["m2_restored"] == pytest.approx(2.75)
    rows = {row["key"]: row for row in body["rows"]}
    assert [row["key"] for row in body["rows"]] == ["b", "a", "unknown-model"]
    assert rows["a"]["co2e_kg"] == pytest.approx(0.3) and rows["a"]["m2_restored"] == pytest.approx(0.75)
    assert rows["unknown-model"]["co2e_kg"] == 0 and rows["unknown-model"]["requests_with_impact"] == 0

    over_time = await get(client, tenant, "impact", {"from": "2026-10-01", "to": "2026-10-03", "by": "time"})
    assert [(r["key"][:10], round(r["co2e_kg"], 6)) for r in over_time["rows"]] == [
        ("2026-10-01", 0.3),
        ("2026-10-02", 0.0),
        ("2026-10-03", 0.8),
    ]


async def test_api_key_filter_and_breakdown(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant
) -> None:
    from tokenoptimizer.accounts import service as accounts

    with context.db.session() as session:
        key, _project, _secret = accounts.create_api_key(
            session, org_id=tenant.org_id, project_name="app", scopes=["ingest"], name="batch-job"
        )
        key_id = key.id
    store_events(
        context,
        tenant,
        [
            {"ts": utc(2026, 10, 2), "api_key_id": key_id, "cost_usd": 1.5},
            {"ts": utc(2026, 10, 3), "api_key_id": key_id, "cost_usd": 0.5},
            {"ts": utc(2026, 10, 4), "cost_usd": 4.0},
        ],
    )
    for name in (key_id, "batch-job"):
        body = await get(client, tenant, "summary", {**PERIOD, "api_key": name})
        assert (body["requests"], body["cost_usd"]) == (2, 2.0)
    rows = (await get(client, tenant, "breakdown", {**PERIOD, "by": "api_key"}))["rows"]
    assert [(r["key"], r["label"], r["cost_usd"]) for r in rows] == [
        (None, None, 4.0),
        (key_id, "batch-job", 2.0),
    ]
