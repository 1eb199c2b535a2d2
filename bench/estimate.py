"""Time estimate() for a 2,000-token prompt, compute_cost() and compute_impact() with warm caches.

Run: .venv/bin/python bench/estimate.py   (prints medians; no network is used)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tokenoptimizer.impact import compute_impact
from tokenoptimizer.pricing import NormalisedUsage, PriceOverride, compute_cost
from tokenoptimizer.tokens import estimate, get_encoding

PROMPT = ("Summarise the quarterly report. Revenue grew 12% while costs fell. " * 125).strip()
MESSAGES = [{"role": "system", "content": "You are a concise analyst."}, {"role": "user", "content": PROMPT}]


def median_us(fn: Callable[[], object], *, batch: int, rounds: int = 15) -> float:
    fn()  # warm caches
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return statistics.median(samples)


def main() -> None:
    tokens = len(get_encoding("o200k_base").encode_ordinary(PROMPT))
    usage = NormalisedUsage(
        input_tokens=12_000, output_tokens=800, cache_read_tokens=4000, reasoning_tokens=300
    )
    ts = datetime(2026, 11, 2, 12, tzinfo=UTC)
    overrides = (
        PriceOverride(id="neg", kind="discount", model_pattern="*", provider="openai", discount_percent=20),
        PriceOverride(
            id="ft", kind="custom_model", model_pattern="ft:*", input_per_mtok=3, output_per_mtok=12
        ),
    )
    rows = [
        (
            f"estimate(), {tokens}-token prompt, gpt-4o",
            median_us(
                lambda: estimate(model="gpt-4o", messages=MESSAGES, max_output_tokens=1000, ts=ts), batch=20
            ),
        ),
        (
            f"estimate(), {tokens}-token prompt, claude-sonnet-4-5",
            median_us(
                lambda: estimate(
                    model="claude-sonnet-4-5",
                    provider="anthropic",
                    messages=MESSAGES,
                    max_output_tokens=1000,
                    ts=ts,
                ),
                batch=20,
            ),
        ),
        (
            "compute_cost(), cached, flat price",
            median_us(lambda: compute_cost(usage, provider="openai", model="gpt-4o", ts=ts), batch=20_000),
        ),
        (
            "compute_cost(), cached, tiered price",
            median_us(
                lambda: compute_cost(usage, provider="google", model="gemini-2.5-pro", ts=ts), batch=20_000
            ),
        ),
        (
            "compute_cost(), cached, with 2 overrides",
            median_us(
                lambda: compute_cost(usage, provider="openai", model="gpt-4o", ts=ts, overrides=overrides),
                batch=20_000,
            ),
        ),
        (
            "compute_cost(), cached, unknown model",
            median_us(lambda: compute_cost(usage, provider="openai", model="acme", ts=ts), batch=20_000),
        ),
        (
            "compute_impact(), cached",
            median_us(
                lambda: compute_impact(
                    provider="openai", model="gpt-4o-mini", output_tokens=800, latency_ms=2100.0
                ),
                batch=20_000,
            ),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        unit = f"{value / 1000:8.3f} ms" if value >= 1000 else f"{value:8.2f} µs"
        print(f"{name:<{width}}  median {unit}")


if __name__ == "__main__":
    main()
