"""Costs of real usage bodies against hand computations from the providers' published prices.

Each expected value is written out as tokens x USD per million tokens / 1e6, with the price the
provider publishes (and genai-prices carries) for that model at that date.
"""

import random
from datetime import UTC, datetime

import genai_prices
import pytest
from genai_prices import data_snapshot
from genai_prices import types as gp

from tests.pricing.test_usage import (
    ANTHROPIC_CACHED,
    BEDROCK_CONVERSE,
    DEEPSEEK_CHAT,
    FIREWORKS_CHAT,
    GEMINI_THINKING,
    GROQ_CHAT,
    MISTRAL_CHAT,
    OPENAI_CHAT_CACHED,
    OPENAI_EMBEDDINGS,
    OPENAI_RESPONSES_REASONING,
    OPENROUTER_CHAT,
    TOGETHER_CHAT,
    XAI_CHAT,
)
from tokenoptimizer.pricing import (
    CostBreakdown,
    NormalisedUsage,
    PriceOverride,
    compute_cost,
    normalise_usage,
)

CATALOGUE = f"genai-prices:{genai_prices.__version__}"
TS = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
approx = pytest.approx


def cost(provider: str, api: str, body: dict[str, object], model: str, ts: datetime = TS) -> CostBreakdown:
    return compute_cost(normalise_usage(provider, api, body), provider=provider, model=model, ts=ts)


def test_openai_cached_call() -> None:
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per MTok.
    c = cost("openai", "chat", OPENAI_CHAT_CACHED, "gpt-4o-2024-08-06")
    assert c.input_usd == approx((2006 - 1920) * 2.50 / 1e6)
    assert c.cache_read_usd == approx(1920 * 1.25 / 1e6)
    assert c.output_usd == approx(300 * 10 / 1e6)
    assert c.total_usd == approx((2006 - 1920) * 2.50 / 1e6 + 1920 * 1.25 / 1e6 + 300 * 10 / 1e6)
    assert c.price_source == CATALOGUE and c.model_ref == "gpt-4o"


def test_reasoning_model_before_and_after_dated_price_change() -> None:
    # o3 went from $10/$40 to $2/$8 per MTok on 2025-06-10; reasoning is billed as output.
    before = cost(
        "openai", "responses", OPENAI_RESPONSES_REASONING, "o3", datetime(2025, 6, 9, 23, 59, tzinfo=UTC)
    )
    after = cost(
        "openai", "responses", OPENAI_RESPONSES_REASONING, "o3", datetime(2025, 6, 10, 0, 0, tzinfo=UTC)
    )
    assert before.input_usd == approx(75 * 10 / 1e6)
    assert before.output_usd == approx((1186 - 1024) * 40 / 1e6)
    assert before.reasoning_usd == approx(1024 * 40 / 1e6)
    assert before.total_usd == approx(75 * 10 / 1e6 + 1186 * 40 / 1e6)
    assert after.total_usd == approx(75 * 2 / 1e6 + 1186 * 8 / 1e6)
    assert after.reasoning_usd == approx(1024 * 8 / 1e6)


def test_dated_price_uses_utc_date_of_aware_timestamp() -> None:
    usage = NormalisedUsage(input_tokens=1_000_000)
    # 2025-06-10 01:00 in UTC+02:00 is still 2025-06-09 in UTC: the old price.
    from datetime import timedelta, timezone

    ts = datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert compute_cost(usage, provider="openai", model="o3", ts=ts).total_usd == approx(10.0)
    assert compute_cost(usage, provider="openai", model="o3", ts=ts.replace(tzinfo=None)).total_usd == approx(
        2.0
    )


def test_anthropic_cache_writes_5m_1h_and_reads() -> None:
    # Claude Sonnet 4.5: $3 input, $3.75 5-minute write, $6 1-hour write, $0.30 read, $15 output.
    c = cost("anthropic", "messages", ANTHROPIC_CACHED, "claude-sonnet-4-5-20250929")
    assert c.input_usd == approx(21 * 3 / 1e6)
    assert c.cache_write_usd == approx(1000 * 3.75 / 1e6 + 2000 * 6 / 1e6)
    assert c.cache_read_usd == approx(8000 * 0.30 / 1e6)
    assert c.output_usd == approx(393 * 15 / 1e6)
    assert c.total_usd == approx(
        21 * 3 / 1e6 + 1000 * 3.75 / 1e6 + 2000 * 6 / 1e6 + 8000 * 0.30 / 1e6 + 393 * 15 / 1e6
    )


def test_gemini_below_and_above_200k_tier() -> None:
    # Gemini 2.5 Pro: <= 200k prompt: $1.25 in, $0.125 cached, $10 out; above: $2.50, $0.25, $15.
    below = cost("google", "generate_content", GEMINI_THINKING, "gemini-2.5-pro")
    assert below.total_usd == approx(
        8000 * 1.25 / 1e6 + 4000 * 0.125 / 1e6 + 800 * 10 / 1e6 + 1200 * 10 / 1e6
    )
    assert below.reasoning_usd == approx(1200 * 10 / 1e6)
    long_prompt = {
        "usageMetadata": {
            "promptTokenCount": 250_000,
            "cachedContentTokenCount": 50_000,
            "candidatesTokenCount": 1000,
            "thoughtsTokenCount": 500,
        }
    }
    above = cost("google", "generate_content", long_prompt, "gemini-2.5-pro")
    assert above.input_usd == approx(200_000 * 2.50 / 1e6)
    assert above.cache_read_usd == approx(50_000 * 0.25 / 1e6)
    assert above.total_usd == approx(200_000 * 2.50 / 1e6 + 50_000 * 0.25 / 1e6 + 1500 * 15 / 1e6)
    edge = NormalisedUsage(input_tokens=200_000)
    assert compute_cost(edge, provider="google", model="gemini-2.5-pro", ts=TS).total_usd == approx(
        200_000 * 1.25 / 1e6
    )


def test_embedding_call() -> None:
    # text-embedding-3-small: $0.02 per MTok.
    assert cost("openai", "embeddings", OPENAI_EMBEDDINGS, "text-embedding-3-small").total_usd == approx(
        8 * 0.02 / 1e6
    )


def test_bedrock_converse_claude() -> None:
    # Claude Sonnet 4 on Bedrock (regional): $3 in, $0.30 read, $3.75 write (no separate 1h price), $15 out.
    c = cost("bedrock", "converse", BEDROCK_CONVERSE, "us.anthropic.claude-sonnet-4-20250514-v1:0")
    assert c.total_usd == approx(100 * 3 / 1e6 + 1000 * 0.30 / 1e6 + 500 * 3.75 / 1e6 + 50 * 15 / 1e6)
    assert c.provider_id == "aws"


def test_mistral_dated_price() -> None:
    # mistral-small-latest: $0.10/$0.30 until 2026-03-15, $0.15/$0.60 from 2026-03-16.
    before = cost("mistral", "chat", MISTRAL_CHAT, "mistral-small-latest", datetime(2026, 3, 15, tzinfo=UTC))
    after = cost("mistral", "chat", MISTRAL_CHAT, "mistral-small-latest", datetime(2026, 3, 16, tzinfo=UTC))
    assert before.total_usd == approx(16 * 0.10 / 1e6 + 34 * 0.30 / 1e6)
    assert after.total_usd == approx(16 * 0.15 / 1e6 + 34 * 0.60 / 1e6)


@pytest.mark.parametrize(
    ("provider", "body", "model", "expected"),
    [
        ("groq", GROQ_CHAT, "llama-3.3-70b-versatile", 18 * 0.59 / 1e6 + 556 * 0.79 / 1e6),
        (
            "together",
            TOGETHER_CHAT,
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            1000 * 0.88 / 1e6 + 200 * 0.88 / 1e6,
        ),
        (
            "fireworks",
            FIREWORKS_CHAT,
            "accounts/fireworks/models/llama-v3p1-8b-instruct",
            2000 * 0.20 / 1e6 + 500 * 0.20 / 1e6,
        ),
        # xAI grok-3-mini: $0.30 in, $0.075 cached, $0.50 out (reasoning billed as output).
        ("xai", XAI_CHAT, "grok-3-mini", 26 * 0.30 / 1e6 + 6 * 0.075 / 1e6 + (9 + 94) * 0.50 / 1e6),
    ],
)
def test_openai_compatible_providers(
    provider: str, body: dict[str, object], model: str, expected: float
) -> None:
    assert cost(provider, "chat", body, model).total_usd == approx(expected)


def test_openrouter_priced_and_reported_cost_kept() -> None:
    usage = normalise_usage("openrouter", "chat", OPENROUTER_CHAT)
    c = compute_cost(usage, provider="openrouter", model="anthropic/claude-sonnet-4", ts=TS)
    assert c.total_usd == approx(5000 * 3 / 1e6 + 5000 * 0.30 / 1e6 + 500 * 15 / 1e6)
    assert usage.reported_cost_usd == 0.0195


def test_deepseek_peak_and_off_peak() -> None:
    # deepseek-chat: $0.27 in / $0.07 hit / $1.10 out from 00:30 to 16:30 UTC, half that otherwise.
    peak = cost("deepseek", "chat", DEEPSEEK_CHAT, "deepseek-chat", datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    off = cost("deepseek", "chat", DEEPSEEK_CHAT, "deepseek-chat", datetime(2026, 5, 1, 20, 0, tzinfo=UTC))
    assert peak.total_usd == approx(400 * 0.27 / 1e6 + 600 * 0.07 / 1e6 + 200 * 1.10 / 1e6)
    assert off.total_usd == approx(400 * 0.135 / 1e6 + 600 * 0.035 / 1e6 + 200 * 0.55 / 1e6)


def test_unknown_model_costs_zero_and_is_flagged() -> None:
    usage = NormalisedUsage(input_tokens=1000, output_tokens=10)
    for provider in ("openai", None, "my-vllm"):
        c = compute_cost(usage, provider=provider, model="acme-llm-7b", ts=TS)
        assert c == CostBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "unknown")
        assert not c.known


def test_provider_given_does_not_borrow_another_providers_price() -> None:
    usage = NormalisedUsage(input_tokens=1000)
    assert compute_cost(usage, provider="my-vllm", model="gpt-4o", ts=TS).price_source == "unknown"
    assert compute_cost(usage, provider=None, model="gpt-4o", ts=TS).price_source == CATALOGUE
    # Azure resells OpenAI models; genai-prices falls back to OpenAI's price.
    assert compute_cost(usage, provider="azure", model="gpt-4o", ts=TS).total_usd == approx(1000 * 2.50 / 1e6)


def test_custom_model_override() -> None:
    usage = NormalisedUsage(
        input_tokens=10_000, output_tokens=2000, cache_read_tokens=4000, reasoning_tokens=500
    )
    custom = PriceOverride(
        id="ov_ft",
        kind="custom_model",
        model_pattern="ft:gpt-4o*",
        input_per_mtok=3.75,
        output_per_mtok=15.0,
        cache_read_per_mtok=1.875,
    )
    c = compute_cost(
        usage, provider="openai", model="ft:gpt-4o-2024-08-06:acme::abc", ts=TS, overrides=[custom]
    )
    assert c.price_source == "override:ov_ft" and c.override_ids == ("ov_ft",)
    assert c.input_usd == approx(6000 * 3.75 / 1e6)
    assert c.cache_read_usd == approx(4000 * 1.875 / 1e6)
    assert c.output_usd == approx(1500 * 15 / 1e6)
    assert c.reasoning_usd == approx(500 * 15 / 1e6)  # defaults to the output price
    # A self-hosted model the catalogue does not know gets a price too.
    hosted = PriceOverride(id="ov_h", kind="custom_model", model_pattern="acme-llm-7b", input_per_mtok=0.1)
    assert compute_cost(
        usage, provider="my-vllm", model="ACME-LLM-7B", ts=TS, overrides=(hosted,)
    ).total_usd == approx(10_000 * 0.1 / 1e6)


def test_discount_override_with_effective_window() -> None:
    usage = NormalisedUsage(input_tokens=1_000_000, output_tokens=100_000)
    discount = PriceOverride(
        id="ov_neg",
        kind="discount",
        model_pattern="*",
        provider="openai",
        discount_percent=20,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        effective_to=datetime(2027, 1, 1, tzinfo=UTC),
    )
    during = compute_cost(usage, provider="openai", model="gpt-4o", ts=TS, overrides=[discount])
    assert during.total_usd == approx((1_000_000 * 2.50 / 1e6 + 100_000 * 10 / 1e6) * 0.80)
    assert during.price_source == "override:ov_neg"
    before = compute_cost(
        usage, provider="openai", model="gpt-4o", ts=datetime(2025, 12, 31, tzinfo=UTC), overrides=[discount]
    )
    assert before.total_usd == approx(1_000_000 * 2.50 / 1e6 + 100_000 * 10 / 1e6)
    assert before.price_source == CATALOGUE
    other = compute_cost(usage, provider="anthropic", model="claude-haiku-4-5", ts=TS, overrides=[discount])
    assert other.price_source == CATALOGUE


def test_discount_applies_to_custom_price_and_most_specific_wins() -> None:
    usage = NormalisedUsage(input_tokens=1_000_000)
    overrides = [
        PriceOverride(id="all", kind="discount", model_pattern="*", discount_percent=10),
        PriceOverride(id="exact", kind="discount", model_pattern="my-model", discount_percent=50),
        PriceOverride(id="custom", kind="custom_model", model_pattern="my-*", input_per_mtok=4.0),
    ]
    c = compute_cost(usage, provider=None, model="my-model", ts=TS, overrides=overrides)
    assert c.total_usd == approx(1_000_000 * 4.0 / 1e6 * 0.5)
    assert c.price_source == "override:custom+exact" and c.override_ids == ("custom", "exact")


def test_reprice_after_override_changes() -> None:
    """A re-price recomputes stored usage with the overrides now in force, honouring effective_from."""
    events = [
        (NormalisedUsage(input_tokens=2000, output_tokens=100), datetime(2026, 10, 1, tzinfo=UTC)),
        (NormalisedUsage(input_tokens=2000, output_tokens=100), datetime(2026, 11, 1, tzinfo=UTC)),
    ]
    original = [compute_cost(u, provider="openai", model="gpt-4o-mini", ts=ts).total_usd for u, ts in events]
    new = (
        PriceOverride(
            id="ov_q4",
            kind="discount",
            model_pattern="gpt-4o-mini",
            discount_percent=25,
            effective_from=datetime(2026, 10, 15, tzinfo=UTC),
        ),
    )
    repriced = [
        compute_cost(u, provider="openai", model="gpt-4o-mini", ts=ts, overrides=new) for u, ts in events
    ]
    assert original == [approx(2000 * 0.15 / 1e6 + 100 * 0.60 / 1e6)] * 2
    assert repriced[0].total_usd == approx(original[0]) and repriced[0].price_source == CATALOGUE
    assert repriced[1].total_usd == approx((2000 * 0.15 / 1e6 + 100 * 0.60 / 1e6) * 0.75)


def test_override_validation() -> None:
    with pytest.raises(ValueError, match="discount_percent"):
        PriceOverride(id="x", kind="discount", model_pattern="*", discount_percent=120)
    with pytest.raises(ValueError, match="custom_model override needs"):
        PriceOverride(id="x", kind="custom_model", model_pattern="m")
    with pytest.raises(ValueError, match="input_per_mtok"):
        PriceOverride(id="x", kind="custom_model", model_pattern="m", input_per_mtok=-1)
    with pytest.raises(ValueError, match="effective_to"):
        PriceOverride(
            id="x",
            kind="discount",
            model_pattern="m",
            discount_percent=1,
            effective_from=datetime(2026, 2, 1),
            effective_to=datetime(2026, 1, 1),
        )
    naive = PriceOverride(
        id="x", kind="discount", model_pattern="m", discount_percent=1, effective_from=datetime(2026, 2, 1)
    )
    assert naive.effective_from == datetime(2026, 2, 1, tzinfo=UTC)


_TOKEN_KEYS = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok"}
_IGNORABLE = {"web_searches_kcount", "storage_searches_kcount"}


def _token_priced_models() -> list[tuple[gp.Provider, gp.ModelInfo]]:
    found = []
    for provider in data_snapshot.get_snapshot().providers:
        for model in provider.models:
            prices = (
                model.prices if isinstance(model.prices, list) else [gp.ConditionalPrice(prices=model.prices)]
            )
            keys = {k for c in prices for k, v in c.prices.__dict__.items() if v is not None}
            if keys and keys <= _TOKEN_KEYS | _IGNORABLE and keys & _TOKEN_KEYS:
                found.append((provider, model))
    return found


def test_agrees_with_genai_prices_on_the_whole_catalogue() -> None:
    """Our compiled float arithmetic equals genai-prices' Decimal calc_price for every token-priced model."""
    rng = random.Random(7)
    checked = 0
    for provider, model in _token_priced_models():
        cache_read, cache_write, output = rng.randint(0, 50_000), rng.randint(0, 20_000), rng.randint(0, 9000)
        total_in = cache_read + cache_write + rng.choice([1000, 150_000, 260_000, 300_000])
        ts = rng.choice([datetime(2025, 1, 1, 3, tzinfo=UTC), TS, datetime(2026, 11, 20, 18, tzinfo=UTC)])
        expected = model.calc_price(
            genai_prices.Usage(
                input_tokens=total_in,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                output_tokens=output,
            ),
            provider,
            genai_request_timestamp=ts,
        ).total_price
        usage = NormalisedUsage(
            input_tokens=total_in,
            output_tokens=output,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
        )
        got = compute_cost(usage, provider=provider.id, model=model.id, ts=ts)
        if got.model_ref != model.id:
            continue  # another model of this provider matches the id first (aliases); priced as that one
        assert got.total_usd == approx(float(expected), rel=1e-9, abs=1e-12), (provider.id, model.id)
        checked += 1
    assert checked > 1500
