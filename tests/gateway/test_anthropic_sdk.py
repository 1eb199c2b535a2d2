"""The official `anthropic` SDK (sync, async, streaming) through the gateway to a fake Anthropic server."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.fake_upstream import REPLY, REPLY_TOKENS, FakeUpstream
from tests.gateway.conftest import SERVER_ANTHROPIC_KEY, Gateway

MODEL = "claude-haiku-4-5"
PROMPT = [{"role": "user", "content": "Say hello to me"}]  # 4 input tokens at the fake upstream


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/meta.db"


@pytest.fixture
def client(gateway: Gateway) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway.anthropic_base_url, api_key=gateway.tenant.key, max_retries=0
    ) as sdk:
        yield sdk


def test_messages_are_forwarded_and_recorded(
    gateway: Gateway, client: anthropic.Anthropic, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.cached_tokens = 10
    fake_upstream.cache_write_tokens = 5
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        system="Be brief",
        messages=PROMPT,
        metadata={"user_id": "customer-7"},
        extra_headers={"x-tko-feature": "support", "x-tko-user": "bob"},
    )
    assert message.content[0].text == REPLY  # type: ignore[union-attr]

    forwarded = fake_upstream.requests[-1]
    assert forwarded.path == "/v1/messages"
    assert forwarded.headers["x-api-key"] == SERVER_ANTHROPIC_KEY
    assert "authorization" not in forwarded.headers
    assert forwarded.headers["anthropic-version"]  # the SDK's header reaches the provider

    [event] = gateway.events()
    assert event["provider"] == "anthropic"
    assert event["model"] == MODEL
    assert event["endpoint"] == "/v1/messages"
    # Anthropic reports cache reads and writes beside the input; stored input includes them.
    assert event["input_tokens"] == 6 + 10 + 5
    assert event["cache_read_tokens"] == 10
    assert event["cache_write_tokens"] == 5
    assert event["output_tokens"] == REPLY_TOKENS
    assert event["cost_usd"] > 0
    assert (event["feature"], event["user"], event["end_user"]) == ("support", "bob", "customer-7")


def test_stream_usage_comes_from_message_start_and_message_delta(
    gateway: Gateway, client: anthropic.Anthropic
) -> None:
    with client.messages.stream(model=MODEL, max_tokens=4, messages=PROMPT) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == " ".join(REPLY.split()[:4])
    assert final.usage.output_tokens == 4
    [event] = gateway.events()
    assert (event["input_tokens"], event["output_tokens"]) == (4, 4)
    assert 0 < event["time_to_first_token_ms"] <= event["latency_ms"]


async def test_async_client_stream_and_count_tokens(gateway: Gateway) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=gateway.anthropic_base_url, api_key=gateway.tenant.key, max_retries=0
    ) as client:
        message = await client.messages.create(model=MODEL, max_tokens=50, messages=PROMPT)
        assert message.usage.output_tokens == REPLY_TOKENS
        stream = await client.messages.create(model=MODEL, max_tokens=50, messages=PROMPT, stream=True)
        kinds = [event.type async for event in stream]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
        count = await client.messages.count_tokens(model=MODEL, messages=PROMPT)
        assert count.input_tokens == 4
    events = gateway.events()
    assert len(events) == 2  # token counting is free: forwarded, not recorded
    assert all((e["input_tokens"], e["output_tokens"]) == (4, REPLY_TOKENS) for e in events)


def test_a_cut_stream_raises_and_is_recorded_from_what_arrived(
    gateway: Gateway, client: anthropic.Anthropic, fake_upstream: FakeUpstream
) -> None:
    # message_start, content_block_start, ping, then 2 words.
    fake_upstream.cut_next_stream(after_chunks=5)
    with pytest.raises(anthropic.APIStatusError, match="upstream stream was interrupted"):
        with client.messages.stream(model=MODEL, max_tokens=100, messages=PROMPT) as stream:
            for _ in stream.text_stream:
                pass
    [event] = gateway.events()
    assert (event["status"], event["error_type"]) == ("error", "stream_interrupted")
    assert event["tags"] == {"tko_usage": "estimated"}
    assert event["input_tokens"] == 4  # from message_start, exact
    assert event["output_tokens"] >= 2  # "Hello! I" counted with the tokenizer


def test_upstream_errors_keep_the_anthropic_shape(
    gateway: Gateway, client: anthropic.Anthropic, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.fail_next(529)
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model=MODEL, max_tokens=10, messages=PROMPT)
    assert info.value.status_code == 529
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Fake upstream error 529"},
    }
    [event] = gateway.events()
    assert (event["status"], event["error_type"]) == ("error", "overloaded_error")


def test_gateway_errors_use_the_anthropic_shape(gateway: Gateway) -> None:
    with anthropic.Anthropic(base_url=gateway.anthropic_base_url, api_key="tko_wrong", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as info:
            bad.messages.create(model=MODEL, max_tokens=10, messages=PROMPT)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Invalid or revoked TokenOptimizer API key"},
    }
