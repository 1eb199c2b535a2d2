"""The official `openai` SDK (sync, async, streaming) through the gateway to a fake OpenAI server.

Token counts are the fake upstream's deterministic ones (see tests/fake_upstream.py): input =
words of the prompt, output = 9 words of its reply (or max_tokens).
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fake_upstream import REPLY, REPLY_TOKENS, FakeUpstream
from tests.gateway.conftest import SERVER_OPENAI_KEY, Gateway

PROMPT = [{"role": "user", "content": "Say hello to me"}]  # 4 input tokens at the fake upstream


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    # The proxy's hot path touches no database; one backend is enough here (tests/gateway/test_api
    # runs the configuration API on both).
    yield f"sqlite:///{tmp_path}/meta.db"


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key=gateway.tenant.key, max_retries=0) as sdk:
        yield sdk


def test_chat_is_forwarded_and_recorded_with_attribution(
    gateway: Gateway, client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.cached_tokens = 2
    fake_upstream.reasoning_tokens = 3
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=PROMPT,
        user="customer-42",
        extra_headers={
            "OpenAI-Organization": "org-someone-else",
            "x-tko-feature": "greeting",
            "x-tko-user": "alice",
            "x-tko-tags": "env=prod, team=growth",
            "x-tko-trace-id": "trace-1",
        },
    )
    assert reply.choices[0].message.content == REPLY
    assert reply.model == "gpt-4o-mini"

    forwarded = fake_upstream.requests[-1]
    assert forwarded.path == "/v1/chat/completions"
    assert forwarded.headers["authorization"] == f"Bearer {SERVER_OPENAI_KEY}"
    assert "openai-organization" not in forwarded.headers  # the server's key bills its own account
    assert not any(name.startswith("x-tko-") for name in forwarded.headers)
    assert forwarded.json["user"] == "customer-42"

    [event] = gateway.events()
    assert event["provider"] == "openai"
    assert event["model"] == "gpt-4o-mini"
    assert event["requested_model"] == "gpt-4o-mini"
    assert event["endpoint"] == "/v1/chat/completions"
    assert event["request_type"] == "chat"
    assert event["status"] == "ok"
    assert event["input_tokens"] == 4
    assert event["cache_read_tokens"] == 2
    assert event["output_tokens"] == REPLY_TOKENS + 3
    assert event["reasoning_tokens"] == 3
    assert event["cost_usd"] > 0
    assert event["price_source"] != "unknown"
    assert event["latency_ms"] > 0
    assert event["feature"] == "greeting"
    assert event["user"] == "alice"
    assert event["end_user"] == "customer-42"
    assert event["tags"] == {"env": "prod", "team": "growth"}
    assert event["project_id"] == gateway.tenant.project_id


def test_stream_usage_is_taken_and_the_added_usage_chunk_removed(
    gateway: Gateway, client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True))
    # The caller did not ask for usage: it sees the stream it would see from OpenAI.
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REPLY
    # The gateway asked the upstream for the usage chunk.
    assert fake_upstream.requests[-1].json["stream_options"] == {"include_usage": True}

    [event] = gateway.events()
    assert (event["input_tokens"], event["output_tokens"]) == (4, REPLY_TOKENS)
    assert event["tags"] == {}
    assert 0 < event["time_to_first_token_ms"] <= event["latency_ms"]


def test_stream_keeps_the_usage_chunk_the_caller_asked_for(gateway: Gateway, client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=PROMPT, stream=True, stream_options={"include_usage": True}, max_tokens=3
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    [event] = gateway.events()
    assert event["output_tokens"] == 3


async def test_async_client_and_async_stream(gateway: Gateway) -> None:
    async with openai.AsyncOpenAI(
        base_url=gateway.openai_base_url, api_key=gateway.tenant.key, max_retries=0
    ) as client:
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=PROMPT, extra_headers={"x-tko-feature": "async"}
        )
        assert reply.choices[0].message.content == REPLY
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == REPLY
    events = gateway.events()
    assert [e["feature"] for e in events] == ["async", None]
    assert all(e["input_tokens"] == 4 and e["output_tokens"] == REPLY_TOKENS for e in events)
    assert events[1]["time_to_first_token_ms"] is not None


def test_responses_completions_embeddings_and_models(gateway: Gateway, client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1-mini", input="Say hello to me", max_output_tokens=5)
    assert response.output_text == " ".join(REPLY.split()[:5])
    events = list(client.responses.create(model="gpt-4.1-mini", input="Say hello", stream=True))
    assert events[-1].type == "response.completed"
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="one two three")
    assert completion.choices[0].text == REPLY
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    assert len(embedding.data) == 2
    assert [m.id for m in client.models.list()][:2] == ["gpt-4o-mini", "gpt-4o"]
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"

    stored = gateway.events()
    summary = [(e["endpoint"], e["request_type"], e["input_tokens"], e["output_tokens"]) for e in stored]
    assert summary == [
        ("/v1/responses", "chat", 4, 5),
        ("/v1/responses", "chat", 2, REPLY_TOKENS),
        ("/v1/completions", "completion", 3, REPLY_TOKENS),
        ("/v1/embeddings", "embedding", 3, 0),
    ]
    assert stored[1]["time_to_first_token_ms"] is not None
    assert all(e["cost_usd"] > 0 for e in stored)


def test_upstream_errors_pass_through_and_are_recorded(
    gateway: Gateway, client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.fail_next(429)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert "Fake upstream error 429" in str(limited.value)
    fake_upstream.fail_next(400, {"error": {"message": "bad things", "type": "invalid_request_error"}})
    with pytest.raises(openai.BadRequestError, match="bad things"):
        client.chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True)
    events = gateway.events()
    assert [(e["status"], e["error_type"], e["input_tokens"]) for e in events] == [
        ("error", "requests", 0),
        ("error", "invalid_request_error", 0),
    ]


def test_a_cut_stream_raises_a_readable_error_and_still_yields_an_event(
    gateway: Gateway, client: openai.OpenAI, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.cut_next_stream(after_chunks=4)  # role chunk + 3 words
    received: list[str] = []
    with pytest.raises(openai.APIError, match="upstream stream was interrupted"):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Hello! I am"

    [event] = gateway.events()
    assert event["status"] == "error"
    assert event["error_type"] == "stream_interrupted"
    assert event["tags"] == {"tko_usage": "estimated"}
    # Counted with the tokenizer: the prompt with chat framing, and the text that arrived.
    assert event["input_tokens"] >= 4
    assert event["output_tokens"] == 4  # "Hello! I am" is 4 tokens for GPT-4o's tokenizer
    assert event["cost_usd"] > 0


def test_the_caller_key_must_be_a_tokenoptimizer_key_with_ingest_scope(gateway: Gateway) -> None:
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key="tko_not-a-real-key", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError, match="Invalid or revoked TokenOptimizer API key"):
            bad.chat.completions.create(model="gpt-4o", messages=PROMPT)
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key="sk-provider-key", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError, match="Missing TokenOptimizer API key"):
            bad.chat.completions.create(model="gpt-4o", messages=PROMPT)
    with openai.OpenAI(
        base_url=gateway.openai_base_url, api_key=gateway.tenant.read_key, max_retries=0
    ) as ro:
        with pytest.raises(openai.PermissionDeniedError, match="'ingest' scope"):
            ro.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert gateway.events() == []


def test_bad_attribution_headers_are_refused(gateway: Gateway, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="x-tko-tags"):
        client.chat.completions.create(
            model="gpt-4o", messages=PROMPT, extra_headers={"x-tko-tags": "novalue"}
        )
    with pytest.raises(openai.BadRequestError, match="x-tko-feature"):
        client.chat.completions.create(
            model="gpt-4o", messages=PROMPT, extra_headers={"x-tko-feature": "f" * 201}
        )
