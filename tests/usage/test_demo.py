import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tokenoptimizer.usage.demo import (
    DEMO_PROJECTS,
    FEATURES,
    MODELS,
    UNPRICED_MODEL,
    _datetime_states,
    _sampler,
    generate_demo_events,
)
from tokenoptimizer.usage.schemas import EventIn

END = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
N = 30_000


@pytest.fixture(scope="module")
def chunks() -> list[list[dict]]:
    return list(generate_demo_events(N, end=END, seed=7, chunk_size=4_000))


@pytest.fixture(scope="module")
def events(chunks: list[list[dict]]) -> list[dict]:
    return [event for chunk in chunks for event in chunk]


def test_exact_count_and_chunking(chunks: list[list[dict]], events: list[dict]) -> None:
    assert len(events) == N
    assert [len(c) for c in chunks[:-1]] == [4_000] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= 4_000
    assert len({e["event_id"] for e in events}) == N


def test_every_event_is_a_valid_ingest_event(events: list[dict]) -> None:
    for event in events:
        assert isinstance(event["project"], str) and event["project"] in DEMO_PROJECTS
        parsed = EventIn.model_validate({k: v for k, v in event.items() if k != "project"})
        assert isinstance(event["event_id"], uuid.UUID) and parsed.event_id == event["event_id"]
        assert event["event_id"].version == 4


def test_time_order_and_window(chunks: list[list[dict]], events: list[dict]) -> None:
    stamps = [e["ts"] for e in events]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in stamps)
    assert stamps == sorted(stamps)  # within and across chunks
    assert END - timedelta(days=90) <= stamps[0] and stamps[-1] < END


def test_invariants(events: list[dict]) -> None:
    for e in events:
        assert e["cache_read_tokens"] + e["cache_write_tokens"] <= e["input_tokens"]
        assert 0 <= e["reasoning_tokens"] <= e["output_tokens"]
        assert (e["status"] == "error") == (e["error_type"] is not None)
        if e["request_type"] == "embedding":
            assert e["output_tokens"] == 0 and e["time_to_first_token_ms"] is None
        if e["time_to_first_token_ms"] is not None:
            assert e["time_to_first_token_ms"] <= e["latency_ms"]


def test_same_seed_same_events_whatever_the_chunk_size() -> None:
    a = [e for c in generate_demo_events(3_000, end=END, seed=3, chunk_size=500) for e in c]
    b = [e for c in generate_demo_events(3_000, end=END, seed=3, chunk_size=2_000) for e in c]
    c = [e for c in generate_demo_events(3_000, end=END, seed=4) for e in c]
    assert a == b
    assert a != c


def test_weekdays_busier_than_weekends(events: list[dict]) -> None:
    per_day = Counter(e["ts"].date() for e in events)
    full_days = [d for d in per_day if d not in (min(per_day), max(per_day))]
    weekday = statistics.mean(per_day[d] for d in full_days if d.weekday() < 5)
    weekend = statistics.mean(per_day[d] for d in full_days if d.weekday() >= 5)
    assert weekday > 2 * weekend


def test_error_rate(events: list[dict]) -> None:
    rate = sum(e["status"] == "error" for e in events) / len(events)
    assert 0.005 <= rate <= 0.05
    assert {e["error_type"] for e in events if e["error_type"]} <= {
        "rate_limit",
        "timeout",
        "server_error",
        "context_length",
    }


def test_spike_day(events: list[dict]) -> None:
    per_day = Counter(e["ts"].date() for e in events)
    assert max(per_day.values()) > 2.5 * statistics.median(per_day.values())


def test_mix_covers_providers_features_and_people(events: list[dict]) -> None:
    assert {e["provider"] for e in events} == {"openai", "anthropic", "google", "mistral"}
    assert {e["feature"] for e in events} == {f.name for f in FEATURES}
    assert {e["model"] for e in events} == {m.name for m in MODELS}
    assert 0 < sum(e["model"] == UNPRICED_MODEL for e in events) < 0.01 * len(events)
    assert sum(e["reasoning_tokens"] > 0 for e in events) > 0
    assert sum(e["cache_write_tokens"] > 0 for e in events) > 0
    users = Counter(e["user"] for e in events)
    assert 100 <= len(users) <= 150
    top = sum(n for _, n in users.most_common(15))
    assert top > 0.3 * len(events)  # heavy-tailed: a tenth of the users make a good share of calls
    assert len({e["team"] for e in events}) == 5
    assert 0 < sum(e["end_user"] is not None for e in events) < len(events)


def test_models_are_priced_except_the_unpriced_one() -> None:
    from genai_prices import Usage, calc_price

    for model in MODELS:
        usage = Usage(input_tokens=1000, output_tokens=100)
        if model.name == UNPRICED_MODEL:
            with pytest.raises(LookupError):
                calc_price(usage, model_ref=model.name, provider_id=model.provider)
        else:
            assert calc_price(usage, model_ref=model.name, provider_id=model.provider).total_price > 0


def test_datetime_states_match_fromtimestamp() -> None:
    ts = np.random.default_rng(0).integers(0, 4_102_444_800_000_000, 5_000)  # 1970 .. 2100
    ts[:3] = [0, 951_782_400_000_000, 4_102_444_799_999_999]  # epoch, 2000-02-29, last µs of 2099
    expected = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(t)) for t in ts]
    assert [datetime(state, UTC) for state in _datetime_states(ts).tolist()] == expected


def test_sampler_follows_weights() -> None:
    weights = np.array([0.5, 0.0, 0.3, 0.2])
    assert np.allclose(np.bincount(_sampler(weights), minlength=4) / 65536, weights, atol=1e-4)


def test_default_end_is_now_and_small_inputs() -> None:
    [chunk] = list(generate_demo_events(10, days=1))
    assert datetime.now(UTC) - timedelta(days=1, minutes=2) < chunk[0]["ts"] < datetime.now(UTC)
    assert list(generate_demo_events(0, end=END)) == []
    assert sum(len(c) for c in generate_demo_events(5, days=1, end=END, projects=["only"])) == 5
    with pytest.raises(ValueError):
        next(generate_demo_events(-1))


def test_generation_rate() -> None:
    start = time.perf_counter()
    count = sum(len(chunk) for chunk in generate_demo_events(200_000, end=END))
    elapsed = time.perf_counter() - start
    print(f"\ngenerate_demo_events: {count / elapsed:,.0f} events/s ({count} events in {elapsed:.2f} s)")
