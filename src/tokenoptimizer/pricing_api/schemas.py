"""API shapes of price overrides, re-pricing, the model list and pre-call estimates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PerMillion = Annotated[float, Field(ge=0, le=1_000_000, description="USD per million tokens")]


class PriceOverrideIn(BaseModel):
    """A custom model price (replaces the catalogue) or a discount (percent off it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["custom_model", "discount"]
    model_pattern: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Exact model name, or a pattern with * and ? (e.g. `ft:gpt-4o*`, `*` for all)."
    )
    provider: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="None: any provider."
    )
    input_per_mtok: PerMillion | None = None
    cache_read_per_mtok: PerMillion | None = None
    cache_write_per_mtok: PerMillion | None = None
    output_per_mtok: PerMillion | None = None
    reasoning_per_mtok: PerMillion | None = Field(default=None, description="Default: the output price.")
    discount_percent: Annotated[float, Field(gt=0, le=100)] | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    note: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> PriceOverrideIn:
        prices = (
            self.input_per_mtok,
            self.cache_read_per_mtok,
            self.cache_write_per_mtok,
            self.output_per_mtok,
            self.reasoning_per_mtok,
        )
        if self.kind == "custom_model":
            if self.input_per_mtok is None and self.output_per_mtok is None:
                raise ValueError("a custom_model override needs input_per_mtok or output_per_mtok")
            if self.discount_percent is not None:
                raise ValueError("discount_percent belongs to a discount override, not a custom_model")
        else:
            if self.discount_percent is None:
                raise ValueError("a discount override needs discount_percent (e.g. 15 for 15% off)")
            if any(price is not None for price in prices):
                raise ValueError("a discount override takes no prices; use a custom_model override for those")
        for name in ("effective_from", "effective_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.effective_from and self.effective_to and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        if self.provider is not None:
            self.provider = self.provider.lower()
        return self


class PriceOverridePublic(PriceOverrideIn):
    """A stored override."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    updated_at: datetime


class RepriceIn(BaseModel):
    """Which stored events to price again with today's catalogue and overrides."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    model: str | None = None

    @model_validator(mode="after")
    def _range(self) -> RepriceIn:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("'from' and 'to' need a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.from_ >= self.to:
            raise ValueError("'from' must be before 'to'")
        return self


class RepriceResult(BaseModel):
    """What a re-price changed."""

    events: int = Field(description="Events in the range.")
    changed: int = Field(description="Events whose cost or price source changed.")
    cost_before_usd: float
    cost_after_usd: float
    delta_usd: float


class ModelPricePublic(BaseModel):
    """A model of the catalogue with its current prices per million tokens."""

    provider: str
    model: str
    name: str | None = None
    input_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    output_per_mtok: float | None = None
    context_window: int | None = None
    tiered: bool = Field(default=False, description="Prices shown are the base tier of a tiered price.")
    deprecated: bool = False


class UnpricedModel(BaseModel):
    """A model seen in events without a known price (stored at cost 0)."""

    provider: str
    model: str
    events: int
    first_seen: datetime
    last_seen: datetime


class EstimateIn(BaseModel):
    """A call to estimate before making it."""

    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(min_length=1, max_length=200)]
    provider: str | None = None
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_output_tokens: Annotated[int, Field(ge=0, le=10_000_000)] | None = None

    @model_validator(mode="after")
    def _one_input(self) -> EstimateIn:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give either 'messages' or 'prompt'")
        return self
