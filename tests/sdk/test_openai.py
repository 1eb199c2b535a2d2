"""The official `openai` SDK, wrapped, against the fake upstream; events checked in the real server.

The fake upstream counts input tokens as the words of the request and answers `REPLY_TOKENS`
words (see tests/fake_upstream.py), so every count below is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

import tokenoptimizer
from tests.conftest import Tenant
from tests.fake_upstream import REPLY, REPLY_TOKENS, FakeUpstream
from tests.sdk.conftest import LiveServer
from tests.servers import free_port
from tokenoptimizer.sdk.events import ESTIMATED_TAG
from tokenoptimizer.testing import CapturedEvents

HELLO = [{"role": "user", "content": "Say hello to me"}]  # 4 input tokens


Make = Callable[..., OpenAI]


@pytest.fixture
def make(fake_upstream: FakeUpstream, closing: list[Any]) -> Make:
    """New (unwrapped) clients of the fake upstream, closed after the test."""

    def factory(base_url: str = fake_upstream.openai_base_url) -> OpenAI:
        client = OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        closing.append(client)
        return client

    return factory


def _events(server: LiveServer, tenant: Tenant) -> list[dict[str, Any]]:
    assert tokenoptimizer.flush(10)
    return sorted(server.events(tenant), key=lambda e: e["ts"])


def test_wrap_returns_the_same_client(make: Make, fake_upstream: FakeUpstream) -> None:
    client = make()
    assert tokenoptimizer.wrap(client) is client
    assert type(client) is OpenAI
    assert tokenoptimizer.wrap(client) is client  # twice: still one recording per call
    with pytest.raises(TypeError, match="supports openai and anthropic"):
        tokenoptimizer.wrap(object())


def test_chat_completion(make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream) -> None:
    fake_upstream.cached_tokens = 2
    fake_upstream.reasoning_tokens = 3
    client = tokenoptimizer.wrap(make())
    with tokenoptimizer.context(feature="greet", user="u1"):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert reply.choices[0].message.content == REPLY
    [event] = _events(sdk, tenant)
    assert (event["provider"], event["model"], event["endpoint"]) == (
        "openai",
        "gpt-4o-mini",
        "/chat/completions",
    )
    assert (event["feature"], event["user"], event["status"]) == ("greet", "u1", "ok")
    # OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens.
    assert (event["input_tokens"], event["cache_read_tokens"]) == (4, 2)
    assert (event["output_tokens"], event["reasoning_tokens"]) == (REPLY_TOKENS + 3, 3)
    assert event["cost_usd"] > 0 and event["price_source"] != "unknown"
    assert event["latency_ms"] > 0 and event["time_to_first_token_ms"] is None
    assert event["tags"] == {}


def test_chat_stream_with_usage(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    client = tokenoptimizer.wrap(make())
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert type(stream) is openai.Stream
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == REPLY
    [event] = _events(sdk, tenant)
    assert (event["input_tokens"], event["output_tokens"]) == (4, REPLY_TOKENS)
    assert 0 < event["time_to_first_token_ms"] <= event["latency_ms"]
    assert ESTIMATED_TAG not in event["tags"]


def test_chat_stream_without_usage_is_estimated_and_the_request_unchanged(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    client = tokenoptimizer.wrap(make())
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert "stream_options" not in fake_upstream.requests[-1].json  # the SDK does not alter the call
    assert all(chunk.usage is None for chunk in chunks)
    [event] = _events(sdk, tenant)
    assert event["tags"] == {ESTIMATED_TAG: "estimated"}
    # Counted with the model's tokenizer: the reply is 11 o200k tokens, the prompt 4 + framing.
    assert event["output_tokens"] == 11
    assert event["input_tokens"] == 4 + 1 + 3 + 3  # words, the role, framing, priming
    assert event["cost_usd"] > 0


def test_stream_helper_and_raw_response_and_with_options(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    client = tokenoptimizer.wrap(make())
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=HELLO, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == REPLY
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    assert raw.parse().usage is not None
    copied = client.with_options(timeout=5)
    copied.chat.completions.create(model="gpt-4.1-mini", messages=HELLO)
    events = _events(sdk, tenant)
    assert [e["model"] for e in events] == ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"]
    assert all((e["input_tokens"], e["output_tokens"]) == (4, REPLY_TOKENS) for e in events)


def test_responses_and_embeddings(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.cached_tokens = 1
    client = tokenoptimizer.wrap(make())
    response = client.responses.create(model="gpt-4.1-mini", instructions="Be brief", input="Say hello")
    assert response.output_text == REPLY
    streamed = [e.type for e in client.responses.create(model="gpt-4.1-mini", input="Say hello", stream=True)]
    assert streamed[-1] == "response.completed"
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    assert len(embedding.data) == 2
    plain, stream, embed = _events(sdk, tenant)
    assert (plain["endpoint"], plain["input_tokens"], plain["cache_read_tokens"]) == ("/responses", 4, 1)
    assert plain["output_tokens"] == REPLY_TOKENS
    assert (stream["input_tokens"], stream["output_tokens"]) == (2, REPLY_TOKENS)
    assert stream["time_to_first_token_ms"] > 0
    assert (embed["request_type"], embed["input_tokens"], embed["output_tokens"]) == ("embedding", 3, 0)
    assert embed["cost_usd"] > 0


async def test_async_client(sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream) -> None:
    async with AsyncOpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0) as client:
        await _async_calls(tokenoptimizer.wrap(client))
    chat, streamed, responses, embed = _events(sdk, tenant)
    assert all(e["feature"] == "async" for e in (chat, streamed, responses, embed))
    assert (chat["input_tokens"], chat["output_tokens"]) == (4, REPLY_TOKENS)
    assert (streamed["output_tokens"], streamed["tags"]) == (REPLY_TOKENS, {})
    assert streamed["time_to_first_token_ms"] > 0
    assert (responses["endpoint"], responses["input_tokens"]) == ("/responses", 1)
    assert embed["input_tokens"] == 5


async def _async_calls(client: AsyncOpenAI) -> None:
    assert type(client) is AsyncOpenAI
    with tokenoptimizer.context(feature="async"):
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        assert type(stream) is openai.AsyncStream
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        events = [
            e.type async for e in await client.responses.create(model="gpt-4o", input="hi", stream=True)
        ]
        await client.embeddings.create(model="text-embedding-3-small", input="a b c d e")
    assert reply.choices[0].message.content == text == REPLY
    assert events[-1] == "response.completed"


def test_a_stream_closed_early_is_recorded(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    client = tokenoptimizer.wrap(make())
    with client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break  # the caller stops after the first word
    [event] = _events(sdk, tenant)
    assert event["status"] == "ok" and event["tags"] == {ESTIMATED_TAG: "estimated"}
    assert event["output_tokens"] >= 1 and event["input_tokens"] == 11


# --- errors: exactly the exceptions of the unwrapped client ------------------------------------


def _outcome(call: Any) -> tuple[type[BaseException], Any, Any, str]:
    with pytest.raises(openai.OpenAIError) as info:
        call()
    exc = info.value
    return type(exc), getattr(exc, "status_code", None), getattr(exc, "body", None), str(exc)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
def test_upstream_errors_are_the_same_exceptions(
    make: Make, status: int, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    plain = make()
    wrapped = tokenoptimizer.wrap(make())

    def call(client: OpenAI) -> Any:
        fake_upstream.fail_next(status)
        return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

    expected = _outcome(call(plain))
    assert _outcome(call(wrapped)) == expected  # class, status, body and message
    [event] = _events(sdk, tenant)
    assert event["status"] == "error" and event["tags"] == {"http_status": str(status)}
    assert event["error_type"] == expected[0].__name__  # e.g. RateLimitError
    assert (event["input_tokens"], event["output_tokens"], event["cost_usd"]) == (0, 0, 0)


def test_connection_errors_and_cut_streams_are_the_same_exceptions(
    make: Make, sdk: LiveServer, tenant: Tenant, fake_upstream: FakeUpstream
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    plain = make(nowhere)
    wrapped = tokenoptimizer.wrap(make(nowhere))
    assert _outcome(lambda: wrapped.embeddings.create(model="text-embedding-3-small", input="x")) == _outcome(
        lambda: plain.embeddings.create(model="text-embedding-3-small", input="x")
    )

    def read_cut_stream(client: OpenAI) -> Any:
        def run() -> None:
            fake_upstream.cut_next_stream(after_chunks=3)
            for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
                pass

        return run

    assert _outcome(read_cut_stream(tokenoptimizer.wrap(make()))) == _outcome(read_cut_stream(make()))
    refused, cut = _events(sdk, tenant)
    assert (refused["status"], refused["error_type"]) == ("error", "APIConnectionError")
    # The cut stream consumed tokens: recorded as an error with the counted tokens.
    assert (cut["status"], cut["tags"]) == ("error", {ESTIMATED_TAG: "estimated"})
    assert cut["input_tokens"] == 11 and cut["output_tokens"] >= 1
    assert cut["time_to_first_token_ms"] > 0


def test_provider_detection(make: Make, closing: list[Any]) -> None:
    from tokenoptimizer.sdk.wrap import _MARK

    groq = tokenoptimizer.wrap(make("https://api.groq.com/openai/v1"))
    local = tokenoptimizer.wrap(make())
    named = tokenoptimizer.wrap(make(), provider="Together")
    azure = openai.AzureOpenAI(
        api_key="x", azure_endpoint="https://example.openai.azure.com", api_version="2024-10-21"
    )
    closing.append(tokenoptimizer.wrap(azure))
    providers = [c.__dict__[_MARK].provider for c in (groq, local, named, azure)]
    assert providers == ["groq", "openai", "together", "azure"]


def test_every_helper_ends_in_one_event(make: Make, tokenoptimizer_events: CapturedEvents) -> None:
    client = tokenoptimizer.wrap(make())
    client.chat.completions.parse(model="gpt-4o-mini", messages=[{"role": "user", "content": "a b"}])
    client.responses.parse(model="gpt-4o-mini", input="a b c")
    with client.responses.stream(model="gpt-4o-mini", input="a b c d") as stream:
        stream.get_final_response()
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "a b c d e"}]
    ) as raw:
        raw.parse()
    client.models.list()  # not an LLM call: not recorded
    events = tokenoptimizer_events.events
    assert [(e["endpoint"], tokenoptimizer_events.usage(e).input_tokens) for e in events] == [
        ("/chat/completions", 2),
        ("/responses", 3),
        ("/responses", 4),
        ("/chat/completions", 5),
    ]
