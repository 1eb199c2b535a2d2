"""The fake upstream speaks each provider's wire format well enough for the official SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.fake_upstream import REPLY, REPLY_TOKENS, FakeUpstream


@pytest.fixture
def client(fake_upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk-test", max_retries=0) as oai:
        yield oai


def test_openai_chat_non_stream_and_stream(fake_upstream: FakeUpstream, client: openai.OpenAI) -> None:
    fake_upstream.cached_tokens = 2
    fake_upstream.reasoning_tokens = 3
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello to me"}]
    )
    assert reply.model == "gpt-4o-mini"
    assert reply.choices[0].message.content == REPLY
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 4
    assert reply.usage.completion_tokens == REPLY_TOKENS + 3
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 2
    assert reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 3

    chunks = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Say hello to me"}],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=3,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == " ".join(REPLY.split()[:3])
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3 + 3
    assert fake_upstream.requests[-1].headers["authorization"] == "Bearer sk-test"


def test_openai_other_endpoints(client: openai.OpenAI) -> None:
    emb = client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 8
    assert emb.usage.prompt_tokens == 3
    comp = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="a b c", max_tokens=2)
    assert comp.choices[0].text == "Hello! I"
    assert [m.id for m in client.models.list()][0] == "gpt-4o-mini"
    resp = client.responses.create(model="gpt-4.1-mini", input="Say hello to me")
    assert resp.output_text == REPLY
    assert resp.usage is not None and resp.usage.input_tokens == 4
    events = list(client.responses.create(model="gpt-4.1-mini", input="Say hello", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage is not None
    assert events[-1].response.usage.output_tokens == REPLY_TOKENS


async def test_anthropic_messages(fake_upstream: FakeUpstream) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test", max_retries=0
    )
    async with client:
        await _anthropic_calls(client, fake_upstream)


async def _anthropic_calls(client: anthropic.AsyncAnthropic, fake_upstream: FakeUpstream) -> None:
    fake_upstream.cached_tokens = 5
    msg = await client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system="Be brief",
        messages=[{"role": "user", "content": "Say hello to me"}],
    )
    assert msg.model == "claude-haiku-4-5"
    assert msg.usage.input_tokens == 6 and msg.usage.output_tokens == REPLY_TOKENS
    assert msg.usage.cache_read_input_tokens == 5
    async with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=2, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Hello! I"
    assert final.usage.output_tokens == 2 and final.stop_reason == "max_tokens"
    count = await client.messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "one two three"}]
    )
    assert count.input_tokens == 3


def test_errors_and_cut_streams(fake_upstream: FakeUpstream) -> None:
    with (
        openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk-test", max_retries=0) as oai,
        anthropic.Anthropic(base_url=fake_upstream.anthropic_base_url, api_key="k", max_retries=0) as ant,
    ):
        _errors_and_cuts(oai, ant, fake_upstream)


def _errors_and_cuts(oai: openai.OpenAI, ant: anthropic.Anthropic, fake_upstream: FakeUpstream) -> None:
    fake_upstream.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    fake_upstream.fail_next(529, count=2)
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError) as info:
            ant.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert info.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Fake upstream error 529"},
        }
    fake_upstream.cut_next_stream(after_chunks=3)
    got = []
    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        for chunk in oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            got.append(chunk)
    assert len(got) == 3
    # The next call works again.
    assert oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}]).choices
