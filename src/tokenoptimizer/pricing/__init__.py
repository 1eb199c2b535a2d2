"""Pricing: usage normalisation, the price catalogue, costs, overrides, markup and currency.

Pure functions over plain data (no I/O beyond reading package data, no network): the ingestion
pipeline, the gateway and the SDK all price calls with the same code. See docs/pricing.md.
"""

from tokenoptimizer.pricing.catalogue import (
    CATALOGUE_VERSION,
    ModelPrice,
    canonical_provider,
    catalogue_provider_id,
    list_models,
)
from tokenoptimizer.pricing.cost import CostBreakdown, PriceOverride, billed_cost, compute_cost
from tokenoptimizer.pricing.currency import convert_currency, supported_currencies
from tokenoptimizer.pricing.usage import (
    APIS,
    PROVIDERS,
    NormalisedUsage,
    UnsupportedUsageFormat,
    normalise_usage,
    supported_formats,
)

__all__ = [
    "APIS",
    "CATALOGUE_VERSION",
    "PROVIDERS",
    "CostBreakdown",
    "ModelPrice",
    "NormalisedUsage",
    "PriceOverride",
    "UnsupportedUsageFormat",
    "billed_cost",
    "canonical_provider",
    "catalogue_provider_id",
    "compute_cost",
    "convert_currency",
    "list_models",
    "normalise_usage",
    "supported_currencies",
    "supported_formats",
]
