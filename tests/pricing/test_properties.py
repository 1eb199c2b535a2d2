"""Property tests: cost is never negative, monotone in every token count, and the split sums to the total."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenoptimizer.pricing import NormalisedUsage, PriceOverride, compute_cost

# Flat, tiered (Gemini/Claude long context), dated, time-of-day, 1-hour cache writes, audio, unknown.
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "o3"),
    ("openai", "gpt-4o-audio-preview"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
    ("deepseek", "deepseek-chat"),
    ("mistral", "mistral-small-latest"),
    ("openrouter", "openai/gpt-4o"),
    (None, "unknown-model"),
]
OVERRIDES = (
    PriceOverride(id="d", kind="discount", model_pattern="gpt-4o", discount_percent=15),
    PriceOverride(
        id="c",
        kind="custom_model",
        model_pattern="unknown-*",
        input_per_mtok=1,
        output_per_mtok=3,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    ),
)

# Usage built from disjoint parts, so growing any one part grows the totals it belongs to.
count = st.integers(min_value=0, max_value=400_000)
parts = st.fixed_dictionaries(
    {
        "uncached": count,
        "cache_read": count,
        "cache_write_5m": count,
        "cache_write_1h": count,
        "input_audio": count,
        "output_text": count,
        "reasoning": count,
        "output_audio": count,
    }
)
PART_NAMES = [
    "uncached",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "input_audio",
    "output_text",
    "reasoning",
    "output_audio",
]


def usage_from(p: dict[str, int]) -> NormalisedUsage:
    return NormalisedUsage(
        input_tokens=p["uncached"]
        + p["input_audio"]
        + p["cache_read"]
        + p["cache_write_5m"]
        + p["cache_write_1h"],
        output_tokens=p["output_text"] + p["reasoning"] + p["output_audio"],
        cache_read_tokens=p["cache_read"],
        cache_write_tokens=p["cache_write_5m"] + p["cache_write_1h"],
        cache_write_1h_tokens=p["cache_write_1h"],
        reasoning_tokens=p["reasoning"],
        input_audio_tokens=p["input_audio"],
        output_audio_tokens=p["output_audio"],
    )


timestamps = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
model = st.sampled_from(MODELS)


@settings(max_examples=300, deadline=None)
@given(p=parts, m=model, ts=timestamps, with_overrides=st.booleans())
def test_split_sums_to_total_and_never_negative(
    p: dict[str, int], m: tuple[str | None, str], ts: datetime, with_overrides: bool
) -> None:
    c = compute_cost(
        usage_from(p), provider=m[0], model=m[1], ts=ts, overrides=OVERRIDES if with_overrides else ()
    )
    parts_usd = [c.input_usd, c.cache_read_usd, c.cache_write_usd, c.output_usd, c.reasoning_usd]
    assert all(x >= 0 for x in parts_usd)
    assert c.total_usd == sum(parts_usd)


@settings(max_examples=300, deadline=None)
@given(
    p=parts,
    m=model,
    ts=timestamps,
    part=st.sampled_from(PART_NAMES),
    extra=st.integers(min_value=1, max_value=300_000),
    with_overrides=st.booleans(),
)
def test_monotone_in_every_token_count(
    p: dict[str, int], m: tuple[str | None, str], ts: datetime, part: str, extra: int, with_overrides: bool
) -> None:
    overrides = OVERRIDES if with_overrides else ()
    before = compute_cost(usage_from(p), provider=m[0], model=m[1], ts=ts, overrides=overrides)
    grown = compute_cost(
        usage_from({**p, part: p[part] + extra}), provider=m[0], model=m[1], ts=ts, overrides=overrides
    )
    assert grown.total_usd >= before.total_usd * (1 - 1e-12)
