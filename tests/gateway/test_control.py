"""What the gateway controls: rate limits, hard budgets, routing rules, fallbacks, keys, tenants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, make_tenant
from tests.fake_upstream import REPLY_TOKENS, FakeUpstream
from tests.gateway.conftest import SERVER_OPENAI_KEY, Gateway, ServerThread, make_key
from tests.servers import free_port
from tokenoptimizer.gateway.proxy import GatewayFastPath
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings

PROMPT = [{"role": "user", "content": "Say hello to me"}]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/meta.db"


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key=gateway.tenant.key, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def second_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


def _ok(response: httpx.Response, status: int = 200) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


# -- rate limits ----------------------------------------------------------------------------------


def test_rate_limited_calls_get_429_with_retry_after(
    gateway: Gateway, client: openai.OpenAI, admin_key: str, fake_upstream: FakeUpstream
) -> None:
    _ok(gateway.api("PUT", "/api/v1/gateway/settings", admin_key, json={"rpm_per_key": 2}))
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert "Rate limit reached: 2 requests per minute per API key" in str(info.value)
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 60
    assert info.value.body["type"] == "requests"  # type: ignore[index]
    assert len(fake_upstream.requests) == 2  # the refused call never reached the provider

    # The limit is per key: another key of the same project still passes.
    other = make_key(gateway.context, gateway.tenant.org_id, ["ingest"])
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key=other, max_retries=0) as second:
        second.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)

    events = gateway.events()
    assert [(e["status"], e["error_type"]) for e in events] == [
        ("ok", None),
        ("ok", None),
        ("error", "rate_limited"),
        ("ok", None),
    ]


def test_token_limits_count_the_tokens_used(gateway: Gateway, admin_key: str) -> None:
    # One call uses 4 + 9 = 13 tokens; 20 per minute per user allows one, then refuses.
    _ok(gateway.api("PUT", "/api/v1/gateway/settings", admin_key, json={"tpm_per_user": 20}))
    with anthropic.Anthropic(
        base_url=gateway.anthropic_base_url, api_key=gateway.tenant.key, max_retries=0
    ) as client:
        headers = {"x-tko-user": "carol"}
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=PROMPT, extra_headers=headers
        )
        gateway.wait()  # the used tokens are counted when the call is recorded
        with pytest.raises(anthropic.RateLimitError, match="20 tokens per minute per user"):
            client.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=PROMPT, extra_headers=headers
            )
        # Another user is not affected.
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=PROMPT, extra_headers={"x-tko-user": "dan"}
        )


# -- budgets --------------------------------------------------------------------------------------


def test_a_call_that_could_break_a_hard_budget_is_refused_before_it_is_sent(
    gateway: Gateway, client: openai.OpenAI, admin_key: str, fake_upstream: FakeUpstream
) -> None:
    budget = _ok(
        gateway.api(
            "POST",
            "/api/v1/budgets",
            admin_key,
            json={"name": "Monthly", "scope": {}, "period": "month", "limit": 0.01, "action": "block"},
        ),
        201,
    )
    # gpt-4o output costs $10 per million: 5,000 output tokens could cost $0.05 > $0.01.
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT, max_tokens=5000)
    assert info.value.status_code == 402
    assert "Budget 'Monthly' ($0.01 per month) would be exceeded" in str(info.value)
    assert info.value.body["code"] == "budget_exceeded"  # type: ignore[index]
    assert fake_upstream.requests == []

    # A call whose worst case fits goes through; its reservation is released once it is recorded.
    reply = client.chat.completions.create(model="gpt-4o", messages=PROMPT, max_tokens=50)
    assert reply.usage is not None and reply.usage.completion_tokens == REPLY_TOKENS
    events = gateway.events()
    assert [(e["status"], e["error_type"]) for e in events] == [("error", "budget_exceeded"), ("ok", None)]
    status = _ok(gateway.api("GET", f"/api/v1/budgets/{budget['id']}/status", admin_key))
    assert status["reserved"] == 0
    assert status["spent"] == pytest.approx(events[1]["cost_usd"], rel=1e-3)


def test_a_call_an_empty_prepaid_wallet_cannot_pay_for_is_refused(
    gateway: Gateway, client: openai.OpenAI, admin_key: str, fake_upstream: FakeUpstream
) -> None:
    # The wallet's balance is read from the database in a worker thread, not on the serving loop.
    wallet = {"name": "Prepaid", "initial_balance": 0.02, "block_when_empty": True}
    _ok(gateway.api("POST", "/api/v1/wallets", admin_key, json=wallet), 201)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT, max_tokens=5000)
    assert info.value.status_code == 402
    assert info.value.body["code"] == "wallet_empty"  # type: ignore[index]
    assert "Wallet 'Prepaid' has $0.02 left" in str(info.value)
    assert fake_upstream.requests == []

    reply = client.chat.completions.create(model="gpt-4o", messages=PROMPT, max_tokens=50)
    assert reply.usage is not None
    assert [(e["status"], e["error_type"]) for e in gateway.events()] == [
        ("error", "wallet_empty"),
        ("ok", None),
    ]


def test_anthropic_sdk_raises_payment_required_on_a_hard_budget(gateway: Gateway, admin_key: str) -> None:
    _ok(
        gateway.api(
            "POST",
            "/api/v1/budgets",
            admin_key,
            json={
                "name": "Tiny",
                "scope": {"feature": "chat"},
                "period": "day",
                "limit": 0.001,
                "action": "block",
            },
        ),
        201,
    )
    with anthropic.Anthropic(
        base_url=gateway.anthropic_base_url, api_key=gateway.tenant.key, max_retries=0
    ) as client:
        with pytest.raises(anthropic.PaymentRequiredError) as info:
            client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=4000,
                messages=PROMPT,
                extra_headers={"x-tko-feature": "chat"},
            )
        assert "Budget 'Tiny'" in str(info.value)
        assert info.value.body["error"]["type"] == "budget_exceeded"  # type: ignore[index]
        # Outside the budget's scope (another feature), the same call passes.
        client.messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=PROMPT)


# -- routing rules --------------------------------------------------------------------------------


def test_a_routing_rule_serves_another_model_and_the_event_records_both(
    gateway: Gateway, client: openai.OpenAI, admin_key: str, fake_upstream: FakeUpstream
) -> None:
    rule = _ok(
        gateway.api(
            "POST",
            "/api/v1/routing-rules",
            admin_key,
            json={"model_pattern": "gpt-4o", "target_model": "gpt-4o-mini", "note": "apply recommendation"},
        ),
        201,
    )
    reply = client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert reply.model == "gpt-4o-mini"
    assert fake_upstream.requests[-1].json["model"] == "gpt-4o-mini"
    # Rules can be narrowed to a feature.
    _ok(
        gateway.api(
            "POST",
            "/api/v1/routing-rules",
            admin_key,
            json={"model_pattern": "gpt-4.1*", "target_model": "gpt-4.1-nano", "feature": "summaries"},
        ),
        201,
    )
    client.chat.completions.create(model="gpt-4.1", messages=PROMPT)
    client.chat.completions.create(
        model="gpt-4.1", messages=PROMPT, extra_headers={"x-tko-feature": "summaries"}
    )
    assert [r.json["model"] for r in fake_upstream.requests[-2:]] == ["gpt-4.1", "gpt-4.1-nano"]

    events = gateway.events()
    assert (events[0]["requested_model"], events[0]["model"]) == ("gpt-4o", "gpt-4o-mini")
    assert events[0]["tags"] == {"tko_routing_rule": rule["id"]}
    assert [(e["requested_model"], e["model"]) for e in events[1:]] == [
        ("gpt-4.1", "gpt-4.1"),
        ("gpt-4.1", "gpt-4.1-nano"),
    ]


def test_a_rule_sends_calls_to_its_upstream_and_falls_back_on_5xx(
    gateway: Gateway,
    client: openai.OpenAI,
    admin_key: str,
    fake_upstream: FakeUpstream,
    second_upstream: FakeUpstream,
) -> None:
    primary = _ok(
        gateway.api(
            "POST",
            "/api/v1/upstreams",
            admin_key,
            json={
                "name": "groq",
                "api": "openai",
                "base_url": second_upstream.openai_base_url,
                "provider": "groq",
                "api_key": "gsk-primary-key-123",
            },
        ),
        201,
    )
    backup = _ok(
        gateway.api(
            "POST",
            "/api/v1/upstreams",
            admin_key,
            json={
                "name": "openai",
                "api": "openai",
                "base_url": fake_upstream.openai_base_url,
                "api_key": "sk-b-9876",
            },
        ),
        201,
    )
    _ok(
        gateway.api(
            "POST",
            "/api/v1/routing-rules",
            admin_key,
            json={
                "model_pattern": "llama*",
                "upstream_id": primary["id"],
                "fallback_upstream_id": backup["id"],
                "fallback_model": "gpt-4o-mini",
            },
        ),
        201,
    )
    client.chat.completions.create(model="llama-3.3-70b-versatile", messages=PROMPT)
    assert second_upstream.requests[-1].headers["authorization"] == "Bearer gsk-primary-key-123"
    assert fake_upstream.requests == []

    second_upstream.fail_next(503)
    reply = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=PROMPT)
    assert reply.model == "gpt-4o-mini"
    assert fake_upstream.requests[-1].headers["authorization"] == "Bearer sk-b-9876"

    events = gateway.events()
    assert [(e["provider"], e["model"]) for e in events] == [
        ("groq", "llama-3.3-70b-versatile"),
        ("openai", "gpt-4o-mini"),
    ]
    assert events[1]["tags"]["tko_fallback"] == "openai"
    assert events[1]["status"] == "ok"


def test_an_unreachable_upstream_gives_502_in_the_provider_format(
    gateway: Gateway, client: openai.OpenAI, admin_key: str
) -> None:
    _ok(
        gateway.api(
            "POST",
            "/api/v1/upstreams",
            admin_key,
            json={"name": "down", "api": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        ),
        201,
    )
    with pytest.raises(openai.APIStatusError, match="Upstream 'down' is unreachable") as info:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert info.value.status_code == 502
    [event] = gateway.events()
    assert (event["status"], event["error_type"]) == ("error", "upstream_unreachable")


def test_an_upstream_restricts_models(gateway: Gateway, client: openai.OpenAI, admin_key: str) -> None:
    _ok(
        gateway.api(
            "POST",
            "/api/v1/upstreams",
            admin_key,
            json={
                "name": "cheap",
                "api": "openai",
                "base_url": gateway.openai_base_url.replace("/gateway/openai/v1", "") + "/unused/v1",
                "allowed_models": ["gpt-4o-mini"],
            },
        ),
        201,
    )
    with pytest.raises(openai.PermissionDeniedError, match="Model 'gpt-4o' is not allowed"):
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)


# -- keys -----------------------------------------------------------------------------------------


def test_callers_own_provider_key_only_when_the_org_allows_it(
    gateway: Gateway, client: openai.OpenAI, admin_key: str, fake_upstream: FakeUpstream
) -> None:
    own = {"x-tko-provider-key": "sk-callers-own-key"}
    with pytest.raises(openai.PermissionDeniedError, match="does not allow callers' own provider keys"):
        client.chat.completions.create(model="gpt-4o", messages=PROMPT, extra_headers=own)
    _ok(gateway.api("PUT", "/api/v1/gateway/settings", admin_key, json={"allow_key_passthrough": True}))
    client.chat.completions.create(model="gpt-4o", messages=PROMPT, extra_headers=own)
    assert fake_upstream.requests[-1].headers["authorization"] == "Bearer sk-callers-own-key"
    client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert fake_upstream.requests[-1].headers["authorization"] == f"Bearer {SERVER_OPENAI_KEY}"


# -- tenants --------------------------------------------------------------------------------------


def test_each_organisation_uses_only_its_own_upstreams_and_rules(
    gateway: Gateway, client: openai.OpenAI, fake_upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    other: Tenant = make_tenant(gateway.context, "Globex")
    other_admin = make_key(gateway.context, other.org_id, ["read", "admin"])
    _ok(
        gateway.api(
            "POST",
            "/api/v1/upstreams",
            other_admin,
            json={
                "name": "globex",
                "api": "openai",
                "base_url": second_upstream.openai_base_url,
                "api_key": "sk-globex",
            },
        ),
        201,
    )
    _ok(
        gateway.api(
            "POST",
            "/api/v1/routing-rules",
            other_admin,
            json={"model_pattern": "*", "target_model": "gpt-4o-mini"},
        ),
        201,
    )
    client.chat.completions.create(model="gpt-4o", messages=PROMPT)  # Acme: server default, no rule
    assert fake_upstream.requests[-1].json["model"] == "gpt-4o"
    assert second_upstream.requests == []

    with openai.OpenAI(base_url=gateway.openai_base_url, api_key=other.key, max_retries=0) as globex:
        globex.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert second_upstream.requests[-1].json["model"] == "gpt-4o-mini"
    assert second_upstream.requests[-1].headers["authorization"] == "Bearer sk-globex"

    assert [e["model"] for e in gateway.events()] == ["gpt-4o"]
    assert [e["model"] for e in gateway.events(key=other.key)] == ["gpt-4o-mini"]


async def test_the_fast_path_middleware_serves_the_same_gateway(
    app: FastAPI, context: AppContext, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    # In-process, through httpx's ASGI transport: `GatewayFastPath` in front of the whole app.
    transport = httpx.ASGITransport(app=GatewayFastPath(app, context))
    try:
        async with openai.AsyncOpenAI(
            base_url="http://test/gateway/openai/v1",
            api_key=tenant.key,
            max_retries=0,
            http_client=httpx.AsyncClient(transport=transport),
        ) as client:
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
        assert reply.usage is not None and reply.usage.total_tokens == 4 + REPLY_TOKENS
        await context.gateway.drain()
        page = await httpx.AsyncClient(transport=transport, base_url="http://test").get(
            "/api/v1/events", headers=tenant.headers()
        )
        assert [e["model"] for e in page.json()["items"]] == ["gpt-4o-mini"]
    finally:
        await context.gateway.aclose()


def test_calls_still_queued_are_stored_when_the_server_stops(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'meta.db'}",
        secret_key="test-secret-key-that-is-long-enough",
        environment="test",
        openai_base_url=fake_upstream.openai_base_url,
        openai_api_key="sk-test",
        gateway_record_interval_seconds=3600,  # nothing is stored before the shutdown
    )
    app = create_app(settings, serve_ui=False)
    tenant = make_tenant(app.state.context, "Acme")
    server = ServerThread(app, lifespan="on")
    with server:
        base_url = server.url + "/gateway/openai/v1"
        with openai.OpenAI(base_url=base_url, api_key=tenant.key, max_retries=0) as client:
            for _ in range(3):
                client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    server.loop.close()  # the app's lifespan closed its context after the gateway stored its queue

    context = AppContext(settings)
    try:
        stored = context.store.fetch_arrow(
            "SELECT count(*) AS n FROM events WHERE org_id = ?", [tenant.org_id]
        )
        assert stored.to_pylist() == [{"n": 3}]
    finally:
        context.close()
