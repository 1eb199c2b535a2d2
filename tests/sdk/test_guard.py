"""The budget guard (`guard=True`) against the real server's reservations and a hard budget."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from anthropic import Anthropic
from openai import AsyncOpenAI, OpenAI

import tokenoptimizer
from tests.conftest import Tenant
from tests.fake_upstream import FakeUpstream
from tests.sdk.conftest import LiveServer
from tests.servers import free_port
from tokenoptimizer.accounts import service

HELLO = [{"role": "user", "content": "Say hello to me"}]


def _budget(server: LiveServer, tenant: Tenant, limit: float) -> str:
    """A hard monthly budget on the whole organisation, created by an admin key."""
    with server.app.state.context.db.session() as session:
        _key, _project, admin = service.create_api_key(
            session, org_id=tenant.org_id, project_name="app", scopes=["ingest", "read", "admin"]
        )
    response = httpx.post(
        f"{server.url}/api/v1/budgets",
        json={"name": "tiny", "scope": {}, "period": "month", "limit": limit, "action": "block"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    budget_id: str = response.json()["id"]
    return budget_id


def _status(server: LiveServer, tenant: Tenant, budget_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/api/v1/budgets/{budget_id}/status", headers=tenant.headers(tenant.read_key), timeout=10
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_call_over_a_hard_budget_is_refused_before_it_is_made(
    sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream, closing: list[Any]
) -> None:
    budget_id = _budget(sdk, tenant, limit=0.01)
    client = tokenoptimizer.wrap(
        OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0), guard=True
    )
    closing.append(client)

    # Worst case: 100,000 output tokens of gpt-4o, about $1: over the $0.01 budget.
    with pytest.raises(tokenoptimizer.BudgetExceeded) as info:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=100_000)
    assert fake_upstream.requests == []  # the provider was never called
    refused = info.value
    assert "tiny" in str(refused) and "would be exceeded" in refused.message
    assert (refused.budget_id, refused.budget_name, refused.limit) == (budget_id, "tiny", 0.01)

    # A small call fits: reserved, made, recorded, and the reservation settled by its event.
    reply = client.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=20)
    assert reply.choices[0].message.content
    assert tokenoptimizer.flush(10)
    [event] = sdk.events(tenant)
    status = _status(sdk, tenant, budget_id)
    assert status["spent"] == pytest.approx(event["cost_usd"], rel=1e-6)
    assert status["reserved"] == 0


async def test_the_async_client_and_anthropic_are_guarded_too(
    sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream, closing: list[Any]
) -> None:
    _budget(sdk, tenant, limit=0.01)
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=sdk.url,
        guard=True,
        flush_interval=0.05,
        spool_dir=sdk.app.state.context.settings.data_dir / "spool",
    )
    anthropic = tokenoptimizer.wrap(
        Anthropic(base_url=fake_upstream.anthropic_base_url, api_key="sk", max_retries=0)
    )
    closing.append(anthropic)
    with pytest.raises(tokenoptimizer.BudgetExceeded):
        anthropic.messages.create(model="claude-haiku-4-5", max_tokens=8_000, messages=HELLO)  # ~$0.04
    async with AsyncOpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0) as client:
        wrapped = tokenoptimizer.wrap(client)
        with pytest.raises(tokenoptimizer.BudgetExceeded):
            await wrapped.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=100_000)
        unguarded = tokenoptimizer.wrap(client.with_options(timeout=5), guard=False)
        await unguarded.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=100_000)
    assert [r.path for r in fake_upstream.requests] == ["/v1/chat/completions"]


def test_the_guard_fails_open_when_the_server_is_unreachable(
    tenant: Tenant,
    fake_upstream: FakeUpstream,
    closing: list[Any],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=f"http://127.0.0.1:{free_port()}",
        guard=True,
        spool_dir=tmp_path,
        guard_timeout=0.5,
    )
    client = tokenoptimizer.wrap(OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0))
    closing.append(client)
    with caplog.at_level(logging.WARNING, logger="tokenoptimizer"):
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=100_000)
    assert len(fake_upstream.requests) == 3
    assert caplog.text.count("budget guard unavailable") == 1
