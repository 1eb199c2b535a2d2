"""Cost of one call: normalised usage × the price in force at the call's time, split by usage kind.

Precedence, per call: an organisation's `custom_model` override in force at `ts` replaces the
catalogue price; otherwise the catalogue (genai-prices) price in force at `ts` applies; then a
`discount` override in force at `ts` scales whichever price applied. A model neither the
catalogue nor a custom override knows costs 0 with `price_source == "unknown"` — flagged, never
raised, because ingest must not drop events for a model that launched this morning.

When several overrides of one kind match, the most specific wins: an exact model name beats a
pattern, a provider-specific override beats an any-provider one, then the latest
`effective_from`, then the later one in the sequence. Overrides never stack.

Speed (ingest prices >= 50,000 events/s): catalogue resolution is LRU-cached per
(provider, model) and compiled to floats (see `catalogue`); the overrides matching a model are
cached per overrides sequence (by identity, holding a reference so the identity stays valid), so
a cached call does a date bisect, at most a few window checks and plain arithmetic.
"""

from __future__ import annotations

import fnmatch
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from tokenoptimizer.pricing.catalogue import (
    CATALOGUE_VERSION,
    ZERO_RATES,
    Rates,
    canonical_provider,
    lookup_model,
)
from tokenoptimizer.pricing.usage import NormalisedUsage

__all__ = ["CostBreakdown", "PriceOverride", "billed_cost", "compute_cost", "rates_for"]

CATALOGUE_SOURCE = f"genai-prices:{CATALOGUE_VERSION}"
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """A call's cost in USD, split by usage kind.

    Attributes:
        input_usd: Uncached input that is not a cache write (text and audio).
        cache_read_usd: Input read from the prompt cache.
        cache_write_usd: Input written to the prompt cache (5-minute and 1-hour).
        output_usd: Output that is not reasoning (text and audio).
        reasoning_usd: Reasoning/thinking output.
        total_usd: The sum of the five parts.
        price_source: `genai-prices:<version>`, `override:<id>` (`override:<custom>+<discount>` when a
            discount applies to a custom price) or `unknown`.
        provider_id: genai-prices provider id of the matched catalogue model, if any.
        model_ref: genai-prices model id the reference matched, if any.
        override_ids: Ids of the overrides that applied.
    """

    input_usd: float
    cache_read_usd: float
    cache_write_usd: float
    output_usd: float
    reasoning_usd: float
    total_usd: float
    price_source: str
    provider_id: str | None = None
    model_ref: str | None = None
    override_ids: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """Whether any price applied (False means the model is unknown and the cost is 0)."""
        return self.price_source != UNKNOWN_SOURCE


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """An organisation's custom model price or negotiated discount.

    Attributes:
        id: Stable id; appears in `price_source` as `override:<id>`.
        kind: `custom_model` (replaces the catalogue price) or `discount` (percent off the price).
        model_pattern: Exact model name or fnmatch pattern (`ft:gpt-4o*`, `*` for every model);
            matched case-insensitively.
        provider: Only calls to this provider (our name; aliases folded), or None for any.
        input_per_mtok: Custom price, USD per million uncached input tokens.
        cache_read_per_mtok: Custom price for cache reads (default: the input price).
        cache_write_per_mtok: Custom price for cache writes (default: the input price).
        output_per_mtok: Custom price for output tokens.
        reasoning_per_mtok: Custom price for reasoning tokens (default: the output price).
        discount_percent: For `discount`: percent off, 0-100.
        effective_from: In force from this instant (inclusive); None = since always. Naive = UTC.
        effective_to: In force until this instant (exclusive); None = no end. Naive = UTC.
    """

    id: str
    kind: Literal["custom_model", "discount"]
    model_pattern: str
    provider: str | None = None
    input_per_mtok: float | None = None
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    output_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None
    discount_percent: float | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id must not be empty")
        if not self.model_pattern.strip():
            raise ValueError("model_pattern must not be empty")
        for name in (
            "input_per_mtok",
            "cache_read_per_mtok",
            "cache_write_per_mtok",
            "output_per_mtok",
            "reasoning_per_mtok",
        ):
            _check_non_negative(name, getattr(self, name))
        if self.kind == "custom_model":
            if self.input_per_mtok is None and self.output_per_mtok is None:
                raise ValueError("a custom_model override needs input_per_mtok or output_per_mtok")
        elif self.kind == "discount":
            pct = self.discount_percent
            if pct is None or not math.isfinite(pct) or not 0 <= pct <= 100:
                raise ValueError(f"discount_percent must be between 0 and 100, got {pct!r}")
        else:
            raise ValueError(f"kind must be 'custom_model' or 'discount', got {self.kind!r}")
        # Stored datetimes often come back naive from SQLite; they are UTC by contract.
        for name in ("effective_from", "effective_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        if self.effective_from and self.effective_to and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")

    def matches(self, provider: str | None, model: str) -> bool:
        """Whether this override applies to calls of `model` at `provider` (ignoring time)."""
        if self.provider is not None and (provider is None or canonical_provider(self.provider) != provider):
            return False
        pattern = self.model_pattern.strip().lower()
        if any(c in pattern for c in "*?["):
            return fnmatch.fnmatchcase(model, pattern)
        return model == pattern

    def in_force(self, ts: datetime) -> bool:
        """Whether this override is effective at `ts` (aware; naive is UTC)."""
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return (self.effective_from is None or self.effective_from <= ts) and (
            self.effective_to is None or ts < self.effective_to
        )


def _check_non_negative(name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")


@functools.lru_cache(maxsize=4096)
def _custom_rates(override: PriceOverride) -> Rates:
    input_price = override.input_per_mtok or 0.0
    output_price = override.output_per_mtok or 0.0
    cache_write = input_price if override.cache_write_per_mtok is None else override.cache_write_per_mtok
    return Rates(
        input=input_price,
        cache_read=input_price if override.cache_read_per_mtok is None else override.cache_read_per_mtok,
        cache_write=cache_write,
        cache_write_1h=cache_write,
        output=output_price,
        reasoning=output_price if override.reasoning_per_mtok is None else override.reasoning_per_mtok,
        input_audio=input_price,
        output_audio=output_price,
    )


# Candidates per (provider, model), cached per overrides sequence.
_Candidates = tuple[tuple[PriceOverride, ...], tuple[PriceOverride, ...]]  # (custom, discount), best last
_MATCH_CACHE: dict[int, tuple[Sequence[PriceOverride], dict[tuple[str | None, str], _Candidates]]] = {}
_MATCH_CACHE_MAX = 1024


def _candidates(overrides: Sequence[PriceOverride], provider: str | None, model: str) -> _Candidates:
    entry = _MATCH_CACHE.get(id(overrides))
    if entry is None or entry[0] is not overrides:
        if len(_MATCH_CACHE) >= _MATCH_CACHE_MAX:
            _MATCH_CACHE.clear()
        entry = (overrides, {})
        _MATCH_CACHE[id(overrides)] = entry
    by_model = entry[1]
    key = (provider, model)
    found = by_model.get(key)
    if found is None:
        model_key = model.strip().lower()
        ranked = sorted(
            (
                (not any(c in o.model_pattern for c in "*?["), o.provider is not None, index, o)
                for index, o in enumerate(overrides)
                if o.matches(provider, model_key)
            ),
            key=lambda item: item[:3],
        )
        found = (
            tuple(o for *_, o in ranked if o.kind == "custom_model"),
            tuple(o for *_, o in ranked if o.kind == "discount"),
        )
        if len(by_model) < 65536:
            by_model[key] = found
    return found


def _best(candidates: tuple[PriceOverride, ...], ts: datetime) -> PriceOverride | None:
    """The most specific override in force; among equals the latest `effective_from`, then the last."""
    best: PriceOverride | None = None
    floor = datetime.min.replace(tzinfo=UTC)
    for override in reversed(candidates):  # most specific first
        if not override.in_force(ts):
            continue
        if best is None:
            best = override
        elif _rank(override) == _rank(best) and (override.effective_from or floor) > (
            best.effective_from or floor
        ):
            best = override
    return best


def _rank(override: PriceOverride) -> tuple[bool, bool]:
    return (not any(c in override.model_pattern for c in "*?["), override.provider is not None)


def rates_for(
    *,
    provider: str | None,
    model: str,
    ts: datetime,
    input_tokens: int = 0,
    overrides: Sequence[PriceOverride] = (),
) -> tuple[Rates, str, str | None, str | None, tuple[str, ...]]:
    """The rates (USD per million tokens) that price a call, with where they came from.

    Returns:
        `(rates, price_source, provider_id, model_ref, override_ids)`.
    """
    provider_key = canonical_provider(provider) if provider else None
    custom = discount = None
    if overrides:
        customs, discounts = _candidates(overrides, provider_key, model)
        custom = _best(customs, ts) if customs else None
        discount = _best(discounts, ts) if discounts else None
    catalogue = lookup_model(provider_key, model)
    provider_id = catalogue.provider_id if catalogue else None
    model_ref = catalogue.model_id if catalogue else None
    ids: tuple[str, ...]
    if custom is not None:
        rates, source, ids = _custom_rates(custom), f"override:{custom.id}", (custom.id,)
    elif catalogue is not None:
        rates, source, ids = catalogue.rates_at(ts, input_tokens), CATALOGUE_SOURCE, ()
    else:
        return ZERO_RATES, UNKNOWN_SOURCE, None, None, ()
    if discount is not None:
        rates = _discounted(rates, discount.discount_percent or 0.0)
        source = f"{source}+{discount.id}" if custom is not None else f"override:{discount.id}"
        ids = (*ids, discount.id)
    return rates, source, provider_id, model_ref, ids


def _discounted(rates: Rates, percent: float) -> Rates:
    factor = 1.0 - percent / 100.0
    return Rates(
        rates.input * factor,
        rates.cache_read * factor,
        rates.cache_write * factor,
        rates.cache_write_1h * factor,
        rates.output * factor,
        rates.reasoning * factor,
        rates.input_audio * factor,
        rates.output_audio * factor,
    )


def compute_cost(
    usage: NormalisedUsage,
    *,
    provider: str | None,
    model: str,
    ts: datetime,
    overrides: Sequence[PriceOverride] = (),
) -> CostBreakdown:
    """Price one call at the price in force at `ts`.

    Args:
        usage: Normalised usage of the call.
        provider: Provider name (ours, aliases folded) or None to infer it from the model name.
        model: Model name as the client sent it.
        ts: When the call happened (aware; naive is UTC). Selects dated prices and overrides.
        overrides: The organisation's overrides; pass the same sequence object on every call so
            the per-model matching stays cached.

    Returns:
        The cost split by usage kind; all zeros with `price_source == "unknown"` for unknown models.
    """
    rates, source, provider_id, model_ref, ids = rates_for(
        provider=provider, model=model, ts=ts, input_tokens=usage.input_tokens, overrides=overrides
    )
    if source == UNKNOWN_SOURCE:
        return CostBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, UNKNOWN_SOURCE)
    cache_read = usage.cache_read_tokens
    cache_write = usage.cache_write_tokens
    write_1h = usage.cache_write_1h_tokens
    uncached = usage.input_tokens - cache_read - cache_write
    # Audio is counted inside the input/output it belongs to; cached audio cannot be told apart, so
    # audio beyond the uncached remainder is treated as already priced by the cache.
    audio_in = min(usage.input_audio_tokens, uncached)
    reasoning = usage.reasoning_tokens
    visible_out = usage.output_tokens - reasoning
    audio_out = min(usage.output_audio_tokens, visible_out)
    input_usd = ((uncached - audio_in) * rates.input + audio_in * rates.input_audio) / 1e6
    cache_read_usd = cache_read * rates.cache_read / 1e6
    cache_write_usd = ((cache_write - write_1h) * rates.cache_write + write_1h * rates.cache_write_1h) / 1e6
    output_usd = ((visible_out - audio_out) * rates.output + audio_out * rates.output_audio) / 1e6
    reasoning_usd = reasoning * rates.reasoning / 1e6
    total = input_usd + cache_read_usd + cache_write_usd + output_usd + reasoning_usd
    return CostBreakdown(
        input_usd,
        cache_read_usd,
        cache_write_usd,
        output_usd,
        reasoning_usd,
        total,
        source,
        provider_id,
        model_ref,
        ids,
    )


def billed_cost(cost_usd: float, *, markup_percent: float = 0.0, fee_percents: Sequence[float] = ()) -> float:
    """What an organisation bills for a provider cost: markup first, then each fee on the result.

    Fees compound on the marked-up amount (a payment or rebalancing fee is a percentage of what is
    charged): `billed_cost(100, markup_percent=15, fee_percents=[2.5]) == 100 * 1.15 * 1.025`.

    Args:
        cost_usd: Provider cost in USD (non-negative).
        markup_percent: Margin in percent (negative for a rebate, not below -100).
        fee_percents: Further percentage fees, applied in order.

    Returns:
        The billed amount in USD.

    Raises:
        ValueError: A negative or non-finite cost, or a percentage below -100 or non-finite.
    """
    if not math.isfinite(cost_usd) or cost_usd < 0:
        raise ValueError(f"cost_usd must be a non-negative number, got {cost_usd!r}")
    billed = cost_usd
    for name, percent in (("markup_percent", markup_percent), *(("fee_percents", f) for f in fee_percents)):
        if not math.isfinite(percent) or percent < -100:
            raise ValueError(f"{name} must be a number >= -100, got {percent!r}")
        billed *= 1.0 + percent / 100.0
    return billed
