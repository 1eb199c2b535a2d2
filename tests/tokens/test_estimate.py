import time
from datetime import UTC, datetime

import pytest

from tokenoptimizer.pricing import PriceOverride
from tokenoptimizer.tokens import count_message_tokens, estimate, get_encoding

TS = datetime(2026, 11, 2, tzinfo=UTC)
PROMPT = ("Summarise the quarterly report. Revenue grew 12% while costs fell. " * 125).strip()


def test_estimate_prices_input_and_worst_case(no_network: None) -> None:
    messages = [{"role": "user", "content": "Hello there"}]
    e = estimate(model="gpt-4o", messages=messages, max_output_tokens=1000, ts=TS)
    n = count_message_tokens(messages, "gpt-4o").tokens
    assert (e.input_tokens, e.method, e.encoding) == (n, "exact", "o200k_base")
    assert e.input_cost_usd == pytest.approx(n * 2.50 / 1e6)
    assert e.worst_case_cost_usd == pytest.approx(n * 2.50 / 1e6 + 1000 * 10 / 1e6)
    assert e.price_source.startswith("genai-prices:")


def test_alternatives_are_cheaper_sorted_and_include_same_provider(no_network: None) -> None:
    e = estimate(model="claude-sonnet-4-5", provider="anthropic", prompt=PROMPT, max_output_tokens=500, ts=TS)
    assert e.method == "approximate" and e.alternatives
    costs = [a.worst_case_cost_usd for a in e.alternatives]
    assert costs == sorted(costs)  # type: ignore[type-var]
    assert all(c is not None and c < e.worst_case_cost_usd for c in costs)  # type: ignore[operator]
    assert any(a.provider == "anthropic" for a in e.alternatives)
    gpt = next((a for a in e.alternatives if a.provider == "openai"), None)
    assert gpt is None or gpt.method == "exact"


def test_embedding_alternatives_and_prompt(no_network: None) -> None:
    e = estimate(model="text-embedding-3-large", prompt="hello world", ts=TS)
    assert e.worst_case_cost_usd is None
    assert [a.model for a in e.alternatives][0] in {"text-embedding-3-small", "amazon.titan-embed-text-v2:0"}
    assert all("embed" in a.model for a in e.alternatives)


def test_unknown_model_and_overrides(no_network: None) -> None:
    unknown = estimate(model="acme-llm", prompt="hi", ts=TS)
    assert (unknown.price_source, unknown.input_cost_usd, unknown.alternatives) == ("unknown", 0.0, ())
    custom = PriceOverride(id="c", kind="custom_model", model_pattern="acme-llm", input_per_mtok=100.0)
    priced = estimate(model="acme-llm", prompt="hi", ts=TS, overrides=[custom])
    assert priced.price_source == "override:c" and priced.alternatives


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        estimate(model="gpt-4o")
    with pytest.raises(ValueError, match="max_output_tokens"):
        estimate(model="gpt-4o", prompt="x", max_output_tokens=-1)


def test_estimate_is_fast_for_2000_tokens(no_network: None) -> None:
    assert 1800 <= len(get_encoding("o200k_base").encode_ordinary(PROMPT)) <= 2200
    messages = [{"role": "user", "content": PROMPT}]
    estimate(model="gpt-4o", messages=messages, max_output_tokens=500)  # warm caches
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        estimate(model="gpt-4o", messages=messages, max_output_tokens=500)
        runs.append(time.perf_counter() - start)
    assert sorted(runs)[len(runs) // 2] < 0.005
