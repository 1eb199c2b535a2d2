"""Reservations make hard budgets exact: concurrent calls never overshoot, in one process or several."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.budgets.conftest import create_budget, dollars, spend
from tests.conftest import Tenant
from tests.servers import free_port, redis_server
from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import Role
from tokenoptimizer.db import migrate
from tokenoptimizer.db.base import Database

BIN = Path(sys.executable).parent / "tokenoptimizer"


async def _reserve_many(
    clients: list[httpx.AsyncClient], headers: dict[str, str], count: int, amount: float = 1.0
) -> list[httpx.Response]:
    body = {"attribution": {}, "estimated_cost_usd": amount}
    return await asyncio.gather(
        *(
            clients[i % len(clients)].post("/api/v1/reservations", json=body, headers=headers)
            for i in range(count)
        )
    )


async def test_200_concurrent_reservations_against_a_50_dollar_budget_admit_exactly_50(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    budget = await create_budget(client, admin, action="block", limit=50)
    responses = await _reserve_many([client], tenant.headers(), 200)
    codes = [r.status_code for r in responses]
    assert codes.count(201) == 50 and codes.count(402) == 150
    refused = next(r.json() for r in responses if r.status_code == 402)
    assert refused["error"] == "budget_exceeded" and refused["budget_id"] == budget["id"]
    assert refused["limit"] == 50 and refused["spent"] + refused["reserved"] == pytest.approx(50)
    assert "Budget 'Monthly' ($50.00 per month) would be exceeded" in refused["message"]

    # Each admitted call commits its real cost ($1); spend reaches the limit and never passes it.
    granted = [r.json()["reservation_id"] for r in responses if r.status_code == 201]
    commits = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/reservations/{rid}/commit", json={"event": dollars(1)}, headers=tenant.headers()
            )
            for rid in granted
        )
    )
    assert all(c.status_code == 200 and c.json()["accepted"] == 1 for c in commits)
    status = (await client.get(f"/api/v1/budgets/{budget['id']}/status", headers=tenant.headers())).json()
    assert status["spent"] == pytest.approx(50) and status["reserved"] == 0 and status["remaining"] == 0
    again = await client.post(
        "/api/v1/reservations", json={"estimated_cost_usd": 0.01}, headers=tenant.headers()
    )
    assert again.status_code == 402


async def test_release_commit_by_event_id_expiry_and_scope(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, dollar_model: str
) -> None:
    budget = await create_budget(client, admin, action="block", limit=10, scope={"feature": "search"})
    # Outside the budget's scope nothing is held.
    other = await client.post(
        "/api/v1/reservations",
        json={"attribution": {"feature": "chat"}, "estimated_cost_usd": 100},
        headers=tenant.headers(),
    )
    assert other.status_code == 201
    search = {"attribution": {"feature": "search"}, "estimated_cost_usd": 6}
    first = await client.post("/api/v1/reservations", json=search, headers=tenant.headers())
    assert first.status_code == 201
    assert (
        await client.post("/api/v1/reservations", json=search, headers=tenant.headers())
    ).status_code == 402
    # Released: room again.
    rid = first.json()["reservation_id"]
    assert (await client.delete(f"/api/v1/reservations/{rid}", headers=tenant.headers())).status_code == 204
    assert (await client.delete(f"/api/v1/reservations/{rid}", headers=tenant.headers())).status_code == 404
    second = await client.post("/api/v1/reservations", json=search, headers=tenant.headers())
    assert second.status_code == 201
    # Committed by event id: held until that event arrives, then only the real cost counts.
    event = dollars(2, feature="search")
    commit = await client.post(
        f"/api/v1/reservations/{second.json()['reservation_id']}/commit",
        json={"event_id": event["event_id"]},
        headers=tenant.headers(),
    )
    assert commit.json()["committed"] == "awaiting_event"
    status_url = f"/api/v1/budgets/{budget['id']}/status"
    assert (await client.get(status_url, headers=tenant.headers())).json()["reserved"] == pytest.approx(6)
    await spend(client, tenant, event)
    status = (await client.get(status_url, headers=tenant.headers())).json()
    assert (status["spent"], status["reserved"]) == (pytest.approx(2), 0)
    # Committed after its event was already stored: released at once.
    early = dollars(1, feature="search")
    await spend(client, tenant, early)
    late = await client.post("/api/v1/reservations", json=search, headers=tenant.headers())
    await client.post(
        f"/api/v1/reservations/{late.json()['reservation_id']}/commit",
        json={"event_id": early["event_id"]},
        headers=tenant.headers(),
    )
    status = (await client.get(status_url, headers=tenant.headers())).json()
    assert (status["spent"], status["reserved"]) == (pytest.approx(3), 0)
    # An unused reservation expires.
    short = await client.post(
        "/api/v1/reservations", json={**search, "ttl_seconds": 0.2}, headers=tenant.headers()
    )
    assert short.status_code == 201
    assert (await client.get(status_url, headers=tenant.headers())).json()["reserved"] == pytest.approx(6)
    await asyncio.sleep(0.3)
    assert (await client.get(status_url, headers=tenant.headers())).json()["reserved"] == 0


async def test_reservation_priced_from_model_and_tokens(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant
) -> None:
    await create_budget(client, admin, action="block", limit=1)
    # gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
    body = {"model": "gpt-4o", "provider": "openai", "input_tokens": 100_000, "max_output_tokens": 50_000}
    granted = await client.post("/api/v1/reservations", json=body, headers=tenant.headers())
    assert granted.status_code == 201 and granted.json()["amount_usd"] == pytest.approx(0.75)
    refused = await client.post("/api/v1/reservations", json=body, headers=tenant.headers())
    assert refused.status_code == 402
    bad = await client.post("/api/v1/reservations", json={"model": "gpt-4o"}, headers=tenant.headers())
    assert bad.status_code == 422
    unknown = await client.post(
        "/api/v1/reservations",
        json={"model": "no-such-model", "max_output_tokens": 5},
        headers=tenant.headers(),
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "model"]


async def test_one_organisation_cannot_touch_anothers_reservation(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, other_tenant: Tenant
) -> None:
    await create_budget(client, admin, action="block", limit=5)
    mine = await client.post("/api/v1/reservations", json={"estimated_cost_usd": 5}, headers=tenant.headers())
    rid = mine.json()["reservation_id"]
    theirs = other_tenant.headers()
    assert (await client.delete(f"/api/v1/reservations/{rid}", headers=theirs)).status_code == 404
    commit = await client.post(
        f"/api/v1/reservations/{rid}/commit", json={"event_id": str(uuid.uuid4())}, headers=theirs
    )
    assert commit.status_code == 404
    # Still held for its owner; the other organisation has no budget and is not limited by ours.
    assert (
        await client.post("/api/v1/reservations", json={"estimated_cost_usd": 1}, headers=tenant.headers())
    ).status_code == 402
    assert (
        await client.post("/api/v1/reservations", json={"estimated_cost_usd": 1}, headers=theirs)
    ).status_code == 201


# -- several server processes sharing Redis ------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def shared_metadata(postgres_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_url}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _serve(tmp: Path, database_url: str, redis_url: str, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENOPTIMIZER_")}
    env.update(
        TOKENOPTIMIZER_DATA_DIR=str(tmp / name),
        TOKENOPTIMIZER_DATABASE_URL=database_url,
        TOKENOPTIMIZER_REDIS_URL=redis_url,
        TOKENOPTIMIZER_SECRET_KEY="shared-" + "x" * 40,
        TOKENOPTIMIZER_PORT=str(port),
    )
    with open(tmp / f"{name}.log", "wb") as log:
        process = subprocess.Popen([str(BIN), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}; its log is beside its data dir")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


@pytest.mark.postgres
async def test_two_server_processes_sharing_redis_admit_exactly_50(
    tmp_path: Path, shared_metadata: str, redis_url: str
) -> None:
    migrate.upgrade(shared_metadata)
    db = Database(shared_metadata)
    with db.session() as session:
        org = service.create_organization(session, "Shared")
        service.create_user(
            session,
            email="o@shared.example",
            password="correct horse battery",
            org_id=org.id,
            role=Role.owner,
        )
        _k, _p, key = service.create_api_key(
            session, org_id=org.id, project_name="app", scopes=["ingest", "read", "admin"]
        )
    db.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    servers = [_serve(tmp_path, shared_metadata, redis_url, name) for name in ("a", "b")]
    try:
        for process, url in servers:
            _wait_healthy(url, process)
        clients = [httpx.AsyncClient(base_url=url, timeout=30) for _, url in servers]
        try:
            override = {"kind": "custom_model", "model_pattern": "dollar-model", "input_per_mtok": 1_000_000}
            for c in clients:  # each process prices its own ingest; the override is read per process
                await c.get("/api/v1/price-overrides", headers=headers)
            assert (
                await clients[0].post("/api/v1/price-overrides", json=override, headers=headers)
            ).status_code == 201
            budget = await create_budget(clients[0], headers, action="block", limit=50)
            responses = await _reserve_many(clients, headers, 200)
            codes = [r.status_code for r in responses]
            assert codes.count(201) == 50 and codes.count(402) == 150
            # Both processes answered (which of them granted the 50 depends on timing).
            assert {r.url.port for r in responses} == {c.base_url.port for c in clients}

            granted = [(r.url, r.json()["reservation_id"]) for r in responses if r.status_code == 201]
            commits = await asyncio.gather(
                *(
                    clients[i % 2].post(
                        f"/api/v1/reservations/{rid}/commit", json={"event": dollars(1)}, headers=headers
                    )
                    for i, (_url, rid) in enumerate(granted)
                )
            )
            assert [c.status_code for c in commits].count(200) == 50
            for c in clients:
                status = (await c.get(f"/api/v1/budgets/{budget['id']}/status", headers=headers)).json()
                assert status["spent"] == pytest.approx(50) and status["reserved"] == 0
            assert (
                await clients[1].post(
                    "/api/v1/reservations", json={"estimated_cost_usd": 0.01}, headers=headers
                )
            ).status_code == 402
        finally:
            for c in clients:
                await c.aclose()
    finally:
        for process, _url in servers:
            process.terminate()
            process.wait(timeout=20)
