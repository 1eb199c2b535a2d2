"""API shapes of the analytics endpoints.

Money comes twice: in US dollars (`*_usd`, as stored) and in the organisation's display currency
(`cost`, `currency`, converted at `fx_rate` units of the currency per dollar).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TimeseriesMetric = Literal[
    "cost",
    "requests",
    "tokens",
    "input_tokens",
    "output_tokens",
    "errors",
    "error_rate",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "avg_cost",
]
BreakdownSort = Literal["cost", "requests", "tokens", "input_tokens", "output_tokens", "errors"]
HeatmapMetric = Literal["requests", "cost"]


class PeriodPublic(BaseModel):
    """A time range: `from` inclusive, `to` exclusive, in the organisation's time zone."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime


class Money(BaseModel):
    """How money is shown."""

    currency: str = Field(description="The organisation's display currency (ISO 4217).")
    fx_rate: float = Field(description="Units of `currency` per US dollar used for the figures.")


class SummaryFigures(BaseModel):
    """The headline figures of one period."""

    requests: int
    errors: int
    error_rate: float | None = Field(description="errors / requests; null without requests.")
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    cost: float
    billed_cost_usd: float
    billed_cost: float
    avg_cost_usd: float | None
    avg_cost: float | None
    latency_avg_ms: float | None
    latency_p95_ms: float | None
    period: PeriodPublic


class Summary(SummaryFigures, Money):
    """The headline figures, and with `compare=previous_period` those of the period before."""

    timezone: str
    previous: SummaryFigures | None = None
    change: dict[str, float | None] | None = Field(
        default=None, description="Relative change of each figure from the previous period (0.25 = +25 %)."
    )


class Point(BaseModel):
    """One bucket of a series."""

    start: datetime = Field(description="Start of the bucket, with the organisation's UTC offset.")
    value: float | None
    value_usd: float | None = Field(default=None, description="For money metrics: the value in USD.")


class Series(BaseModel):
    """One line: `total`, a dimension value, or `other` (everything outside the top N)."""

    key: str | None
    label: str | None = None
    is_other: bool = False
    points: list[Point]


class Timeseries(Money):
    """A metric over time, one series per group."""

    metric: str
    interval: str
    group_by: str | None
    timezone: str
    period: PeriodPublic
    series: list[Series]


class BreakdownFigures(BaseModel):
    """Figures of one group."""

    requests: int
    cost_usd: float
    cost: float
    input_tokens: int
    output_tokens: int
    tokens: int
    errors: int
    error_rate: float | None


class BreakdownRow(BreakdownFigures):
    """One value of the dimension."""

    key: str | None
    label: str | None = Field(default=None, description="Display name (project and API key names).")
    share: float | None = Field(
        description="Share of the total of the sort metric (all rows, not only shown)."
    )
    previous: BreakdownFigures | None = None
    change: float | None = Field(default=None, description="Relative change of the sort metric.")


class Breakdown(Money):
    """Totals by one dimension, sorted."""

    by: str
    sort: str
    period: PeriodPublic
    rows: list[BreakdownRow]


class PerformanceRow(BaseModel):
    """Latency and reliability of one group."""

    key: str | None
    label: str | None = None
    requests: int
    errors: int
    success_rate: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    error_types: dict[str, int]


class ErrorCount(BaseModel):
    """How often one kind of error happened."""

    error_type: str | None
    count: int


class Performance(BaseModel):
    """Latency percentiles, time to first token and errors by group."""

    by: str
    period: PeriodPublic
    rows: list[PerformanceRow]
    error_types: list[ErrorCount]


class HeatmapCell(BaseModel):
    """One hour of one weekday."""

    weekday: int = Field(description="1 = Monday … 7 = Sunday, in the organisation's time zone.")
    hour: int = Field(description="0–23, local.")
    value: float


class Heatmap(Money):
    """A metric by weekday × hour of day (168 cells, zero-filled)."""

    metric: str
    timezone: str
    period: PeriodPublic
    cells: list[HeatmapCell]


class ImpactRow(BaseModel):
    """Environmental impact of one group or bucket."""

    key: str | None
    requests: int
    requests_with_impact: int = Field(description="Calls whose model has impact data.")
    energy_kwh: float
    co2e_kg: float
    water_l: float
    m2_restored: float = Field(description="co2e_kg × the organisation's m² per kg CO2e.")


class Impact(BaseModel):
    """Energy, emissions, water and the restoration equivalent, by model or over time."""

    by: str
    interval: str | None
    timezone: str
    period: PeriodPublic
    m2_per_kg_co2e: float
    total: ImpactRow
    rows: list[ImpactRow]


class PromptRow(BaseModel):
    """One prompt template (or feature) and what its calls cost."""

    key: str
    feature: str | None
    model: str | None = Field(description="One of the models used by these calls.")
    requests: int
    cost_usd: float
    cost: float
    cost_per_call_usd: float
    cost_per_call: float
    avg_input_tokens: float
    avg_output_tokens: float
    share: float | None


class TopPrompts(Money):
    """The most expensive prompt templates, with their efficiency."""

    by: str
    period: PeriodPublic
    rows: list[PromptRow]


class Projection(BaseModel):
    """Spend of a calendar period so far and projected to its end (display currency)."""

    start: date
    end: date = Field(description="Last day of the period.")
    actual: float
    projected: float
    low: float
    high: float
    actual_usd: float
    projected_usd: float


class ForecastDay(BaseModel):
    """Projected spend of one future day (display currency)."""

    date: date
    value: float
    low: float
    high: float


class BudgetProjection(BaseModel):
    """When a budget for the current month runs out at the projected rate."""

    amount: float
    period: Literal["month"] = "month"
    spent: float
    projected: float
    exhausted_on: date | None = Field(description="Null when the month ends before the budget does.")
    already_exhausted: bool


class Forecast(Money):
    """Projected spend for the current week and month, with an 80 % interval."""

    timezone: str
    as_of: datetime
    interval_level: float
    history_days: int
    method: str
    week: Projection
    month: Projection
    daily: list[ForecastDay]
    budget: BudgetProjection | None = None
