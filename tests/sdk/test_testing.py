"""`tokenoptimizer.testing`: what users' tests see when they capture events instead of sending them."""

from __future__ import annotations

from typing import Any

from openai import OpenAI

import tokenoptimizer
from tests.fake_upstream import REPLY_TOKENS, FakeUpstream
from tokenoptimizer.sdk import runtime
from tokenoptimizer.testing import CapturedEvents, capture_events


def test_the_fixture_captures_wrapped_calls(
    tokenoptimizer_events: CapturedEvents, fake_upstream: FakeUpstream, closing: list[Any]
) -> None:
    client = tokenoptimizer.wrap(OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0))
    closing.append(client)
    with tokenoptimizer.context(feature="search", tags={"q": "shoes"}):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "red shoes"}]
        )
    tokenoptimizer.track(provider="anthropic", model="claude-haiku-4-5", input_tokens=5, output_tokens=1)

    chat, manual = tokenoptimizer_events.events  # captured at once: no flush needed
    assert (chat["feature"], chat["tags"], chat["api"]) == ("search", {"q": "shoes"}, "chat")
    usage = tokenoptimizer_events.usage(chat)
    assert (usage.input_tokens, usage.output_tokens) == (2, REPLY_TOKENS)
    assert tokenoptimizer_events.find(provider="anthropic") == [manual]
    tokenoptimizer_events.clear()
    assert tokenoptimizer_events.events == []


def test_the_context_manager_restores_the_configuration() -> None:
    before = runtime.get()
    with capture_events(default_feature="batch") as captured:
        tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1)
    tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1)
    assert [e["feature"] for e in captured.events] == ["batch"]
    assert runtime.get() is before
