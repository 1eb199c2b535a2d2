"""The usage event of a proxied call: from the provider's answer, or estimated when it was cut.

Usage is normalised here with the provider's own normaliser (or the wire format's, for
OpenAI-compatible servers pricing does not know by name) and sent to the pipeline as counts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from tokenoptimizer.gateway.config import UpstreamTarget
from tokenoptimizer.gateway.endpoints import Endpoint
from tokenoptimizer.gateway.estimate import count_input, count_output
from tokenoptimizer.pricing import NormalisedUsage, UnsupportedUsageFormat, normalise_usage
from tokenoptimizer.usage.wire import WireEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the caller sent."""

    api: str
    """`openai` or `anthropic` (the wire format)."""
    path: str
    requested_model: str
    body: Mapping[str, Any]
    attributes: Mapping[str, Any]
    event_id: uuid.UUID
    ts: datetime
    started: float
    """`time.perf_counter()` when the call came in."""


@dataclass
class Outcome:
    """What happened, for the usage event."""

    status: str = "ok"
    error_type: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    first_token_at: float | None = None
    estimated_output_text: str | None = None
    upstream: UpstreamTarget | None = None
    served_model: str | None = None
    fallback: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def build_event(
    call: CallFacts, endpoint: Endpoint, outcome: Outcome, content: bytes | None, latency_ms: float
) -> WireEvent:
    """The call's event; `content` is a non-streamed answer's body (its usage and model)."""
    upstream = outcome.upstream
    provider = upstream.provider if upstream is not None else call.api
    model = outcome.model
    usage_raw = outcome.usage
    if content is not None:
        try:
            parsed = orjson.loads(content)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            usage_raw = parsed.get("usage") if isinstance(parsed.get("usage"), dict) else None
            model = parsed.get("model") if isinstance(parsed.get("model"), str) else None
    served = model or outcome.served_model or call.requested_model
    usage = NormalisedUsage()
    reported: float | None = None
    if outcome.estimated_output_text is not None:
        usage = estimate_usage(call, endpoint, provider, served, usage_raw, outcome.estimated_output_text)
        outcome.tags["tko_usage"] = "estimated"
    elif usage_raw is not None:
        try:
            usage = normalise(provider, call.api, endpoint.usage_api, usage_raw)
        except ValueError as exc:
            log.warning("unreadable usage from upstream for %s: %s", served, exc)
            outcome.tags["tko_usage"] = "unreadable"
        reported = usage.reported_cost_usd
    first = outcome.first_token_at
    ttft = (first - call.started) * 1000 if first is not None else None
    attributes = call.attributes
    return WireEvent(
        provider=provider,
        model=served[:200],
        event_id=call.event_id,
        ts=call.ts,
        requested_model=call.requested_model[:200],
        endpoint=f"/v1/{call.path}",
        request_type=endpoint.request_type,  # type: ignore[arg-type]
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        latency_ms=latency_ms,
        time_to_first_token_ms=ttft,
        status=outcome.status,  # type: ignore[arg-type]
        error_type=outcome.error_type,
        user=attributes.get("user"),
        end_user=attributes.get("end_user"),
        feature=attributes.get("feature"),
        tags={**attributes.get("tags", {}), **outcome.tags},
        reported_cost_usd=reported,
        trace_id=attributes.get("trace_id"),
    )


def estimate_usage(
    call: CallFacts,
    endpoint: Endpoint,
    provider: str,
    model: str,
    usage_raw: Mapping[str, Any] | None,
    text: str,
) -> NormalisedUsage:
    """Tokens of a cut stream: what the provider reported so far, the rest counted."""
    known = NormalisedUsage()
    if usage_raw is not None:
        try:
            known = normalise(provider, call.api, endpoint.usage_api, usage_raw)
        except ValueError:
            known = NormalisedUsage()
    input_tokens = known.input_tokens or count_input(endpoint.usage_api, call.body, model, provider)
    output_tokens = max(known.output_tokens, count_output(text, model, provider))
    cache_read = min(known.cache_read_tokens, input_tokens)
    cache_write = min(known.cache_write_tokens, input_tokens - cache_read)
    return NormalisedUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def normalise(provider: str, api: str, usage_api: str, raw: Mapping[str, Any]) -> NormalisedUsage:
    """Normalised counts of a provider's usage object."""
    try:
        return normalise_usage(provider, usage_api, raw)
    except UnsupportedUsageFormat:
        # An OpenAI-compatible server pricing doesn't know by name reports OpenAI's usage shape.
        return normalise_usage(api, usage_api, raw)
