"""Environmental impact of a call (energy, CO2e, water) with EcoLogits' methodology and data.

EcoLogits' `llm_impacts` is accurate but slow for ingest (it runs a pydantic-heavy DAG, ~1 ms).
Its model is linear, though: for a given model, provider and electricity mix, every impact bound
is `a * output_tokens + b * generation_latency`, where the generation latency is
`min(request_latency, lpt * output_tokens + ttft)` (lpt/ttft from the model's deployment data or
EcoLogits' latency regression). So we fit `a`, `b`, `lpt` and `ttft` per (provider, model, zone)
and per bound from a handful of `llm_impacts` calls, cache them, and each event is then a few
multiplications. A test checks the fit against `llm_impacts` directly.

Models EcoLogits does not know, and unknown electricity zones, get None: an impact figure is never
invented. `ecologits` is a server-extra dependency and is imported lazily.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Impact", "compute_impact", "electricity_zones", "impact_provider", "m2_restored"]

# Our provider names -> EcoLogits' provider names (whose datacenter PUE/WUE it knows).
_ECOLOGITS_PROVIDERS = {
    "openai": "openai",
    "azure": "openai",
    "anthropic": "anthropic",
    "google": "google_genai",
    "mistral": "mistralai",
    "cohere": "cohere",
    "huggingface": "huggingface_hub",
}
# OpenRouter model ids carry the vendor (`openai/gpt-4o`); the vendor's own serving is assumed.
_OPENROUTER_VENDORS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google_genai",
    "mistralai": "mistralai",
    "cohere": "cohere",
}


@dataclass(frozen=True, slots=True)
class Impact:
    """Impact of one call: the mid value and EcoLogits' range for each metric.

    Attributes:
        energy_kwh: Energy in kWh (mid of the range).
        co2e_kg: Global warming potential in kg CO2e, usage plus embodied (mid).
        water_l: Water consumption in litres, usage phase (mid).
    """

    energy_kwh: float
    co2e_kg: float
    water_l: float
    energy_kwh_min: float
    energy_kwh_max: float
    co2e_kg_min: float
    co2e_kg_max: float
    water_l_min: float
    water_l_max: float


@dataclass(frozen=True, slots=True)
class _Line:
    """One bound of one metric: `a * tokens + b * latency_s`."""

    a: float
    b: float


@dataclass(frozen=True, slots=True)
class _Bound:
    """One bound (min or max) of all metrics, with its latency model."""

    lpt: float
    ttft: float
    energy: _Line
    co2e: _Line
    water: _Line


def _bounds(value: Any) -> tuple[float, float]:
    inner = value.value
    if hasattr(inner, "min"):
        return float(inner.min), float(inner.max)
    return float(inner), float(inner)


def _metrics(
    provider: str, model: str, tokens: int, latency: float, zone: str | None
) -> tuple[float, ...] | None:
    from ecologits.log import logger as ecologits_logger
    from ecologits.tracers.utils import llm_impacts

    # ecologits warns of "lower precision" the first time it sees each model; on a server that is
    # only console noise (the method and its limits are in docs/pricing.md).
    ecologits_logger.setLevel(logging.ERROR)

    out = llm_impacts(provider, model, tokens, latency, zone)
    if out.has_errors or out.energy is None or out.gwp is None or out.wcf is None:
        return None
    # (energy_min, energy_max, co2_min, co2_max, water_min, water_max)
    return (*_bounds(out.energy), *_bounds(out.gwp), *_bounds(out.wcf))


_N = 10_000  # tokens for the fit; long enough that 1-2 s latencies bind for every model
_L1, _L2 = 1.0, 2.0


@functools.lru_cache(maxsize=4096)
def _fit(provider: str, model: str, zone: str | None) -> tuple[_Bound, _Bound] | None:
    free_n = _metrics(provider, model, _N, math.inf, zone)
    if free_n is None:
        return None
    free_2n = _metrics(provider, model, 2 * _N, math.inf, zone)
    at_l1 = _metrics(provider, model, _N, _L1, zone)
    at_l2 = _metrics(provider, model, _N, _L2, zone)
    assert free_2n is not None and at_l1 is not None and at_l2 is not None
    bounds: list[_Bound] = []
    for side in (0, 1):
        lines = []
        for metric in range(3):
            i = 2 * metric + side
            b = (at_l2[i] - at_l1[i]) / (_L2 - _L1)
            a = (at_l1[i] - b * _L1) / _N
            lines.append(_Line(a, b))
        energy = lines[0]
        # Unconstrained latency L(n) = lpt * n + ttft, recovered from the energy line.
        latency_n = (free_n[side] - energy.a * _N) / energy.b
        latency_2n = (free_2n[side] - energy.a * 2 * _N) / energy.b
        lpt = (latency_2n - latency_n) / _N
        bounds.append(_Bound(lpt, latency_n - lpt * _N, *lines))
    return bounds[0], bounds[1]


def impact_provider(provider: str, model: str) -> tuple[str, str] | None:
    """EcoLogits' `(provider, model)` for one of ours, or None when it has no such provider."""
    from tokenoptimizer.pricing.catalogue import canonical_provider

    name = canonical_provider(provider)
    if name == "openrouter" and "/" in model:
        vendor, _, rest = model.partition("/")
        eco = _OPENROUTER_VENDORS.get(vendor.lower())
        return (eco, rest) if eco else None
    eco = _ECOLOGITS_PROVIDERS.get(name)
    return (eco, model) if eco else None


@functools.lru_cache(maxsize=8192)
def _resolve(provider: str, model: str, zone: str | None) -> tuple[_Bound, _Bound] | None:
    target = impact_provider(provider, model)
    if target is None:
        return None
    eco_provider, eco_model = target
    from ecologits.model_repository import models

    if models.find_model(provider=eco_provider, model_name=eco_model) is None:
        return None
    if zone is not None and zone not in electricity_zones():
        return None
    return _fit(eco_provider, eco_model, zone)


def compute_impact(
    *,
    provider: str,
    model: str,
    output_tokens: int,
    latency_ms: float | None = None,
    electricity_zone: str | None = None,
) -> Impact | None:
    """Energy, CO2e and water of one call, per EcoLogits.

    Args:
        provider: Provider name (ours).
        model: Model name as sent to the provider.
        output_tokens: All generated tokens (reasoning included).
        latency_ms: Measured request latency; caps the modelled generation time when given.
        electricity_zone: ISO 3166-1 alpha-3 zone (`FRA`, `USA`, `WOR`); None = the provider's default.

    Returns:
        The impact, or None when EcoLogits does not know the model or the zone.
    """
    bounds = _resolve(provider, model, electricity_zone)
    if bounds is None or output_tokens <= 0:
        return None if bounds is None else _ZERO
    values: list[float] = []
    for bound in bounds:
        latency = bound.lpt * output_tokens + bound.ttft
        if latency_ms is not None and latency_ms >= 0:
            latency = min(latency, latency_ms / 1000.0)
        values.extend(
            (
                bound.energy.a * output_tokens + bound.energy.b * latency,
                bound.co2e.a * output_tokens + bound.co2e.b * latency,
                bound.water.a * output_tokens + bound.water.b * latency,
            )
        )
    e_min, c_min, w_min, e_max, c_max, w_max = values
    return Impact(
        (e_min + e_max) / 2,
        (c_min + c_max) / 2,
        (w_min + w_max) / 2,
        e_min,
        e_max,
        c_min,
        c_max,
        w_min,
        w_max,
    )


_ZERO = Impact(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@functools.cache
def electricity_zones() -> frozenset[str]:
    """Electricity-mix zones EcoLogits knows (for validating an organisation's setting)."""
    from ecologits.electricity_mix_repository import electricity_mixes

    return frozenset(mix.zone for mix in electricity_mixes.list_electricity_mixes())


def m2_restored(co2e_kg: float, m2_per_kg: float) -> float:
    """Area of restored land equivalent to `co2e_kg`, at the organisation's m² per kg CO2e factor.

    Raises:
        ValueError: A negative or non-finite input.
    """
    for name, value in (("co2e_kg", co2e_kg), ("m2_per_kg", m2_per_kg)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return co2e_kg * m2_per_kg
