import uuid

import httpx
import pytest

from tests.conftest import Tenant

GPT4O_MINI = (0.15, 0.60)  # USD per million input / output tokens (OpenAI's published price)


def event(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "ts": "2026-06-01T12:00:00Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 200,
    }
    body.update(overrides)
    return body


async def login(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
    )
    assert response.status_code == 200


async def stored(client: httpx.AsyncClient, tenant: Tenant, event_id: object) -> dict[str, object]:
    response = await client.get(f"/api/v1/events/{event_id}", headers=tenant.headers())
    assert response.status_code == 200
    data: dict[str, object] = response.json()
    return data


async def test_custom_model_override_prices_an_unknown_model_after_reprice(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = event(model="acme-llm-70b", input_tokens=1_000_000, output_tokens=500_000)
    await client.post("/api/v1/events", json=body, headers=tenant.headers())
    before = await stored(client, tenant, body["event_id"])
    assert before["cost_usd"] == 0 and before["price_source"] == "unknown"

    await login(client, tenant)
    unpriced = (await client.get("/api/v1/models/unpriced")).json()
    assert [(u["model"], u["events"]) for u in unpriced] == [("acme-llm-70b", 1)]

    override = {
        "kind": "custom_model",
        "model_pattern": "acme-llm-*",
        "input_per_mtok": 2.0,
        "output_per_mtok": 8.0,
        "effective_from": "2026-01-01T00:00:00Z",
    }
    created = await client.post("/api/v1/price-overrides", json=override)
    assert created.status_code == 201, created.text
    override_id = created.json()["id"]

    window = {"from": "2026-05-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"}
    result = (await client.post("/api/v1/reprice", json=window)).json()
    expected = 1.0 * 2.0 + 0.5 * 8.0
    assert result["events"] == 1 and result["changed"] == 1
    assert result["delta_usd"] == pytest.approx(expected)
    after = await stored(client, tenant, body["event_id"])
    assert after["cost_usd"] == pytest.approx(expected)
    assert after["price_source"] == f"override:{override_id}"
    assert (await client.get("/api/v1/models/unpriced")).json() == []

    again = (await client.post("/api/v1/reprice", json=window)).json()
    assert again["changed"] == 0 and again["delta_usd"] == pytest.approx(0)

    # New events of that model are priced by the override at ingest.
    fresh = event(model="acme-llm-70b", input_tokens=1_000_000, output_tokens=0)
    await client.post("/api/v1/events", json=fresh, headers=tenant.headers())
    assert (await stored(client, tenant, fresh["event_id"]))["cost_usd"] == pytest.approx(2.0)


async def test_discount_override_and_its_period(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await login(client, tenant)
    discount = {
        "kind": "discount",
        "model_pattern": "gpt-4o-mini",
        "provider": "openai",
        "discount_percent": 20,
        "effective_from": "2026-06-01T00:00:00Z",
        "effective_to": "2026-07-01T00:00:00Z",
    }
    assert (await client.post("/api/v1/price-overrides", json=discount)).status_code == 201
    inside = event(ts="2026-06-15T00:00:00Z")
    outside = event(ts="2026-07-15T00:00:00Z")
    await client.post("/api/v1/events", json={"events": [inside, outside]}, headers=tenant.headers())
    full = (1000 * GPT4O_MINI[0] + 200 * GPT4O_MINI[1]) / 1e6
    assert (await stored(client, tenant, inside["event_id"]))["cost_usd"] == pytest.approx(full * 0.8)
    assert (await stored(client, tenant, outside["event_id"]))["cost_usd"] == pytest.approx(full)


async def test_override_validation_and_admin_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = [
        {"kind": "custom_model", "model_pattern": "x"},
        {"kind": "discount", "model_pattern": "x"},
        {"kind": "discount", "model_pattern": "x", "discount_percent": 150},
        {"kind": "discount", "model_pattern": "x", "discount_percent": 5, "input_per_mtok": 1},
        {
            "kind": "custom_model",
            "model_pattern": "x",
            "input_per_mtok": 1,
            "effective_from": "2026-02-01T00:00:00Z",
            "effective_to": "2026-01-01T00:00:00Z",
        },
        {"kind": "custom_model", "model_pattern": "x", "input_per_mtok": -1},
    ]
    # An ingest/read key is not an admin.
    ok = {"kind": "custom_model", "model_pattern": "x", "input_per_mtok": 1}
    assert (
        await client.post("/api/v1/price-overrides", json=ok, headers=tenant.headers())
    ).status_code == 403
    await login(client, tenant)
    for body in bad:
        response = await client.post("/api/v1/price-overrides", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][0] == "body"


async def test_overrides_are_per_organisation(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await login(client, other_tenant)
    theirs = await client.post(
        "/api/v1/price-overrides", json={"kind": "custom_model", "model_pattern": "*", "input_per_mtok": 99}
    )
    theirs_id = theirs.json()["id"]
    client.cookies.clear()
    # My events are not priced by their override.
    body = event()
    await client.post("/api/v1/events", json=body, headers=tenant.headers())
    full = (1000 * GPT4O_MINI[0] + 200 * GPT4O_MINI[1]) / 1e6
    assert (await stored(client, tenant, body["event_id"]))["cost_usd"] == pytest.approx(full)
    await login(client, tenant)
    assert (await client.get(f"/api/v1/price-overrides/{theirs_id}")).status_code == 404
    assert (await client.delete(f"/api/v1/price-overrides/{theirs_id}")).status_code == 404
    assert (await client.get("/api/v1/price-overrides")).json() == []


async def test_markup_and_fees_give_billed_cost(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await login(client, tenant)
    response = await client.patch("/api/v1/organization", json={"markup_percent": 15, "fee_percents": [2.5]})
    assert response.status_code == 200
    body = event()
    await client.post("/api/v1/events", json=body, headers=tenant.headers())
    got = await stored(client, tenant, body["event_id"])
    cost = (1000 * GPT4O_MINI[0] + 200 * GPT4O_MINI[1]) / 1e6
    assert got["cost_usd"] == pytest.approx(cost)
    assert got["billed_cost_usd"] == pytest.approx(cost * 1.15 * 1.025)


async def test_organization_settings_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await login(client, tenant)
    assert (await client.patch("/api/v1/organization", json={"timezone": "Mars/Olympus"})).status_code == 422
    assert (await client.patch("/api/v1/organization", json={"currency": "XYZ"})).status_code == 422
    bad_zone = await client.patch("/api/v1/organization", json={"electricity_zone": "XXX"})
    assert bad_zone.status_code == 422 and bad_zone.json()["detail"][0]["loc"] == ["body", "electricity_zone"]
    assert (await client.patch("/api/v1/organization", json={"electricity_zone": "fra"})).json()[
        "electricity_zone"
    ] == "FRA"
    ok = await client.patch("/api/v1/organization", json={"timezone": "Europe/Berlin", "currency": "eur"})
    assert ok.status_code == 200
    assert (ok.json()["timezone"], ok.json()["currency"]) == ("Europe/Berlin", "EUR")


async def test_models_list_and_estimate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    models = (
        await client.get("/api/v1/models", params={"q": "gpt-4o-mini"}, headers=tenant.headers())
    ).json()
    mini = next(m for m in models if m["model"] == "gpt-4o-mini")
    assert mini["input_per_mtok"] == pytest.approx(GPT4O_MINI[0])
    assert mini["output_per_mtok"] == pytest.approx(GPT4O_MINI[1])
    assert mini["cached_input_per_mtok"] == pytest.approx(0.075)

    response = await client.post(
        "/api/v1/estimate",
        json={"model": "gpt-4o", "prompt": "Hello world " * 100, "max_output_tokens": 1000},
        headers=tenant.headers(),
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["method"] == "exact" and result["input_tokens"] > 150
    assert result["worst_case_cost_usd"] > result["input_cost_usd"] > 0
    assert all(alt["worst_case_cost_usd"] <= result["worst_case_cost_usd"] for alt in result["alternatives"])

    both = await client.post(
        "/api/v1/estimate", json={"model": "gpt-4o", "prompt": "x", "messages": []}, headers=tenant.headers()
    )
    assert both.status_code == 422


async def test_events_show_cost_in_the_display_currency_with_the_rate(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = event(ts="2025-03-14T12:00:00Z")
    await client.post("/api/v1/events", json=body, headers=tenant.headers())
    usd = await stored(client, tenant, body["event_id"])
    assert usd["currency"] == "USD" and usd["fx_rate"] == 1.0 and usd["cost"] == usd["cost_usd"]

    await login(client, tenant)
    await client.patch("/api/v1/organization", json={"currency": "EUR"})
    eur = await stored(client, tenant, body["event_id"])
    # ECB reference rate of 2025-03-14: 1 EUR = 1.0889 USD.
    assert eur["currency"] == "EUR"
    assert eur["fx_rate"] == pytest.approx(1 / 1.0889, rel=1e-4)
    assert eur["cost"] == pytest.approx(eur["cost_usd"] / 1.0889, rel=1e-4)

    await client.patch("/api/v1/organization", json={"fixed_fx_rate": 0.5})
    fixed = await stored(client, tenant, body["event_id"])
    assert fixed["fx_rate"] == 0.5 and fixed["cost"] == pytest.approx(fixed["cost_usd"] * 0.5)
