"""`track()`, `context()` and the sender against a real server: events arrive, attributed and priced."""

from __future__ import annotations

import asyncio

import pytest

import tokenoptimizer
from tests.conftest import Tenant
from tests.sdk.conftest import LiveServer
from tokenoptimizer.sdk import runtime


def test_tracked_events_arrive_attributed_and_priced(sdk: LiveServer, tenant: Tenant) -> None:
    with tokenoptimizer.context(feature="search", user="u1", tags={"plan": "pro"}):
        with tokenoptimizer.context(user="u2", tags={"region": "eu"}):
            inner = tokenoptimizer.track(
                provider="openai", model="gpt-4o-mini", input_tokens=1000, output_tokens=200, latency_ms=321.5
            )
        outer = tokenoptimizer.track(
            provider="anthropic",
            model="claude-haiku-4-5",
            raw_usage={"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90},
            api="messages",
            feature="override",
        )
    assert tokenoptimizer.flush(10)

    events = {e["event_id"]: e for e in sdk.events(tenant)}
    assert set(events) == {inner, outer}
    first = events[inner]
    assert (first["feature"], first["user"], first["tags"]) == (
        "search",
        "u2",
        {"plan": "pro", "region": "eu"},
    )
    assert (first["input_tokens"], first["output_tokens"], first["latency_ms"]) == (1000, 200, 321.5)
    assert first["cost_usd"] > 0 and first["price_source"] != "unknown"
    second = events[outer]
    assert (second["feature"], second["user"]) == ("override", "u1")
    # Anthropic reports cache reads beside input: the server normalised the raw usage.
    assert (second["input_tokens"], second["cache_read_tokens"], second["output_tokens"]) == (100, 90, 5)


async def test_context_follows_asyncio_tasks_and_decorators(sdk: LiveServer, tenant: Tenant) -> None:
    @tokenoptimizer.context(feature="summarise")
    async def summarise(user: str) -> str:
        await asyncio.sleep(0)
        return tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)

    @tokenoptimizer.context(team="core")
    def sync_job() -> str:
        return tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)

    async def as_user(user: str) -> str:
        with tokenoptimizer.context(user=user):
            await asyncio.sleep(0)
            return await summarise(user)

    ids = await asyncio.gather(*(asyncio.create_task(as_user(f"u{i}")) for i in range(5)))
    job = sync_job()
    plain = tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
    assert await tokenoptimizer.aflush(10)

    events = {e["event_id"]: e for e in sdk.events(tenant)}
    for i, event_id in enumerate(ids):
        assert (events[event_id]["user"], events[event_id]["feature"]) == (f"u{i}", "summarise")
    assert events[job]["team"] == "core" and events[job]["feature"] is None
    assert events[plain]["user"] is None and events[plain]["team"] is None


def test_default_feature_and_tags(server: LiveServer, tenant: Tenant, spool_dir: object) -> None:
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=server.url,
        spool_dir=spool_dir,  # type: ignore[arg-type]
        default_feature="backend",
        default_tags={"env": "test"},
        flush_interval=0.05,
    )
    plain = tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=3, output_tokens=4)
    with tokenoptimizer.context(feature="chat", tags={"env": "prod"}):
        named = tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=3, output_tokens=4)
    assert tokenoptimizer.flush(10)
    events = {e["event_id"]: e for e in server.events(tenant)}
    assert (events[plain]["feature"], events[plain]["tags"]) == ("backend", {"env": "test"})
    assert (events[named]["feature"], events[named]["tags"]) == ("chat", {"env": "prod"})


def test_many_events_go_in_batches(sdk: LiveServer, tenant: Tenant) -> None:
    ids = {
        tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=i, output_tokens=1)
        for i in range(1, 1001)
    }
    assert tokenoptimizer.flush(30)
    sender = runtime.get().sender
    assert sender is not None
    assert sender.stats.accepted == 1000
    # 1,000 events in batches of at most 200: a handful of requests, not a thousand.
    assert sender.stats.requests <= 12
    assert {e["event_id"] for e in sdk.events(tenant)} == ids


def test_an_invalid_event_does_not_lose_its_batch(sdk: LiveServer, tenant: Tenant) -> None:
    good = [
        tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=5, output_tokens=5)
        for _ in range(3)
    ]
    # The server cannot normalise this usage (no such field): it refuses this one event.
    bad = tokenoptimizer.track(
        provider="openai", model="gpt-4o-mini", raw_usage={"prompt_tokens": -3}, api="chat"
    )
    good.append(tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1))
    assert tokenoptimizer.flush(10)
    stored = {e["event_id"] for e in sdk.events(tenant)}
    assert stored == set(good) and bad not in stored
    sender = runtime.get().sender
    assert sender is not None and sender.stats.dropped_invalid == 1


def test_odd_values_are_trimmed_not_refused(sdk: LiveServer, tenant: Tenant) -> None:
    event_id = tokenoptimizer.track(
        provider="OpenAI",
        model="gpt-4o-mini",
        input_tokens=10,
        output_tokens=2,
        cache_read_tokens=50,  # more than the input: clamped
        reasoning_tokens=7,  # more than the output: clamped
        feature="f" * 500,
        tags={f"k{i}": i for i in range(80)},
        latency_ms=-5,
    )
    assert tokenoptimizer.flush(10)
    [event] = sdk.events(tenant)
    assert event["event_id"] == event_id
    assert event["provider"] == "openai"
    assert (event["cache_read_tokens"], event["reasoning_tokens"]) == (10, 2)
    assert len(event["feature"]) == 200 and len(event["tags"]) == 50
    assert event["latency_ms"] is None


def test_not_configured_records_nothing_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    event_id = tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
    assert len(event_id) == 36
    assert tokenoptimizer.flush(1) is True
    assert "not configured" in caplog.text


def test_estimate_is_local(no_network: None) -> None:
    messages = [{"role": "user", "content": "Summarise the quarterly report in three bullet points."}]
    estimate = tokenoptimizer.estimate(model="gpt-4o", messages=messages, max_output_tokens=500)
    assert estimate.method == "exact" and estimate.input_tokens > 10
    assert (
        estimate.worst_case_cost_usd is not None
        and estimate.worst_case_cost_usd > estimate.input_cost_usd > 0
    )
    assert estimate.alternatives and all(
        a.input_cost_usd < estimate.input_cost_usd for a in estimate.alternatives
    )


def test_configure_checks_its_options_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        tokenoptimizer.configure(batch_size=0)
    with pytest.raises(ValueError, match="flush_interval"):
        tokenoptimizer.configure(flush_interval=0)
    monkeypatch.setenv("TOKENOPTIMIZER_API_KEY", "tko_from_env")
    monkeypatch.setenv("TOKENOPTIMIZER_BASE_URL", "http://tokenoptimizer.internal:9000/")
    monkeypatch.setenv("TOKENOPTIMIZER_GUARD", "1")
    tokenoptimizer.configure(default_feature="jobs")
    config = runtime.get().config
    assert (config.api_key, config.base_url, config.guard) == (
        "tko_from_env",
        "http://tokenoptimizer.internal:9000",
        True,
    )
    assert config.default_feature == "jobs"
    tokenoptimizer.configure(api_key="tko_explicit")  # explicit keywords win
    assert runtime.get().config.api_key == "tko_explicit"
