import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import Tenant

BASE = datetime(2026, 10, 1, tzinfo=UTC)


def make_events(n: int, seed: int = 1) -> list[dict[str, object]]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                # Many events share a timestamp, so the cursor must break ties by id.
                "ts": (BASE + timedelta(minutes=rng.randint(0, 30))).isoformat(),
                "provider": rng.choice(["openai", "anthropic"]),
                "model": rng.choice(["gpt-4o-mini", "gpt-4o"]),
                "input_tokens": rng.choice([10, 100, 1000]),
                "output_tokens": rng.choice([5, 50]),
                "latency_ms": rng.choice([None, 100.0, 250.0]),
                "status": "error" if i % 10 == 0 else "ok",
                "feature": rng.choice(["search", "chat"]),
                "user": f"u{i % 3}",
                "tags": {"env": "prod" if i % 2 else "dev"},
            }
        )
    return events


async def ingest(client: httpx.AsyncClient, tenant: Tenant, events: list[dict[str, object]]) -> None:
    response = await client.post("/api/v1/events", json={"events": events}, headers=tenant.headers())
    assert response.status_code == 202, response.text


async def all_pages(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, object]
) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/events", params=query, headers=tenant.headers())).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("sort", "order"),
    [("ts", "desc"), ("ts", "asc"), ("cost", "desc"), ("latency", "asc"), ("tokens", "desc")],
)
async def test_pagination_returns_every_event_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant, sort: str, order: str
) -> None:
    events = make_events(137)
    await ingest(client, tenant, events)
    items = await all_pages(client, tenant, {"limit": 10, "sort": sort, "order": order})
    ids = [item["event_id"] for item in items]
    assert len(ids) == 137 and set(ids) == {e["event_id"] for e in events}
    key = {"ts": "ts", "cost": "cost_usd", "latency": "latency_ms", "tokens": None}[sort]
    if key == "ts":
        values = [datetime.fromisoformat(str(item["ts"])) for item in items]
    elif key is None:
        values = [int(item["input_tokens"]) + int(item["output_tokens"]) for item in items]  # type: ignore[call-overload]
    else:
        values = [item[key] if item[key] is not None else -1 for item in items]
    assert values == sorted(values, reverse=order == "desc")  # type: ignore[type-var]


async def test_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    events = make_events(60)
    await ingest(client, tenant, events)

    async def ids(params: dict[str, object]) -> set[str]:
        return {str(item["event_id"]) for item in await all_pages(client, tenant, {"limit": 1000, **params})}

    def expected(pred: object) -> set[str]:
        return {str(e["event_id"]) for e in events if pred(e)}  # type: ignore[operator]

    assert await ids({"model": "gpt-4o"}) == expected(lambda e: e["model"] == "gpt-4o")
    assert await ids({"user": ["u0", "u1"]}) == expected(lambda e: e["user"] in ("u0", "u1"))
    assert await ids({"status": "error"}) == expected(lambda e: e["status"] == "error")
    assert await ids({"tag.env": "prod", "feature": "chat"}) == expected(
        lambda e: e["tags"]["env"] == "prod" and e["feature"] == "chat"
    )
    cut = BASE + timedelta(minutes=15)
    assert await ids({"from": cut.isoformat()}) == expected(lambda e: datetime.fromisoformat(e["ts"]) >= cut)
    assert await ids({"project": "app"}) == expected(lambda e: True)
    assert await ids({"project": "no-such-project"}) == set()


async def test_invalid_query_parameters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = [
        {"limit": 0},
        {"limit": 1001},
        {"sort": "colour"},
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"cursor": "garbage"},
    ]
    for params in bad:
        response = await client.get("/api/v1/events", params=params, headers=tenant.headers())
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"][0] == "query"


async def test_a_key_of_one_org_never_reads_or_writes_another_orgs_events(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = make_events(5, seed=2)
    theirs = make_events(5, seed=3)
    await ingest(client, tenant, mine)
    await ingest(client, other_tenant, theirs)

    listed = await all_pages(client, tenant, {"limit": 100})
    assert {item["event_id"] for item in listed} == {e["event_id"] for e in mine}
    assert all(item["org_id"] == tenant.org_id for item in listed)
    # Naming the other org's project by id changes nothing.
    assert await all_pages(client, tenant, {"project": other_tenant.project_id}) == []
    for foreign in theirs:
        response = await client.get(f"/api/v1/events/{foreign['event_id']}", headers=tenant.headers())
        assert response.status_code == 404

    # Re-sending another org's event ids stores new events in *my* org; theirs are untouched.
    hijack = [dict(e, input_tokens=999_999) for e in theirs]
    await ingest(client, tenant, hijack)
    for foreign in theirs:
        stored = (
            await client.get(f"/api/v1/events/{foreign['event_id']}", headers=other_tenant.headers())
        ).json()
        assert stored["org_id"] == other_tenant.org_id and stored["input_tokens"] != 999_999


async def test_a_logged_in_person_sees_only_their_org(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await ingest(client, tenant, make_events(3, seed=4))
    await ingest(client, other_tenant, make_events(4, seed=5))
    await client.post(
        "/api/v1/auth/login", json={"email": other_tenant.email, "password": other_tenant.password}
    )
    page = (await client.get("/api/v1/events", params={"limit": 100})).json()
    assert len(page["items"]) == 4
    assert {item["org_id"] for item in page["items"]} == {other_tenant.org_id}
