"""Pricing a batch of calls at once, with the same results as `compute_cost` call by call.

Ingest prices thousands of calls per request, and almost all of them share a handful of
(provider, model) pairs. What `compute_cost` decides per call — which catalogue price period,
which override, which long-context tier — depends on the call only through three things: the
pair, the interval of time between the pair's *breakpoints* (catalogue price-period starts and
override `effective_from`/`effective_to` instants) the call falls in, and its input tokens
against the tier thresholds. So a batch is priced in three steps:

1. group calls by (provider, model) and resolve each group once (cached across batches per
   overrides set): its breakpoints and, per interval, a *plan* — the tier thresholds, the rates
   of each tier and the price source, obtained by asking `rates_for` itself (with the first
   call's time in that interval and one input count per tier), so precedence is never re-implemented;
2. give each call a row of a small rate table: one lookup per group when the batch's time span
   crosses no breakpoint of the group (the usual case: events arrive near now), one bisect per
   call otherwise, and one `numpy.searchsorted` per tiered group;
3. compute every cost column with numpy over the whole batch, in exactly the order of operations
   `compute_cost` uses, so each value is bit-for-bit the same float.

Catalogue models whose price depends on the time of day (DeepSeek's off-peak rates) have no fixed
breakpoints; their calls are priced one by one with `rates_for`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import numpy as np
import numpy.typing as npt

from tokenoptimizer.pricing.catalogue import CatalogueModel, Rates, canonical_provider, lookup_model
from tokenoptimizer.pricing.cost import PriceOverride, billed_cost, rates_for

__all__ = ["BatchCost", "UsageArrays", "billed_costs", "group_calls", "price_batch"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


def group_calls(providers: Sequence[str], models: Sequence[str]) -> tuple[list[tuple[str, str]], IntArray]:
    """The distinct (provider, model) pairs of a batch, and each call's index into them."""
    index: dict[tuple[str, str], int] = {}
    add = index.setdefault
    group_of = [add(key, len(index)) for key in zip(providers, models, strict=True)]
    return list(index), np.array(group_of, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class UsageArrays:
    """Normalised usage of a batch, one int64 array per kind (meanings as in `NormalisedUsage`)."""

    input_tokens: IntArray
    output_tokens: IntArray
    cache_read_tokens: IntArray
    cache_write_tokens: IntArray
    cache_write_1h_tokens: IntArray
    reasoning_tokens: IntArray
    input_audio_tokens: IntArray
    output_audio_tokens: IntArray


@dataclass(frozen=True, slots=True)
class BatchCost:
    """Costs of a batch in USD, one array per part (meanings as in `CostBreakdown`)."""

    input_usd: FloatArray
    cache_read_usd: FloatArray
    cache_write_usd: FloatArray
    output_usd: FloatArray
    reasoning_usd: FloatArray
    total_usd: FloatArray
    price_source: list[str]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How calls of one group in one interval are priced: rates per tier, and where they came from."""

    thresholds: IntArray  # tier k applies above thresholds[k - 1] total input tokens
    rates: tuple[Rates, ...]
    source: str


@dataclass(slots=True)
class _Group:
    """One (provider, model) pair resolved against one overrides set."""

    provider: str
    model: str
    overrides: Sequence[PriceOverride]
    catalogue: CatalogueModel | None
    breaks: list[datetime]
    by_time_of_day: bool
    plans: dict[int, _Plan] = field(default_factory=dict)

    def interval(self, ts: datetime) -> int:
        """Which interval between breakpoints `ts` is in: [breaks[i - 1], breaks[i])."""
        return bisect.bisect_right(self.breaks, ts) if self.breaks else 0

    def plan(self, interval: int, ts: datetime) -> _Plan:
        """The plan of `interval`, resolved with `ts` (any instant inside it) on first use."""
        found = self.plans.get(interval)
        if found is None:
            found = self._resolve(ts)
            self.plans[interval] = found
        return found

    def _resolve(self, ts: datetime) -> _Plan:
        thresholds: list[int] = []
        if self.catalogue is not None:
            thresholds = [threshold for threshold, _ in self.catalogue.tiers_at(ts)[1:]]
        # One input count per tier that selects exactly that tier (thresholds are strictly increasing).
        counts = [0, *(threshold + 1 for threshold in thresholds)]
        resolved = [
            rates_for(
                provider=self.provider, model=self.model, ts=ts, input_tokens=n, overrides=self.overrides
            )
            for n in counts
        ]
        return _Plan(np.array(thresholds, dtype=np.int64), tuple(r[0] for r in resolved), resolved[0][1])


def _catalogue_breaks(model: CatalogueModel | None) -> tuple[list[datetime], bool]:
    """Instants (UTC midnights) where the model's catalogue price changes, and whether it varies by hour."""
    if model is None:
        return [], False
    # The compiled schedule of `catalogue`: period starts as date ordinals, the first being date.min.
    if model._dynamic:
        return [], True
    starts = model._period_starts[1:]
    return [datetime.combine(date.fromordinal(day), time(), tzinfo=UTC) for day in starts], False


def _override_breaks(overrides: Sequence[PriceOverride]) -> list[datetime]:
    # Every override's instants, not only the group's: extra breakpoints split intervals that then
    # resolve to the same plan, which costs nothing but keeps this independent of override matching.
    return [
        instant
        for override in overrides
        for instant in (override.effective_from, override.effective_to)
        if instant is not None
    ]


_GROUPS: dict[tuple[PriceOverride, ...], dict[tuple[str, str], _Group]] = {}
# Bounds memory (~100 MB at worst) against clients sending endless model names; a cleared cache
# only costs re-resolving (~50 µs per pair).
_GROUPS_MAX_OVERRIDE_SETS = 64
_GROUPS_MAX_PAIRS = 2048


def _groups_for(overrides: Sequence[PriceOverride]) -> dict[tuple[str, str], _Group]:
    # Keyed by value (a tuple of frozen overrides), so a changed override set is a new key.
    key = tuple(overrides)
    groups = _GROUPS.get(key)
    if groups is None:
        if len(_GROUPS) >= _GROUPS_MAX_OVERRIDE_SETS:
            _GROUPS.clear()
        groups = _GROUPS[key] = {}
    elif len(groups) >= _GROUPS_MAX_PAIRS:
        groups.clear()
    return groups


def _group(
    groups: dict[tuple[str, str], _Group], overrides: Sequence[PriceOverride], key: tuple[str, str]
) -> _Group:
    found = groups.get(key)
    if found is None:
        provider, model = key
        # As `rates_for` resolves the catalogue model, so the tier thresholds are the same.
        catalogue = lookup_model(canonical_provider(provider) if provider else None, model)
        breaks, by_time_of_day = _catalogue_breaks(catalogue)
        breaks = sorted(set(breaks + _override_breaks(overrides)))
        found = _Group(provider, model, overrides, catalogue, breaks, by_time_of_day)
        groups[key] = found
    return found


class _RateTable:
    """The distinct rates of a batch; each call points at one row."""

    def __init__(self) -> None:
        self.rows: dict[Rates, int] = {}

    def row(self, rates: Rates) -> int:
        return self.rows.setdefault(rates, len(self.rows))

    def rows_of(self, plan: _Plan) -> IntArray:
        return np.array([self.row(r) for r in plan.rates], dtype=np.int64)

    def columns(self, rows: IntArray) -> FloatArray:
        """The eight rates (in `Rates` field order) of each call's row: shape (8, calls)."""
        table = np.array(
            [
                (r.input, r.cache_read, r.cache_write, r.cache_write_1h, r.output, r.reasoning)
                + (r.input_audio, r.output_audio)
                for r in self.rows
            ],
            dtype=np.float64,
        ).reshape(-1, 8)
        return np.take(table.T, rows, axis=1)


def price_batch(
    keys: Sequence[tuple[str, str]],
    group_of: IntArray,
    timestamps: Sequence[datetime],
    usage: UsageArrays,
    overrides: Sequence[PriceOverride] = (),
) -> BatchCost:
    """Price a batch of calls; element by element equal to `compute_cost` on each call.

    Args:
        keys: The batch's distinct `(provider, model)` pairs, as `compute_cost` would get them.
        group_of: Each call's index into `keys` (see `group_calls`).
        timestamps: Each call's time (aware).
        usage: Each call's normalised usage.
        overrides: The organisation's overrides.

    Returns:
        The cost parts, total and price source of every call.
    """
    groups = _groups_for(overrides)
    table = _RateTable()
    group_row = np.zeros(len(keys), dtype=np.int64)
    group_source: list[str] = []
    # Groups whose calls do not all share one row: (index, group, their plan if they share one).
    irregular: list[tuple[int, _Group, _Plan | None]] = []
    span: tuple[datetime, datetime] | None = None  # the batch's earliest and latest call
    for index, key in enumerate(keys):
        group = _group(groups, overrides, key)
        plan = None
        if not group.by_time_of_day:
            if group.breaks and span is None:
                span = (min(timestamps), max(timestamps))
            if span is None:
                plan = group.plan(0, timestamps[0])
            elif (interval := group.interval(span[0])) == group.interval(span[1]):
                plan = group.plan(interval, span[0])
        if plan is not None and len(plan.rates) == 1:
            group_row[index] = table.row(plan.rates[0])
            group_source.append(plan.source)
        else:
            group_source.append("")
            irregular.append((index, group, plan))
    rows = group_row[group_of]
    sources = np.array(group_source, dtype=object)[group_of]
    for index, group, plan in irregular:
        members = np.flatnonzero(group_of == index)
        if plan is not None:
            _assign(plan, members, usage.input_tokens, table, rows, sources)
        elif group.by_time_of_day:
            _price_each(group, members, timestamps, usage.input_tokens, table, rows, sources)
        else:
            by_interval: dict[int, list[int]] = {}
            for member in members.tolist():
                by_interval.setdefault(group.interval(timestamps[member]), []).append(member)
            for interval, in_interval in by_interval.items():
                plan = group.plan(interval, timestamps[in_interval[0]])
                _assign(plan, np.array(in_interval, dtype=np.int64), usage.input_tokens, table, rows, sources)
    return _costs(usage, table.columns(rows), sources.tolist())


def _assign(
    plan: _Plan,
    members: IntArray,
    input_tokens: IntArray,
    table: _RateTable,
    rows: IntArray,
    sources: ObjectArray,
) -> None:
    """Point `members` at their tier's row of `plan`."""
    plan_rows = table.rows_of(plan)
    if len(plan_rows) == 1:
        rows[members] = plan_rows[0]
    else:
        # `select_tier`: the last tier whose threshold the input exceeds.
        rows[members] = plan_rows[np.searchsorted(plan.thresholds, input_tokens[members], side="left")]
    sources[members] = plan.source


def _price_each(
    group: _Group,
    members: IntArray,
    timestamps: Sequence[datetime],
    input_tokens: IntArray,
    table: _RateTable,
    rows: IntArray,
    sources: ObjectArray,
) -> None:
    """Time-of-day prices: ask `rates_for` call by call."""
    for member in members.tolist():
        rates, source, *_ = rates_for(
            provider=group.provider,
            model=group.model,
            ts=timestamps[member],
            input_tokens=int(input_tokens[member]),
            overrides=group.overrides,
        )
        rows[member] = table.row(rates)
        sources[member] = source


def _costs(usage: UsageArrays, rates: FloatArray, sources: list[str]) -> BatchCost:
    """`compute_cost`'s arithmetic over arrays, operation for operation (so the floats are identical)."""
    r_input, r_cache_read, r_cache_write, r_write_1h, r_output, r_reasoning, r_audio_in, r_audio_out = rates
    cache_read = usage.cache_read_tokens
    cache_write = usage.cache_write_tokens
    write_1h = usage.cache_write_1h_tokens
    uncached = usage.input_tokens - cache_read - cache_write
    audio_in = np.minimum(usage.input_audio_tokens, uncached)
    reasoning = usage.reasoning_tokens
    visible_out = usage.output_tokens - reasoning
    audio_out = np.minimum(usage.output_audio_tokens, visible_out)
    input_usd = ((uncached - audio_in) * r_input + audio_in * r_audio_in) / 1e6
    cache_read_usd = cache_read * r_cache_read / 1e6
    cache_write_usd = ((cache_write - write_1h) * r_cache_write + write_1h * r_write_1h) / 1e6
    output_usd = ((visible_out - audio_out) * r_output + audio_out * r_audio_out) / 1e6
    reasoning_usd = reasoning * r_reasoning / 1e6
    total = input_usd + cache_read_usd + cache_write_usd + output_usd + reasoning_usd
    return BatchCost(input_usd, cache_read_usd, cache_write_usd, output_usd, reasoning_usd, total, sources)


def billed_costs(
    costs_usd: FloatArray, *, markup_percent: float = 0.0, fee_percents: Sequence[float] = ()
) -> FloatArray:
    """`billed_cost` of each cost: markup, then each fee, multiplied in the same order.

    Raises:
        ValueError: As `billed_cost` does (a percentage below -100 or not finite, a negative or
            non-finite cost), naming the first offending value.
    """
    billed_cost(0.0, markup_percent=markup_percent, fee_percents=fee_percents)  # validates the percentages
    bad = ~(np.isfinite(costs_usd) & (costs_usd >= 0))
    if bad.any():
        billed_cost(float(costs_usd[np.flatnonzero(bad)[0]]))
    billed = costs_usd
    for percent in (markup_percent, *fee_percents):
        billed = billed * (1.0 + percent / 100.0)
    return billed
