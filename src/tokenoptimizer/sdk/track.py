"""`tokenoptimizer.track(...)`: record any LLM call by hand.

For calls the wrappers do not cover (another provider's SDK, a self-hosted model, a batch job's
results). It builds one small dict and queues it: no validation, no serialisation on the caller's
thread (the sender trims odd values to the server's limits, see `events.to_wire`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from tokenoptimizer.sdk import runtime
from tokenoptimizer.sdk.attribution import EMPTY, attribution_var
from tokenoptimizer.sdk.events import new_event_id


def track(
    *,
    provider: str,
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    raw_usage: Mapping[str, Any] | Any | None = None,
    api: str | None = None,
    latency_ms: float | None = None,
    time_to_first_token_ms: float | None = None,
    status: Literal["ok", "error"] = "ok",
    error_type: str | None = None,
    feature: str | None = None,
    user: str | None = None,
    end_user: str | None = None,
    team: str | None = None,
    tags: Mapping[str, Any] | None = None,
    trace_id: str | None = None,
    prompt_hash: str | None = None,
    endpoint: str | None = None,
    request_type: str = "chat",
    requested_model: str | None = None,
    reported_cost_usd: float | None = None,
    ts: datetime | float | None = None,
    event_id: str | None = None,
) -> str:
    """Record one LLM call; return its event id.

    Give either normalised token counts (cache reads and writes are part of `input_tokens`,
    reasoning is part of `output_tokens`), or the provider's own usage object as `raw_usage` with
    its `api` (`chat`, `responses`, `embeddings`, `messages`, …), which the server normalises and
    prices. Attribution fields given here win over the enclosing `tokenoptimizer.context(...)`.
    The event is sent in the background; this call never raises because of TokenOptimizer and
    costs a few microseconds.

    Args:
        provider: openai, anthropic, google, bedrock, mistral, …
        model: The model that served the call.
        input_tokens: All input tokens, cached ones included.
        output_tokens: All output tokens, reasoning included.
        cache_read_tokens: Input tokens read from the prompt cache.
        cache_write_tokens: Input tokens written to the prompt cache.
        reasoning_tokens: Output tokens spent reasoning.
        raw_usage: The provider's usage object (a dict or the SDK's object), instead of counts.
        api: The provider API of `raw_usage`.
        latency_ms: Duration of the call.
        time_to_first_token_ms: Time to the first streamed token.
        status: `ok` or `error`.
        error_type: The error's kind, e.g. `RateLimitError`.
        feature: The product feature.
        user: Your user.
        end_user: Your customer's user.
        team: The owning team.
        tags: Free labels.
        trace_id: Correlates the calls of one request.
        prompt_hash: A hash of the prompt (to find repeated prompts), never the prompt itself.
        endpoint: The API path called.
        request_type: chat, completion, embedding, image, audio, rerank or other.
        requested_model: The model asked for, when another one served the call.
        reported_cost_usd: A cost the provider reported.
        ts: When the call started (default: now).
        event_id: Your own idempotency key (a UUID); default: a new random one.
    """
    event_id = event_id or new_event_id()
    pending: dict[str, Any] = {
        "event_id": event_id,
        "_ts": time.time() if ts is None else (ts.timestamp() if isinstance(ts, datetime) else float(ts)),
        "_ctx": attribution_var.get(EMPTY),
        "provider": provider,
        "model": model,
        "request_type": request_type,
        "status": status,
    }
    if raw_usage is not None:
        pending["raw_usage"] = raw_usage
        pending["api"] = api
    else:
        pending["input_tokens"] = input_tokens
        pending["output_tokens"] = output_tokens
        if cache_read_tokens:
            pending["cache_read_tokens"] = cache_read_tokens
        if cache_write_tokens:
            pending["cache_write_tokens"] = cache_write_tokens
        if reasoning_tokens:
            pending["reasoning_tokens"] = reasoning_tokens
    if latency_ms is not None:
        pending["latency_ms"] = latency_ms
    if time_to_first_token_ms is not None:
        pending["time_to_first_token_ms"] = time_to_first_token_ms
    if error_type is not None:
        pending["error_type"] = error_type
    if feature is not None:
        pending["feature"] = feature
    if user is not None:
        pending["user"] = user
    if end_user is not None:
        pending["end_user"] = end_user
    if team is not None:
        pending["team"] = team
    if tags:
        pending["tags"] = tags
    if trace_id is not None:
        pending["trace_id"] = trace_id
    if prompt_hash is not None:
        pending["prompt_hash"] = prompt_hash
    if endpoint is not None:
        pending["endpoint"] = endpoint
    if requested_model is not None:
        pending["requested_model"] = requested_model
    if reported_cost_usd is not None:
        pending["reported_cost_usd"] = reported_cost_usd
    try:
        runtime.record(pending)
    except Exception:  # never fail the caller because of TokenOptimizer
        runtime.log.exception("tokenoptimizer: could not record an event")
    return event_id
