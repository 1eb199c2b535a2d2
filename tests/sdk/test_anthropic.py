"""The official `anthropic` SDK, wrapped, against the fake upstream; events checked in the real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic

import tokenoptimizer
from tests.conftest import Tenant
from tests.fake_upstream import REPLY, REPLY_TOKENS, FakeUpstream
from tests.sdk.conftest import LiveServer
from tests.servers import free_port
from tokenoptimizer.sdk.events import ESTIMATED_TAG
from tokenoptimizer.testing import CapturedEvents

HELLO = [{"role": "user", "content": "Say hello to me"}]  # 4 input tokens

Make = Callable[..., Anthropic]


@pytest.fixture
def make(fake_upstream: FakeUpstream, closing: list[Any]) -> Make:
    def factory(base_url: str = fake_upstream.anthropic_base_url) -> Anthropic:
        client = Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)
        closing.append(client)
        return client

    return factory


def _events(server: LiveServer, tenant: Tenant) -> list[dict[str, Any]]:
    assert tokenoptimizer.flush(10)
    return sorted(server.events(tenant), key=lambda e: e["ts"])


def test_messages(make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream) -> None:
    fake_upstream.cached_tokens = 20
    fake_upstream.cache_write_tokens = 30
    client = tokenoptimizer.wrap(make())
    assert type(client) is Anthropic
    with tokenoptimizer.context(feature="support", end_user="c-9"):
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, system="Be kind", messages=HELLO
        )
    assert message.content[0].text == REPLY  # type: ignore[union-attr]
    [event] = _events(sdk, tenant)
    assert (event["provider"], event["model"], event["endpoint"]) == (
        "anthropic",
        "claude-haiku-4-5",
        "/v1/messages",
    )
    assert (event["feature"], event["end_user"]) == ("support", "c-9")
    # Anthropic reports cache reads and writes beside input_tokens; normalised input includes them.
    assert (event["input_tokens"], event["cache_read_tokens"], event["cache_write_tokens"]) == (56, 20, 30)
    assert event["output_tokens"] == REPLY_TOKENS
    assert event["cost_usd"] > 0 and event["price_source"] != "unknown"


def test_streams(make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream) -> None:
    client = tokenoptimizer.wrap(make())
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=HELLO, stream=True)
    assert type(stream) is anthropic.Stream
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=3, messages=HELLO) as helper:
        assert helper.get_final_text() == " ".join(REPLY.split()[:3])
    raw, helped = _events(sdk, tenant)
    assert (raw["input_tokens"], raw["output_tokens"], raw["tags"]) == (4, REPLY_TOKENS, {})
    assert 0 < raw["time_to_first_token_ms"] <= raw["latency_ms"]
    assert (helped["input_tokens"], helped["output_tokens"]) == (4, 3)


async def test_async_client(sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream) -> None:
    async with AsyncAnthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="sk", max_retries=0
    ) as client:
        wrapped = tokenoptimizer.wrap(client)
        assert type(wrapped) is AsyncAnthropic
        with tokenoptimizer.context(user="async-user"):
            message = await wrapped.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=HELLO)
            stream = await wrapped.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=HELLO, stream=True
            )
            assert type(stream) is anthropic.AsyncStream
            kinds = [event.type async for event in stream]
            async with wrapped.messages.stream(model="claude-haiku-4-5", max_tokens=50, messages=HELLO) as s:
                text = await s.get_final_text()
    assert message.content[0].text == text == REPLY  # type: ignore[union-attr]
    assert kinds[-1] == "message_stop"
    events = _events(sdk, tenant)
    assert [(e["user"], e["input_tokens"], e["output_tokens"]) for e in events] == [
        ("async-user", 4, REPLY_TOKENS)
    ] * 3
    assert events[1]["time_to_first_token_ms"] > 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 429, 500, 529])
def test_upstream_errors_are_the_same_exceptions(
    make: Make, status: int, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    def outcome(client: Anthropic) -> tuple[Any, ...]:
        fake_upstream.fail_next(status)
        with pytest.raises(anthropic.APIStatusError) as info:
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
        exc = info.value
        return type(exc), exc.status_code, exc.body, str(exc)

    plain = outcome(make())
    assert outcome(tokenoptimizer.wrap(make())) == plain
    [event] = _events(sdk, tenant)
    assert (event["status"], event["error_type"]) == ("error", plain[0].__name__)
    assert event["tags"] == {"http_status": str(status)}


def test_connection_errors_and_cut_streams(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    def refused(client: Anthropic) -> tuple[Any, ...]:
        with pytest.raises(anthropic.APIConnectionError) as info:
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
        return type(info.value), str(info.value)

    assert refused(tokenoptimizer.wrap(make(nowhere))) == refused(make(nowhere))

    def cut(client: Anthropic) -> tuple[Any, ...]:
        fake_upstream.cut_next_stream(after_chunks=5)  # start, block start, ping, two words
        with pytest.raises(Exception) as info:
            for _ in client.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=HELLO, stream=True
            ):
                pass
        return type(info.value), str(info.value)

    assert cut(tokenoptimizer.wrap(make())) == cut(make())
    failed, interrupted = _events(sdk, tenant)
    assert (failed["status"], failed["error_type"]) == ("error", "APIConnectionError")
    # Cut after two words: the input is known from message_start, the output counted.
    assert (interrupted["status"], interrupted["tags"]) == ("error", {ESTIMATED_TAG: "estimated"})
    assert interrupted["input_tokens"] == 4 and interrupted["output_tokens"] >= 2


def test_beta_messages_are_recorded_and_token_counting_is_not(
    make: Make, tokenoptimizer_events: CapturedEvents
) -> None:
    client = tokenoptimizer.wrap(make())
    client.beta.messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x y z"}]
    )
    client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "x y z"}])
    [event] = tokenoptimizer_events.events
    assert (event["endpoint"], event["api"]) == ("/v1/messages", "messages")
    assert tokenoptimizer_events.usage(event).input_tokens == 3
