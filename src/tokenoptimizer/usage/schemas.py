"""API shapes of usage events: what a client sends, and what the API returns.

An event carries either normalised token counts or the provider's raw usage object
(`provider` + `api` + `raw_usage`), which the pipeline normalises. Organisation, project and API
key never come from the body: they come from the credential that sent it.

`EventIn` is the documented shape and reports every problem of an invalid request; the ingest hot
path decodes the same shape with `wire.WireEvent` (see there why). Checks that involve several
fields (cache ≤ input, raw usage or counts) live in the pipeline, once, for every entry point.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RequestType = Literal["chat", "completion", "embedding", "image", "audio", "rerank", "other"]
Status = Literal["ok", "error"]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
TokenCount = Annotated[int, Field(ge=0, le=10**9)]

MAX_TAGS = 50


class EventIn(BaseModel):
    """One LLM call, as a client reports it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: uuid.UUID | None = Field(
        default=None, description="Client-generated UUID; re-sending the same id never double-counts."
    )
    ts: datetime | None = Field(default=None, description="When the call started (UTC if no offset).")
    provider: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="openai, anthropic, google, bedrock, mistral, …"
    )
    model: Annotated[str, Field(min_length=1, max_length=200)]
    requested_model: ShortText | None = Field(
        default=None, description="The model the caller asked for, when a routing rule served another."
    )
    endpoint: ShortText | None = None
    request_type: RequestType = "chat"
    api: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="With raw_usage: chat, responses, completions, embeddings, messages, …"
    )
    raw_usage: dict[str, Any] | None = Field(
        default=None, description="The provider's own usage object, normalised by the server."
    )
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    latency_ms: Annotated[float, Field(ge=0, le=86_400_000)] | None = None
    time_to_first_token_ms: Annotated[float, Field(ge=0, le=86_400_000)] | None = None
    status: Status = "ok"
    error_type: ShortText | None = None
    user: ShortText | None = None
    end_user: ShortText | None = None
    team: ShortText | None = None
    feature: ShortText | None = None
    tags: dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=200)]] = (
        Field(default_factory=dict)
    )
    reported_cost_usd: Annotated[float, Field(ge=0)] | None = None
    prompt_hash: Annotated[str, Field(max_length=128)] | None = None
    trace_id: Annotated[str, Field(max_length=128)] | None = None

    @field_validator("ts")
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("provider")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("tags")
    @classmethod
    def _few_tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags per event")
        return value


class EventBatchIn(BaseModel):
    """Several events in one request."""

    model_config = ConfigDict(extra="forbid", strict=True)

    events: list[EventIn] = Field(min_length=1)


class IngestResult(BaseModel):
    """What an ingest request stored."""

    accepted: int = Field(description="Events newly stored.")
    duplicates: int = Field(description="Events whose event_id was already stored (not counted again).")


class EventPublic(BaseModel):
    """A stored usage event."""

    event_id: uuid.UUID
    ts: datetime
    org_id: str
    project_id: str
    api_key_id: str | None
    provider: str
    model: str
    requested_model: str | None
    endpoint: str | None
    request_type: str
    status: str
    error_type: str | None
    user: str | None
    end_user: str | None
    team: str | None
    feature: str | None
    tags: dict[str, str]
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    latency_ms: float | None
    time_to_first_token_ms: float | None
    cost_usd: float
    cost_input_usd: float
    cost_cache_read_usd: float
    cost_cache_write_usd: float
    cost_output_usd: float
    cost_reasoning_usd: float
    billed_cost_usd: float
    currency: str = Field(description="The organisation's display currency.")
    fx_rate: float = Field(
        description="Units of `currency` per USD used for `cost` (ECB rate of the day or fixed)."
    )
    cost: float = Field(description="cost_usd in the display currency.")
    billed_cost: float = Field(description="billed_cost_usd in the display currency.")
    reported_cost_usd: float | None
    price_source: str
    energy_kwh: float | None
    co2e_kg: float | None
    water_l: float | None
    prompt_hash: str | None
    trace_id: str | None
    source: str
    ingested_at: datetime


class EventPage(BaseModel):
    """One page of events and the cursor of the next page (null on the last)."""

    items: list[EventPublic]
    next_cursor: str | None
