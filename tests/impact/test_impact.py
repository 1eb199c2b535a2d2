import math
import time

import pytest
from ecologits.tracers.utils import llm_impacts

from tokenoptimizer.impact import Impact, compute_impact, electricity_zones, impact_provider, m2_restored

CASES = [
    ("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
    ("azure", "gpt-4o", "openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
    ("mistral", "mistral-small-latest", "mistralai", "mistral-small-latest"),
    ("openrouter", "openai/gpt-4.1-mini", "openai", "gpt-4.1-mini"),
]


def reference(
    provider: str, model: str, tokens: int, latency_ms: float | None, zone: str | None
) -> list[float]:
    out = llm_impacts(provider, model, tokens, math.inf if latency_ms is None else latency_ms / 1000, zone)
    values = []
    for metric in (out.energy, out.gwp, out.wcf):
        assert metric is not None
        inner = metric.value
        values += [inner.min, inner.max] if hasattr(inner, "min") else [inner, inner]
    return values


@pytest.mark.parametrize(("provider", "model", "eco_provider", "eco_model"), CASES)
@pytest.mark.parametrize(
    ("tokens", "latency_ms", "zone"),
    [
        (1, None, None),
        (350, None, "FRA"),
        (2000, 1500.0, None),
        (2000, 10_000_000.0, "USA"),
        (50_000, 800.0, "WOR"),
    ],
)
def test_matches_ecologits(
    provider: str,
    model: str,
    eco_provider: str,
    eco_model: str,
    tokens: int,
    latency_ms: float | None,
    zone: str | None,
    no_network: None,
) -> None:
    got = compute_impact(
        provider=provider, model=model, output_tokens=tokens, latency_ms=latency_ms, electricity_zone=zone
    )
    assert got is not None
    e_min, e_max, c_min, c_max, w_min, w_max = reference(eco_provider, eco_model, tokens, latency_ms, zone)
    assert (got.energy_kwh_min, got.energy_kwh_max) == (
        pytest.approx(e_min, rel=1e-9),
        pytest.approx(e_max, rel=1e-9),
    )
    assert (got.co2e_kg_min, got.co2e_kg_max) == (
        pytest.approx(c_min, rel=1e-9),
        pytest.approx(c_max, rel=1e-9),
    )
    assert (got.water_l_min, got.water_l_max) == (
        pytest.approx(w_min, rel=1e-9),
        pytest.approx(w_max, rel=1e-9),
    )
    assert got.energy_kwh == pytest.approx((e_min + e_max) / 2, rel=1e-9)
    assert got.co2e_kg_min <= got.co2e_kg <= got.co2e_kg_max


def test_unknown_model_provider_or_zone_gets_none() -> None:
    assert compute_impact(provider="openai", model="acme-llm", output_tokens=100) is None
    assert compute_impact(provider="groq", model="llama-3.3-70b-versatile", output_tokens=100) is None
    assert (
        compute_impact(provider="openai", model="gpt-4o-mini", output_tokens=100, electricity_zone="XXX")
        is None
    )
    assert impact_provider("my-vllm", "x") is None


def test_zero_output_is_zero_impact() -> None:
    assert compute_impact(provider="openai", model="gpt-4o-mini", output_tokens=0) == Impact(*([0.0] * 9))


def test_zones_and_m2() -> None:
    assert {"FRA", "USA", "WOR"} <= electricity_zones()
    assert m2_restored(2.0, 0.5) == 1.0
    with pytest.raises(ValueError, match="m2_per_kg"):
        m2_restored(1.0, -1.0)


def test_cached_call_is_cheap() -> None:
    compute_impact(provider="openai", model="gpt-4o-mini", output_tokens=500, latency_ms=1200.0)
    start = time.perf_counter()
    for _ in range(10_000):
        compute_impact(provider="openai", model="gpt-4o-mini", output_tokens=500, latency_ms=1200.0)
    assert (time.perf_counter() - start) / 10_000 < 50e-6
