import gzip
import json
import uuid
from datetime import UTC, datetime

import httpx

from tests.conftest import Tenant
from tokenoptimizer.server.context import AppContext


def event(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "ts": "2026-11-01T12:00:00Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 200,
        "feature": "search",
        "user": "alice",
        "tags": {"env": "prod"},
    }
    body.update(overrides)
    return body


def stored_count(context: AppContext, org_id: str) -> int:
    return int(context.store.fetch("SELECT count(*) FROM events WHERE org_id = ?", [org_id])[0][0])


async def test_single_event_is_stored_priced_and_attributed(
    client: httpx.AsyncClient, tenant: Tenant, context: AppContext
) -> None:
    body = event(latency_ms=420.5, end_user="cust-9", team="search-team")
    response = await client.post("/api/v1/events", json=body, headers=tenant.headers())
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0}

    got = await client.get(f"/api/v1/events/{body['event_id']}", headers=tenant.headers())
    assert got.status_code == 200
    stored = got.json()
    assert stored["org_id"] == tenant.org_id and stored["project_id"] == tenant.project_id
    assert stored["api_key_id"] is not None and stored["source"] == "api"
    assert stored["ts"].startswith("2026-11-01T12:00:00")
    assert (stored["input_tokens"], stored["output_tokens"]) == (1000, 200)
    assert (stored["feature"], stored["user"], stored["end_user"], stored["team"]) == (
        "search", "alice", "cust-9", "search-team",
    )  # fmt: skip
    assert stored["tags"] == {"env": "prod"}
    assert stored["latency_ms"] == 420.5
    # gpt-4o-mini: $0.15 / M input, $0.60 / M output
    assert abs(stored["cost_usd"] - (1000 * 0.15 + 200 * 0.60) / 1e6) < 1e-12
    assert stored["price_source"] != "unknown"


async def test_batch_and_idempotent_resend(
    client: httpx.AsyncClient, tenant: Tenant, context: AppContext
) -> None:
    batch = [event() for _ in range(250)]
    first = await client.post("/api/v1/events", json={"events": batch}, headers=tenant.headers())
    assert first.json() == {"accepted": 250, "duplicates": 0}

    # A retry of the whole batch plus 10 new ones, and one event repeated inside the same batch.
    retry = [*batch, *[event() for _ in range(10)]]
    retry.append(dict(retry[-1]))
    second = await client.post("/api/v1/events", json={"events": retry}, headers=tenant.headers())
    assert second.json() == {"accepted": 10, "duplicates": 251}
    assert stored_count(context, tenant.org_id) == 260


async def test_resend_after_restart_is_still_a_duplicate(tenant: Tenant, context: AppContext) -> None:
    from tokenoptimizer.usage.pipeline import Attribution
    from tokenoptimizer.usage.stores import open_event_store
    from tokenoptimizer.usage.wire import to_wire

    events = [to_wire(event()) for _ in range(5)]
    attribution = Attribution(org_id=tenant.org_id, project_id=tenant.project_id)
    assert context.pipeline.ingest_sync(events, attribution, source="test").accepted == 5
    context.store.close()
    context.store = open_event_store(context.settings.resolved_events_url)
    context.pipeline.store = context.store
    again = context.pipeline.ingest_sync(events, attribution, source="test")
    assert (again.accepted, again.duplicates) == (0, 5)


async def test_mixed_valid_invalid_batch_stores_nothing_and_names_fields(
    client: httpx.AsyncClient, tenant: Tenant, context: AppContext
) -> None:
    batch = [
        event(),
        event(input_tokens=-5),
        event(),
        event(model=""),
        event(
            provider="openai", api="nonsense", raw_usage={"prompt_tokens": 1}, input_tokens=0, output_tokens=0
        ),
        event(colour="blue"),
    ]
    response = await client.post("/api/v1/events", json={"events": batch}, headers=tenant.headers())
    assert response.status_code == 422
    locs = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "events", 1, "input_tokens") in locs
    assert ("body", "events", 3, "model") in locs
    assert ("body", "events", 5, "colour") in locs
    assert stored_count(context, tenant.org_id) == 0

    # Schema-valid events whose raw usage cannot be normalised: still all or nothing.
    batch = [event(), event(api="nonsense", raw_usage={"prompt_tokens": 1}, input_tokens=0, output_tokens=0)]
    response = await client.post("/api/v1/events", json={"events": batch}, headers=tenant.headers())
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == ["body", "events", 1, "raw_usage"]
    assert "nonsense" in errors[0]["msg"]
    assert stored_count(context, tenant.org_id) == 0


async def test_raw_provider_usage_is_normalised(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {
        "event_id": str(uuid.uuid4()),
        "provider": "anthropic",
        "api": "messages",
        "model": "claude-3-5-haiku-20241022",
        "raw_usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 700,
            "output_tokens": 50,
        },
    }
    assert (await client.post("/api/v1/events", json=body, headers=tenant.headers())).status_code == 202
    stored = (await client.get(f"/api/v1/events/{body['event_id']}", headers=tenant.headers())).json()
    # Anthropic's input_tokens exclude cache reads and writes; ours include them.
    assert (stored["input_tokens"], stored["cache_read_tokens"], stored["cache_write_tokens"]) == (
        1000,
        700,
        200,
    )
    assert stored["output_tokens"] == 50


async def test_bad_requests_get_clear_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    not_json = await client.post("/api/v1/events", content=b"{nope", headers=tenant.headers())
    assert not_json.status_code == 422 and "invalid JSON" in not_json.json()["detail"][0]["msg"]

    empty = await client.post("/api/v1/events", json={"events": []}, headers=tenant.headers())
    assert empty.status_code == 422

    inconsistent = await client.post(
        "/api/v1/events", json=event(cache_read_tokens=5000), headers=tenant.headers()
    )
    assert inconsistent.status_code == 422
    assert "cache_read_tokens" in inconsistent.json()["detail"][0]["msg"]

    no_auth = await client.post("/api/v1/events", json=event())
    assert no_auth.status_code == 401
    bad_key = await client.post("/api/v1/events", json=event(), headers={"Authorization": "Bearer tko_nope"})
    assert bad_key.status_code == 401


async def test_batch_limit(client: httpx.AsyncClient, tenant: Tenant, context: AppContext) -> None:
    context.settings.ingest_max_batch = 3
    response = await client.post(
        "/api/v1/events", json={"events": [event() for _ in range(4)]}, headers=tenant.headers()
    )
    assert response.status_code == 422
    assert "at most 3 events" in response.json()["detail"][0]["msg"]


async def test_unknown_model_is_stored_at_zero_and_flagged(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = event(model="my-private-llm-v9")
    await client.post("/api/v1/events", json=body, headers=tenant.headers())
    stored = (await client.get(f"/api/v1/events/{body['event_id']}", headers=tenant.headers())).json()
    assert stored["cost_usd"] == 0 and stored["price_source"] == "unknown"


async def test_event_without_id_or_time_gets_them(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = event()
    del body["event_id"], body["ts"]
    before = datetime.now(UTC)
    assert (await client.post("/api/v1/events", json=body, headers=tenant.headers())).status_code == 202
    page = (await client.get("/api/v1/events", headers=tenant.headers())).json()
    assert len(page["items"]) == 1
    stored_ts = datetime.fromisoformat(page["items"][0]["ts"])
    assert abs((stored_ts - before).total_seconds()) < 5


async def test_gzip_bodies_are_accepted_and_bad_encodings_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    events = {
        "events": [{"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 2}]
    }
    body = gzip.compress(json.dumps(events).encode())
    headers = {**tenant.headers(), "content-type": "application/json", "content-encoding": "gzip"}
    response = await client.post("/api/v1/events", content=body, headers=headers)
    assert response.status_code == 202 and response.json()["accepted"] == 1
    truncated = await client.post("/api/v1/events", content=body[:-8], headers=headers)
    assert truncated.status_code == 400
    brotli = await client.post("/api/v1/events", content=body, headers={**headers, "content-encoding": "br"})
    assert brotli.status_code == 415
