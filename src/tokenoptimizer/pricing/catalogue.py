"""The price catalogue: the offline `genai-prices` package, compiled for fast lookups.

genai-prices ships providers, models, match rules (aliases, dated snapshots), dated prices
(`StartDateConstraint`), time-of-day prices (DeepSeek's off-peak `TimeOfDateConstraint`) and
long-context tiers (`TieredPrices`: crossing a threshold of total input tokens applies the tier's
price to *all* tokens of that kind). Its `calc_price` works in `Decimal` and re-resolves units on
every call, which costs tens of microseconds; ingest needs a few. So this module:

1. resolves `(provider, model)` to a catalogue model once (LRU-cached, misses included), and
2. compiles each model's price schedule into `Rates` (plain floats, USD per million tokens) per
   price period and tier, so pricing an event is a bisect on the date plus a few multiplications.

We never start genai-prices' `UpdatePrices` (it downloads); the catalogue changes only when the
package is upgraded, and `CATALOGUE_VERSION` names the version in every `price_source`.

Fallbacks mirror genai-prices' unit hierarchy: a model without a cache-read price bills cache
reads at the input price, without a 1-hour cache-write price bills them at the cache-write price,
without a reasoning price bills reasoning as output, without audio prices bills audio as text.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import genai_prices
from genai_prices import data_snapshot
from genai_prices import types as gp

__all__ = [
    "CATALOGUE_VERSION",
    "CatalogueModel",
    "ModelPrice",
    "Rates",
    "canonical_provider",
    "catalogue_provider_id",
    "list_models",
    "lookup_model",
]

CATALOGUE_VERSION: str = str(genai_prices.__version__)
"""Version of the bundled genai-prices data."""

# Our provider names (the event API's) where genai-prices uses another id.
_TO_CATALOGUE = {"bedrock": "aws", "xai": "x-ai"}
_FROM_CATALOGUE = {v: k for k, v in _TO_CATALOGUE.items()}
# Spellings clients send for the same provider.
_ALIASES = {
    "aws": "bedrock",
    "amazon": "bedrock",
    "aws-bedrock": "bedrock",
    "x-ai": "xai",
    "grok": "xai",
    "gemini": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "google-vertex": "google",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "together-ai": "together",
    "together_ai": "together",
    "mistralai": "mistral",
}


def canonical_provider(provider: str) -> str:
    """Our name for a provider: lower-cased, with common aliases folded (`aws` -> `bedrock`).

    Args:
        provider: A provider name as a client sent it.

    Returns:
        The canonical provider name used in events, overrides and `list_models`.
    """
    name = provider.strip().lower()
    return _ALIASES.get(name, name)


def catalogue_provider_id(provider: str) -> str:
    """The genai-prices provider id for one of our provider names (`bedrock` -> `aws`)."""
    name = canonical_provider(provider)
    return _TO_CATALOGUE.get(name, name)


def _public_provider(catalogue_id: str) -> str:
    return _FROM_CATALOGUE.get(catalogue_id, catalogue_id)


@dataclass(frozen=True, slots=True)
class Rates:
    """Prices in USD per million tokens, every usage kind filled in (fallbacks applied)."""

    input: float
    cache_read: float
    cache_write: float
    cache_write_1h: float
    output: float
    reasoning: float
    input_audio: float
    output_audio: float


ZERO_RATES = Rates(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

# (threshold, rates): rates apply when total input tokens > threshold; the first threshold is -1.
Tiers = tuple[tuple[int, Rates], ...]


def _price_at(value: Decimal | gp.TieredPrices | None, threshold: int) -> float | None:
    """The per-MTok price of one usage kind for inputs just above `threshold` tokens."""
    if value is None:
        return None
    if isinstance(value, gp.TieredPrices):
        price = value.base
        for tier in value.tiers:
            if threshold >= tier.start:
                price = tier.price
        return float(price)
    return float(value)


def _rates_at(prices: gp.ModelPrice, threshold: int) -> Rates:
    def get(key: str) -> float | None:
        return _price_at(prices.__dict__.get(key), threshold)

    input_price = get("input_mtok") or 0.0
    output_price = get("output_mtok") or 0.0
    cache_read = get("cache_read_mtok")
    cache_write = get("cache_write_mtok")
    cache_write = input_price if cache_write is None else cache_write
    cache_write_1h = get("cache_write_1h_mtok")
    reasoning = get("output_reasoning_mtok")
    input_audio = get("input_audio_mtok")
    output_audio = get("output_audio_mtok")
    return Rates(
        input=input_price,
        cache_read=input_price if cache_read is None else cache_read,
        cache_write=cache_write,
        cache_write_1h=cache_write if cache_write_1h is None else cache_write_1h,
        output=output_price,
        reasoning=output_price if reasoning is None else reasoning,
        input_audio=input_price if input_audio is None else input_audio,
        output_audio=output_price if output_audio is None else output_audio,
    )


def compile_tiers(prices: gp.ModelPrice) -> Tiers:
    """Compile one genai-prices `ModelPrice` into rates per input-token tier."""
    starts = sorted(
        {
            tier.start
            for value in prices.__dict__.values()
            if isinstance(value, gp.TieredPrices)
            for tier in value.tiers
        }
    )
    return tuple((threshold, _rates_at(prices, threshold)) for threshold in [-1, *starts])


def select_tier(tiers: Tiers, input_tokens: int) -> Rates:
    """The rates for a call with `input_tokens` total input tokens."""
    rates = tiers[0][1]
    for threshold, tier_rates in tiers[1:]:
        if input_tokens > threshold:
            rates = tier_rates
        else:
            break
    return rates


def _utc(ts: datetime) -> datetime:
    # Naive timestamps are UTC, as genai-prices treats them.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@dataclass(slots=True)
class CatalogueModel:
    """A resolved catalogue model with its compiled price schedule."""

    provider_id: str
    """genai-prices provider id (e.g. `aws` for Bedrock)."""
    model_id: str
    """genai-prices model id (the canonical name the reference matched)."""
    name: str | None
    context_window: int | None
    info: gp.ModelInfo = field(repr=False)
    # Date-only schedules: ordinals where a period starts, and each period's tiers.
    _period_starts: list[int] = field(default_factory=list, repr=False)
    _period_tiers: list[Tiers] = field(default_factory=list, repr=False)
    # Schedules with time-of-day prices are resolved by genai-prices per call, compiled once per price.
    _dynamic: bool = field(default=False, repr=False)
    _compiled: dict[int, tuple[gp.ModelPrice, Tiers]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, provider: gp.Provider, info: gp.ModelInfo) -> CatalogueModel:
        """Compile `info`'s prices into a schedule."""
        model = cls(provider.id, info.id, info.name, _context_window(info), info)
        prices = info.prices
        if isinstance(prices, gp.ModelPrice):
            model._period_starts, model._period_tiers = [date.min.toordinal()], [compile_tiers(prices)]
        elif all(c.constraint is None or isinstance(c.constraint, gp.StartDateConstraint) for c in prices):
            starts = sorted(
                {c.constraint.start_date for c in prices if isinstance(c.constraint, gp.StartDateConstraint)}
            )
            for day in [date.min, *starts]:
                # Ask genai-prices which price it would pick on that day, so its precedence rules hold.
                chosen = info.get_prices(datetime.combine(day, time(), tzinfo=UTC))
                model._period_starts.append(day.toordinal())
                model._period_tiers.append(compile_tiers(chosen))
        else:
            model._dynamic = True
        return model

    def tiers_at(self, ts: datetime) -> Tiers:
        """The compiled tiers of the price in force at `ts`."""
        if self._dynamic:
            chosen = self.info.get_prices(_utc(ts))
            hit = self._compiled.get(id(chosen))
            # Keep the price object alive beside its id so the id cannot be reused for another.
            if hit is None or hit[0] is not chosen:
                hit = (chosen, compile_tiers(chosen))
                self._compiled[id(chosen)] = hit
            return hit[1]
        starts = self._period_starts
        if len(starts) == 1:
            return self._period_tiers[0]
        day = (ts if ts.tzinfo is None or ts.tzinfo is UTC else ts.astimezone(UTC)).toordinal()
        return self._period_tiers[bisect.bisect_right(starts, day) - 1]

    def rates_at(self, ts: datetime, input_tokens: int) -> Rates:
        """The rates for a call at `ts` with `input_tokens` total input tokens."""
        return select_tier(self.tiers_at(ts), input_tokens)


def _context_window(info: gp.ModelInfo) -> int | None:
    window: Any = info.context_window
    return window if isinstance(window, int) and window > 0 else None


_MODEL_MAKERS = ("openai", "anthropic", "google", "mistral", "deepseek", "xai", "cohere")


def _find(provider: str | None, model: str) -> tuple[gp.Provider, gp.ModelInfo] | None:
    snapshot = data_snapshot.get_snapshot()
    provider_id = catalogue_provider_id(provider) if provider else None
    try:
        return snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None


@functools.lru_cache(maxsize=16384)
def lookup_model(provider: str | None, model: str) -> CatalogueModel | None:
    """Resolve a model reference in the catalogue (cached, misses included).

    With a provider, only that provider's models (and the providers it resells, e.g. Azure ->
    OpenAI) are searched: a self-hosted model must not inherit a public price by name. Without
    one, genai-prices infers the provider from the model name. A `provider/` prefix on the model
    (`openai/gpt-4o` sent with provider `openai`) is tolerated.

    Args:
        provider: Provider name (ours or genai-prices'), or None to infer it.
        model: Model name as sent by the client.

    Returns:
        The compiled catalogue model, or None when the catalogue does not know it.
    """
    model = model.strip()
    if not model:
        return None
    found = _find(provider, model)
    if found is None and not provider:
        # genai-prices infers providers from name patterns that miss some first-party models
        # (`text-embedding-3-small`); look in the model makers' own catalogues, in this order.
        found = next(filter(None, (_find(maker, model) for maker in _MODEL_MAKERS)), None)
    if found is None and provider and "/" in model:
        prefix, _, rest = model.partition("/")
        if canonical_provider(prefix) == canonical_provider(provider):
            found = _find(provider, rest)
    if found is None:
        return None
    return CatalogueModel.build(*found)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A catalogue model with its current prices, for `GET /api/v1/models`.

    Prices are USD per million tokens; for tiered models they are the base tier (`tiered` says so).
    """

    provider: str
    model: str
    name: str | None
    input_per_mtok: float | None
    cached_input_per_mtok: float | None
    cache_write_per_mtok: float | None
    output_per_mtok: float | None
    context_window: int | None
    tiered: bool
    deprecated: bool


def _model_price(provider: gp.Provider, info: gp.ModelInfo, now: datetime) -> ModelPrice:
    prices = info.get_prices(now)

    def base(key: str) -> float | None:
        return _price_at(prices.__dict__.get(key), -1)

    return ModelPrice(
        provider=_public_provider(provider.id),
        model=info.id,
        name=info.name,
        input_per_mtok=base("input_mtok"),
        cached_input_per_mtok=base("cache_read_mtok"),
        cache_write_per_mtok=base("cache_write_mtok"),
        output_per_mtok=base("output_mtok"),
        context_window=_context_window(info),
        tiered=any(isinstance(v, gp.TieredPrices) for v in prices.__dict__.values()),
        deprecated=bool(info.deprecated),
    )


@functools.lru_cache(maxsize=2)
def _all_models(day: date) -> tuple[ModelPrice, ...]:
    now = datetime.combine(day, time(12), tzinfo=UTC)
    rows = [_model_price(p, m, now) for p in data_snapshot.get_snapshot().providers for m in p.models]
    # Priced rows first: a reseller listing a model without prices (e.g. a subscription product)
    # should not be the first hit for that model name.
    return tuple(
        sorted(
            rows,
            key=lambda r: (
                r.input_per_mtok is None and r.output_per_mtok is None,
                r.provider,
                r.model.lower(),
            ),
        )
    )


def list_models(q: str | None = None, provider: str | None = None) -> list[ModelPrice]:
    """Catalogue models with the prices in force today.

    Args:
        q: Case-insensitive substring of the model id or display name.
        provider: Only this provider (our name or genai-prices'; `bedrock` and `aws` both work).

    Returns:
        Matching models: those with token prices first, then by provider and model id.
    """
    rows = _all_models(datetime.now(UTC).date())
    if provider:
        wanted = canonical_provider(provider)
        rows = tuple(r for r in rows if r.provider == wanted)
    if q:
        needle = q.strip().lower()
        rows = tuple(r for r in rows if needle in r.model.lower() or needle in (r.name or "").lower())
    return list(rows)
