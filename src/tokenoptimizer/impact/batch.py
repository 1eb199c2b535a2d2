"""Impact of a batch of calls at once, with the same results as `compute_impact` call by call.

`compute_impact` is a few multiplications per call once a model's fitted lines are known (see
`calculation`). Over a batch, the lines of each call's (provider, model) are gathered into arrays
and the same operations run once with numpy, in the same order, so each value is the same float.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tokenoptimizer.impact.calculation import _resolve

__all__ = ["BatchImpact", "impact_batch"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

BatchImpact = tuple[list[float | None], list[float | None], list[float | None]]
"""Energy (kWh), CO2e (kg) and water (l) of each call (mid values); None where unknown."""

_UNKNOWN = (np.nan,) * 16


@functools.lru_cache(maxsize=8192)
def _coefficients(provider: str, model: str, zone: str | None) -> tuple[float, ...]:
    """Per bound (min, then max): lpt, ttft, then `a` of energy, CO2e, water, then their `b`."""
    bounds = _resolve(provider, model, zone)
    if bounds is None:
        return _UNKNOWN
    return tuple(
        value
        for b in bounds
        for value in (b.lpt, b.ttft, b.energy.a, b.co2e.a, b.water.a, b.energy.b, b.co2e.b, b.water.b)
    )


def impact_batch(
    keys: Sequence[tuple[str, str]],
    group_of: IntArray,
    output_tokens: IntArray,
    latency_ms: FloatArray,
    electricity_zone: str | None = None,
) -> BatchImpact:
    """Energy, CO2e and water of each call, as `compute_impact(...).energy_kwh` etc. would give.

    Args:
        keys: The batch's distinct `(provider, model)` pairs.
        group_of: Each call's index into `keys`.
        output_tokens: Each call's output tokens (reasoning included).
        latency_ms: Each call's measured latency; NaN when not measured.
        electricity_zone: The organisation's zone, or None for the providers' defaults.

    Returns:
        Three lists (energy, CO2e, water), None for calls whose model or zone EcoLogits does not know.
    """
    table = np.array(
        [_coefficients(provider, model, electricity_zone) for provider, model in keys], dtype=np.float64
    ).reshape(-1, 2, 8)
    known_group = ~np.isnan(table[:, 0, 0])
    if not known_group.any():
        nothing: list[float | None] = [None] * len(group_of)
        return nothing, list(nothing), list(nothing)
    # (coefficient, bound, call): every operation below runs on both bounds of every call at once.
    coefficients = np.take(table.transpose(2, 1, 0), group_of, axis=2)
    lpt, ttft, a, b = coefficients[0], coefficients[1], coefficients[2:5], coefficients[5:8]
    latency = lpt * output_tokens + ttft
    capped = latency_ms >= 0  # False for NaN, as `latency_ms is not None and latency_ms >= 0`
    latency = np.where(capped, np.minimum(latency, latency_ms / 1000.0), latency)
    values = a * output_tokens + b * latency  # (metric, bound, call)
    mids = np.where(output_tokens > 0, (values[:, 0] + values[:, 1]) / 2, 0.0)
    if known_group.all():
        energy, co2e, water = mids.tolist()
        return energy, co2e, water
    cells = mids.astype(object)
    cells[:, ~known_group[group_of]] = None
    energy, co2e, water = cells.tolist()
    return energy, co2e, water
