"""Environmental impact per call (EcoLogits): pure functions, offline. See `calculation`."""

from tokenoptimizer.impact.calculation import (
    Impact,
    compute_impact,
    electricity_zones,
    impact_provider,
    m2_restored,
)

__all__ = ["Impact", "compute_impact", "electricity_zones", "impact_provider", "m2_restored"]
