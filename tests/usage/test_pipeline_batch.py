"""Batched preparation gives exactly the rows of pricing each event on its own.

`reference_prepare` below is the per-event `IngestPipeline.prepare` as it was before batches were
priced with numpy (docs/decisions/0003-batched-pricing.md), frozen here as the specification.
Hypothesis draws batches over the catalogue's hard cases — long-context tiers (Gemini 2.5 Pro
above/below 200k input tokens), dated prices (o3 before/after 2025-06-10), time-of-day prices
(DeepSeek), cached, 1-hour cache-write, audio and reasoning tokens, custom and discount overrides
with effective dates, markup and fees, unknown models and zones, raw usage from several providers,
timestamps naive/aware/missing and exactly on breakpoints — plus invalid events, and requires every
column to be equal, floats to the last bit, and errors to be the same list.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import hypothesis
import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenoptimizer.impact import compute_impact
from tokenoptimizer.pricing import NormalisedUsage, PriceOverride, billed_cost, compute_cost, normalise_usage
from tokenoptimizer.usage import pipeline as pipeline_module
from tokenoptimizer.usage.demo import generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution, IngestError, IngestPipeline, OrgPricing
from tokenoptimizer.usage.wire import WireEvent, to_wire

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ATTRIBUTION = Attribution(org_id="org", project_id="project", api_key_id="key")
LOC = ("body", "events")
BATCH_MIN = pipeline_module.BATCH_MIN_EVENTS


# --- the reference: per-event preparation, as it was --------------------------------------------


def _reference_problem(event: WireEvent) -> tuple[str, str] | None:
    counts = (
        event.input_tokens,
        event.output_tokens,
        event.cache_read_tokens,
        event.cache_write_tokens,
        event.reasoning_tokens,
    )
    if event.raw_usage is not None:
        if event.api is None:
            return "api", "'api' is required with 'raw_usage' (e.g. chat, messages, responses)"
        if any(counts):
            return "raw_usage", "give either 'raw_usage' or normalised token counts, not both"
        return None
    if event.cache_read_tokens + event.cache_write_tokens > event.input_tokens:
        return "cache_read_tokens", "cache_read_tokens + cache_write_tokens cannot exceed input_tokens"
    if event.reasoning_tokens > event.output_tokens:
        return "reasoning_tokens", "reasoning_tokens cannot exceed output_tokens (output includes reasoning)"
    return None


def _reference_usage(event: WireEvent) -> NormalisedUsage:
    if event.raw_usage is not None and event.api is not None:
        return normalise_usage(event.provider.lower(), event.api, event.raw_usage)
    return NormalisedUsage(
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cache_read_tokens=event.cache_read_tokens,
        cache_write_tokens=event.cache_write_tokens,
        reasoning_tokens=event.reasoning_tokens,
    )


_PASSTHROUGH = (
    "model",
    "requested_model",
    "endpoint",
    "request_type",
    "status",
    "error_type",
    "user",
    "end_user",
    "team",
    "feature",
    "tags",
    "latency_ms",
    "time_to_first_token_ms",
    "prompt_hash",
    "trace_id",
)
_COMPUTED = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
    "cost_reasoning_usd",
    "billed_cost_usd",
    "reported_cost_usd",
    "price_source",
    "energy_kwh",
    "co2e_kg",
    "water_l",
)


def reference_prepare(
    events: Sequence[WireEvent], attribution: Attribution, pricing: OrgPricing, *, source: str, now: datetime
) -> dict[str, list[Any]]:
    """`IngestPipeline.prepare` before batching (commit d13b6fb), with `now` given."""
    columns: dict[str, list[Any]] = {name: [] for name in _COMPUTED}
    computed = [columns[name] for name in _COMPUTED]
    event_ids: list[str] = []
    timestamps: list[datetime] = []
    providers: list[str] = []
    errors: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        problem = _reference_problem(event)
        if problem is not None:
            errors.append({"loc": [*LOC, index, problem[0]], "msg": problem[1], "type": "value_error"})
            continue
        try:
            usage = _reference_usage(event)
        except ValueError as exc:
            errors.append({"loc": [*LOC, index, "raw_usage"], "msg": str(exc), "type": "value_error"})
            continue
        provider = event.provider.lower()
        ts = event.ts or now
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        cost = compute_cost(usage, provider=provider, model=event.model, ts=ts, overrides=pricing.overrides)
        impact = compute_impact(
            provider=provider,
            model=event.model,
            output_tokens=usage.output_tokens,
            latency_ms=event.latency_ms,
            electricity_zone=pricing.electricity_zone,
        )
        reported = event.reported_cost_usd if event.reported_cost_usd is not None else usage.reported_cost_usd
        values = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.cache_write_1h_tokens,
            usage.reasoning_tokens,
            cost.total_usd,
            cost.input_usd,
            cost.cache_read_usd,
            cost.cache_write_usd,
            cost.output_usd,
            cost.reasoning_usd,
            billed_cost(
                cost.total_usd, markup_percent=pricing.markup_percent, fee_percents=pricing.fee_percents
            ),
            reported,
            cost.price_source,
            impact.energy_kwh if impact else None,
            impact.co2e_kg if impact else None,
            impact.water_l if impact else None,
        )
        for column, value in zip(computed, values, strict=True):
            column.append(value)
        event_ids.append(str(event.event_id or uuid.uuid4()))
        timestamps.append(ts)
        providers.append(provider)
    if errors:
        raise IngestError(errors)
    count = len(event_ids)
    for name in _PASSTHROUGH:
        columns[name] = [getattr(event, name) for event in events]
    columns["event_id"] = event_ids
    columns["ts"] = timestamps
    columns["provider"] = providers
    columns["org_id"] = [attribution.org_id] * count
    columns["project_id"] = [attribution.project_id] * count
    columns["api_key_id"] = [attribution.api_key_id] * count
    columns["source"] = [source] * count
    columns["ingested_at"] = [now] * count
    return columns


# --- running both the same way --------------------------------------------------------------------


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return NOW


@contextmanager
def _deterministic(batch_min_events: int) -> Iterator[None]:
    """Freeze `now`, make missing event ids predictable and choose which path `prepare` takes."""
    counter = itertools.count(1)
    with (
        mock.patch.object(pipeline_module, "datetime", _FrozenDatetime),
        mock.patch.object(uuid, "uuid4", lambda: uuid.UUID(int=next(counter))),
        mock.patch.object(pipeline_module, "BATCH_MIN_EVENTS", batch_min_events),
    ):
        yield


def _outcome(run: Callable[[], dict[str, list[Any]]]) -> tuple[str, Any]:
    try:
        return "stored", run()
    except IngestError as exc:
        return "refused", exc.errors
    except ValueError as exc:
        return "misconfigured", f"{type(exc).__name__}: {exc}"


def assert_same_as_reference(events: list[WireEvent], pricing: OrgPricing, batch_min_events: int = 1) -> str:
    """Prepare `events` both ways, require identical outcomes column by column; return the outcome."""
    pipeline = IngestPipeline(mock.Mock(), lambda _org: pricing)
    with _deterministic(batch_min_events):
        got = _outcome(lambda: pipeline.prepare(events, ATTRIBUTION, source="api"))
    with _deterministic(batch_min_events):
        expected = _outcome(lambda: reference_prepare(events, ATTRIBUTION, pricing, source="api", now=NOW))
    assert got[0] == expected[0], (got, expected)
    if got[0] != "stored":
        assert got[1] == expected[1]
        return str(got[0])
    assert set(got[1]) == set(expected[1])
    for name, values in expected[1].items():
        column = got[1][name]  # the batch path keeps numbers as numpy arrays
        column = column.tolist() if isinstance(column, np.ndarray) else column
        for index, (value, reference) in enumerate(zip(column, values, strict=True)):
            # Same type and same value; floats bit for bit (== plus type; no NaN is ever stored).
            assert type(value) is type(reference) and value == reference, (name, index, value, reference)
    return "stored"


# --- strategies ---------------------------------------------------------------------------------------

# (provider as a client sends it, model): flat, tiered, dated, time-of-day, resellers, aliases, unknown.
FLAT_MODELS = [
    ("openai", "gpt-4o"),
    ("OpenAI", "gpt-4o-mini"),
    ("openai", "o3"),
    ("openai", "o3-mini"),
    ("openai", "gpt-4o-audio-preview"),
    ("openai", "text-embedding-3-small"),
    ("google", "gemini-2.5-pro"),
    ("gemini", "gemini-2.5-flash"),
    ("google", "gemini-3-pro-preview"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-haiku-5-5"),
    ("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
    ("AWS", "global.openai.gpt-5.6-sol"),
    ("azure", "gpt-4o"),
    ("deepseek", "deepseek-chat"),
    ("deepseek", "deepseek-reasoner"),
    ("mistral", "mistral-small-latest"),
    ("openrouter", "openai/gpt-4o"),
    ("openrouter", "anthropic/claude-sonnet-4-5"),
    ("openai", "openai/gpt-4o"),
    ("xai", "grok-4"),
    ("github-copilot", "gpt-5.5"),
    ("openai", "ft:gpt-4o-mini:acme:support:abc123"),
    ("selfhosted", "llama-3-70b"),
    ("  ", "gpt-4o"),
]
# (provider, api, model) with a raw usage shape of that API.
RAW_MODELS = [
    ("openai", "chat", "gpt-4o"),
    ("openai", "chat", "gpt-4o-audio-preview"),
    ("openai", "responses", "o3"),
    ("openai", "embeddings", "text-embedding-3-small"),
    ("together", "completions", "meta-llama/Llama-3-70b-chat-hf"),
    ("azure", "chat", "gpt-4o"),
    ("openrouter", "chat", "openai/gpt-4o"),
    ("anthropic", "messages", "claude-sonnet-4-5"),
    ("bedrock", "messages", "claude-opus-4-6"),
    ("bedrock", "converse", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
    ("google", "generate_content", "gemini-2.5-pro"),
    ("google", "generate_content", "gemini-3-pro-preview"),
    ("xai", "chat", "grok-4"),
    ("deepseek", "chat", "deepseek-chat"),
    ("mistral", "embeddings", "mistral-embed"),
    ("openai", "messages", "gpt-4o"),  # unsupported pair: refused
]
MODEL_NAMES = sorted({m for _, m in FLAT_MODELS} | {m for _, _, m in RAW_MODELS})

O3_CHANGE = datetime(2025, 6, 10, tzinfo=UTC)
# Where catalogue prices of the models above change (o3, gemini-3-pro-preview, claude-opus-4-6,
# mistral-small-latest, gpt-5.6-sol on Bedrock, openai/gpt-4o on OpenRouter), and a microsecond before.
PRICE_CHANGES = [
    datetime(day.year, day.month, day.day, tzinfo=UTC)
    for day in (O3_CHANGE, datetime(2026, 1, 5), datetime(2026, 3, 13), datetime(2026, 3, 16))
    + (datetime(2026, 8, 21), datetime(2026, 10, 19))
]
INSTANTS = [
    *PRICE_CHANGES,
    *(change - timedelta(microseconds=1) for change in PRICE_CHANGES),
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 30, tzinfo=UTC),
    datetime(2026, 11, 23, 11, 59, tzinfo=UTC),
    NOW,
    datetime(2026, 11, 23, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # = NOW, another zone
]
ZONES = [None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]

tokens = st.integers(min_value=0, max_value=450_000)
# Long-context tier thresholds of the models above (a tier applies *above* its threshold).
TIER_EDGES = [100_000, 100_001, 128_000, 128_001, 200_000, 200_001, 272_000, 272_001]
small = st.integers(min_value=0, max_value=5_000)


@st.composite
def timestamps(draw: st.DrawFn) -> datetime | None:
    kind = draw(st.sampled_from(["missing", "instant", "naive", "aware", "near-now"]))
    if kind == "missing":
        return None
    if kind == "instant":
        return draw(st.sampled_from(INSTANTS))
    if kind == "near-now":
        return NOW - timedelta(seconds=draw(st.integers(min_value=0, max_value=86_400)))
    ts = draw(st.datetimes(min_value=datetime(2024, 6, 1), max_value=datetime(2027, 6, 1)))
    return ts if kind == "naive" else ts.replace(tzinfo=draw(st.sampled_from(ZONES[1:])))


@st.composite
def raw_usage(draw: st.DrawFn, provider: str, api: str, valid: bool) -> dict[str, Any]:
    """A raw usage object of the API; unless `valid`, sometimes inconsistent (the event is refused)."""
    uncached, cached, written, written_1h = draw(tokens), draw(tokens), draw(small), draw(small)
    visible, reasoning, audio_in, audio_out = draw(small), draw(small), draw(small), draw(small)
    broken = not valid and draw(st.integers(min_value=0, max_value=10)) == 0
    if broken:
        cached = uncached + 1  # more cached than the prompt (where the API counts cached inside)
    if api in ("chat", "completions", "embeddings") and provider not in ("xai", "deepseek"):
        usage: dict[str, Any] = {
            "prompt_tokens": uncached + cached + audio_in,
            "completion_tokens": visible + reasoning + audio_out,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out},
        }
        if broken:
            usage["prompt_tokens"] = uncached
        if provider == "openrouter":
            usage["cost"] = draw(st.floats(min_value=0, max_value=5, allow_nan=False))
        return {"usage": usage} if draw(st.booleans()) else usage
    if api == "responses":
        return {
            "input_tokens": uncached + cached,
            "output_tokens": visible + reasoning,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens_details": {"reasoning_tokens": reasoning},
        }
    if api == "messages":
        return {
            "input_tokens": uncached if not broken else -1,
            "output_tokens": visible,
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": written + written_1h,
            "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": written_1h},
        }
    if api == "converse":
        return {
            "inputTokens": uncached,
            "outputTokens": visible,
            "cacheReadInputTokens": cached,
            "cacheWriteInputTokens": written + written_1h,
            "cacheDetails": [{"ttl": "5m", "inputTokens": written}, {"ttl": "1h", "inputTokens": written_1h}],
        }
    if api == "generate_content":
        return {
            "usageMetadata": {
                "promptTokenCount": uncached + cached + audio_in,
                "candidatesTokenCount": visible + audio_out,
                "cachedContentTokenCount": cached if not broken else uncached + cached + audio_in + 1,
                "thoughtsTokenCount": reasoning,
                "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_in}],
                "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_out}],
            }
        }
    return {  # xai (reasoning beside completion tokens), deepseek chat (inside)
        "prompt_tokens": uncached + cached,
        "completion_tokens": visible + (reasoning if provider == "deepseek" else 0),
        "prompt_tokens_details": {"cached_tokens": cached},
        "prompt_cache_hit_tokens": cached,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


@st.composite
def wire_events(draw: st.DrawFn, *, valid: bool = True, raw: bool = True) -> WireEvent:
    """One event; unless `valid`, sometimes one the pipeline refuses."""
    data: dict[str, Any] = {}
    if raw and draw(st.integers(min_value=0, max_value=3)) == 0:
        provider, api, model = draw(st.sampled_from(RAW_MODELS if not valid else RAW_MODELS[:-1]))
        data.update(provider=provider, model=model, raw_usage=draw(raw_usage(provider, api, valid)))
        roll = draw(st.integers(min_value=0, max_value=10)) if not valid else 2
        if roll != 0:
            data["api"] = api  # else refused: raw usage without its API
        if roll == 1:
            data["input_tokens"] = 5  # refused: raw usage beside counts
    else:
        provider, model = draw(st.sampled_from(FLAT_MODELS))
        input_tokens = draw(tokens | st.sampled_from(TIER_EDGES))
        cache_read = draw(st.integers(min_value=0, max_value=input_tokens))
        cache_write = draw(st.integers(min_value=0, max_value=input_tokens - cache_read))
        reasoning, visible = draw(small), draw(small)
        data.update(
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=visible + reasoning,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
        )
        if not valid and draw(st.integers(min_value=0, max_value=10)) == 0:
            data["reasoning_tokens"] = visible + reasoning + 1  # refused: more reasoning than output
    ts = draw(timestamps())
    if ts is not None:
        data["ts"] = ts
    if draw(st.booleans()):
        data["event_id"] = uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1)))
    data["latency_ms"] = draw(st.none() | st.floats(min_value=0, max_value=120_000, allow_nan=False))
    if draw(st.booleans()):
        data["reported_cost_usd"] = draw(st.floats(min_value=0, max_value=10, allow_nan=False))
    if draw(st.booleans()):
        data.update(feature="chat", user="u1", tags={"env": "prod"}, status="error", error_type="timeout")
    return to_wire(data)


@st.composite
def overrides(draw: st.DrawFn) -> tuple[PriceOverride, ...]:
    found = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        start = draw(st.none() | st.sampled_from(INSTANTS))
        end = draw(st.none() | st.sampled_from(INSTANTS))
        if start is not None and end is not None and end <= start:
            start, end = end, start if end < start else None
        common: dict[str, Any] = {
            "id": f"o{index}",
            "model_pattern": draw(
                st.sampled_from([*MODEL_NAMES, "gpt-4o*", "*", "claude-*", "GEMINI-2.5-*"])
            ),
            "provider": draw(
                st.none() | st.sampled_from(["openai", "anthropic", "google", "aws", "selfhosted"])
            ),
            "effective_from": start,
            "effective_to": end,
        }
        if draw(st.booleans()):
            found.append(
                PriceOverride(
                    kind="custom_model",
                    input_per_mtok=draw(st.none() | st.floats(min_value=0, max_value=30)),
                    output_per_mtok=draw(st.floats(min_value=0, max_value=60)),
                    cache_read_per_mtok=draw(st.none() | st.floats(min_value=0, max_value=3)),
                    reasoning_per_mtok=draw(st.none() | st.floats(min_value=0, max_value=90)),
                    **common,
                )
            )
        else:
            found.append(
                PriceOverride(
                    kind="discount", discount_percent=draw(st.floats(min_value=0, max_value=100)), **common
                )
            )
    return tuple(found)


@st.composite
def org_pricing(draw: st.DrawFn, *, valid: bool = True) -> OrgPricing:
    percent = st.floats(min_value=-100, max_value=200, allow_nan=False)
    markup = draw(percent)
    if not valid and draw(st.integers(min_value=0, max_value=5)) == 0:
        markup = -150.0  # billed_cost refuses it
    return OrgPricing(
        markup_percent=markup,
        fee_percents=tuple(draw(st.lists(percent, max_size=2))),
        overrides=draw(overrides()),
        electricity_zone=draw(st.sampled_from([None, "FRA", "USA", "WOR", "XYZ"])),
    )


# --- the properties ---------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(wire_events(), min_size=1, max_size=60), pricing=org_pricing())
def test_batch_path_equals_per_event_reference(batch: list[WireEvent], pricing: OrgPricing) -> None:
    hypothesis.event(assert_same_as_reference(batch, pricing, batch_min_events=1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(wire_events(valid=False), min_size=1, max_size=40), pricing=org_pricing(valid=False))
def test_refusals_equal_per_event_reference(batch: list[WireEvent], pricing: OrgPricing) -> None:
    """Batches with refused events or a refused markup: the same error list, or the same rows."""
    hypothesis.event(assert_same_as_reference(batch, pricing, batch_min_events=1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(wire_events(), min_size=1, max_size=2 * BATCH_MIN), pricing=org_pricing())
def test_default_path_choice_equals_per_event_reference(batch: list[WireEvent], pricing: OrgPricing) -> None:
    assert_same_as_reference(batch, pricing, batch_min_events=BATCH_MIN)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.lists(wire_events(), min_size=1, max_size=20),
    times=st.lists(timestamps(), min_size=1, max_size=30),
    pricing=org_pricing(),
)
def test_large_groups_equal_reference(
    base: list[WireEvent], times: list[datetime | None], pricing: OrgPricing
) -> None:
    """Many events per (provider, model), at many times: tiers and breakpoints inside one group."""
    batch = [msgspec.structs.replace(e, ts=ts, event_id=None) for ts in times for e in base]
    hypothesis.event(assert_same_as_reference(batch, pricing, batch_min_events=1))


def _demo_batch(n: int) -> list[WireEvent]:
    found = []
    for chunk in generate_demo_events(n, days=30, seed=7):
        for event in chunk:
            event.pop("project")
            found.append(to_wire(event))
    return found


@pytest.mark.parametrize(
    "pricing",
    [
        OrgPricing(),
        OrgPricing(
            markup_percent=15,
            fee_percents=(2.9, 0.5),
            electricity_zone="FRA",
            overrides=(
                PriceOverride(id="d", kind="discount", model_pattern="gpt-4o*", discount_percent=12.5),
                PriceOverride(
                    id="c",
                    kind="custom_model",
                    model_pattern="claude-*",
                    input_per_mtok=2,
                    output_per_mtok=9,
                    effective_from=datetime.now(UTC) - timedelta(days=10),
                ),
            ),
        ),
    ],
)
def test_demo_traffic_equals_reference(pricing: OrgPricing) -> None:
    assert_same_as_reference(_demo_batch(3_000), pricing, batch_min_events=1)


def test_valid_batches_do_not_price_event_by_event() -> None:
    """The batch path really prices the batch: the per-event functions are never called."""
    batch = _demo_batch(500)
    pipeline = IngestPipeline(mock.Mock(), lambda _org: OrgPricing(markup_percent=10))
    refuse = mock.Mock(side_effect=AssertionError("priced event by event"))
    with (
        mock.patch.object(pipeline_module, "compute_cost", refuse),
        mock.patch.object(pipeline_module, "compute_impact", refuse),
    ):
        columns = pipeline.prepare(batch, ATTRIBUTION, source="api")
    assert len(columns["cost_usd"]) == len(batch)


def test_a_bad_event_names_every_problem_as_before() -> None:
    good = _demo_batch(100)
    bad = [
        to_wire({"provider": "openai", "model": "gpt-4o", "input_tokens": 5, "cache_read_tokens": 9}),
        to_wire({"provider": "openai", "model": "gpt-4o", "raw_usage": {"prompt_tokens": 3}}),
        to_wire({"provider": "openai", "model": "gpt-4o", "api": "chat", "raw_usage": {"prompt_tokens": -3}}),
    ]
    batch = good[:40] + bad[:1] + good[40:80] + bad[1:] + good[80:]
    assert_same_as_reference(batch, OrgPricing(), batch_min_events=1)
    with pytest.raises(IngestError) as refused:
        IngestPipeline(mock.Mock(), lambda _org: OrgPricing()).prepare(batch, ATTRIBUTION, source="api")
    assert [e["loc"][2:] for e in refused.value.errors] == [
        [40, "cache_read_tokens"],
        [81, "api"],
        [82, "raw_usage"],
    ]


def test_counts_beyond_the_fast_range_take_the_per_event_path() -> None:
    """Counts the API would refuse but a Python caller can build are priced exactly, not overflowed."""
    batch = _demo_batch(50)
    huge = WireEvent(provider="openai", model="gpt-4o", input_tokens=2**70, output_tokens=3)
    assert_same_as_reference([*batch, huge], OrgPricing(), batch_min_events=1)
