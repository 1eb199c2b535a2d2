"""Usage events as the SDK records them, and their wire form.

Recording happens on the caller's thread and must cost microseconds: `track()` and the wrappers
build one small dict (`Pending`) and hand it to the sender. Everything else happens on the
sender's thread when the batch is assembled (`to_wire`): merging the attribution context and the
configured defaults, turning the provider's usage object into a plain dict, formatting the
timestamp, counting tokens where a stream reported no usage, and trimming fields to the limits the
server enforces (so one odd value never gets a whole batch refused).

A `Pending` dict uses the wire field names, plus private keys the sender resolves:

* ``_ts``: the start time as `time.time()`;
* ``_ctx``: the `Attribution` in force when the call was made;
* ``_estimate``: a `UsageEstimate` to count on the sender thread;
* ``raw_usage`` may be a provider SDK's pydantic object, or a list of parts merged in order
  (an Anthropic stream reports usage at its start and its end).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tokenoptimizer.sdk.attribution import EMPTY, Attribution
from tokenoptimizer.sdk.config import SdkConfig

Pending = dict[str, Any]

log = logging.getLogger("tokenoptimizer")

ESTIMATED_TAG = "tokenoptimizer.usage"
"""Tag set to ``estimated`` when tokens were counted by the SDK because the provider reported none."""

_OPTIONAL_TEXT = ("requested_model", "endpoint", "error_type", "user", "end_user", "team", "feature")
_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
_MAX_TEXT = 200
_MAX_TAGS = 50
_MAX_MILLIS = 86_400_000.0
_REQUEST_TYPES = frozenset({"chat", "completion", "embedding", "image", "audio", "rerank", "other"})


def new_event_id() -> str:
    """A random UUID (version 4) as text, in a quarter of `str(uuid.uuid4())`'s time."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(slots=True)
class UsageEstimate:
    """Tokens to count on the sender thread when the provider reported no usage.

    Attributes:
        model: Model whose tokenizer counts.
        provider: Provider (picks the tokenizer or chars-per-token ratio).
        messages: The request's chat messages (a shallow copy taken at call time).
        prompt: The request's text, when it is not chat messages.
        input_tokens: Input tokens already known (e.g. from an Anthropic stream's start).
        output_parts: Output text received before the stream ended.
    """

    model: str
    provider: str
    messages: Sequence[Mapping[str, Any]] | None = None
    prompt: str | None = None
    input_tokens: int | None = None
    output_parts: list[str] = field(default_factory=list)


# --- wire form (sender thread) ---------------------------------------------------------------


def usage_dict(raw: Any) -> dict[str, Any]:
    """A provider's usage object (pydantic model, mapping, or list of parts) as a plain dict."""
    if isinstance(raw, list):
        merged: dict[str, Any] = {}
        for part in raw:
            merged.update({k: v for k, v in usage_dict(part).items() if v is not None})
        return merged
    dump = getattr(raw, "model_dump", None)
    if dump is not None:
        result: dict[str, Any] = dump(mode="json", exclude_none=True)
        return result
    if isinstance(raw, Mapping):
        return dict(raw)
    raise TypeError(f"raw_usage must be a mapping or a pydantic model, got {type(raw).__name__}")


def _supported(provider: str, api: str) -> bool:
    from tokenoptimizer.pricing.usage import supported_formats

    global _SUPPORTED
    if _SUPPORTED is None:
        _SUPPORTED = frozenset(supported_formats())
    return (provider, api) in _SUPPORTED


_SUPPORTED: frozenset[tuple[str, str]] | None = None


def _normalise_locally(out: dict[str, Any], provider: str, api: str, raw: dict[str, Any]) -> None:
    """Counts for a provider the server has no normaliser for, read in the API's OpenAI shape.

    An OpenAI client pointed at an OpenAI-compatible provider reports OpenAI's usage shape; the
    server normalises by (provider, api), so for pairs it does not know the SDK sends counts.
    """
    from tokenoptimizer.pricing.usage import normalise_usage

    shape = "anthropic" if api == "messages" else "openai"
    usage = normalise_usage(shape, api, raw)
    out["input_tokens"] = usage.input_tokens
    out["output_tokens"] = usage.output_tokens
    out["cache_read_tokens"] = usage.cache_read_tokens
    out["cache_write_tokens"] = usage.cache_write_tokens
    out["reasoning_tokens"] = usage.reasoning_tokens
    if usage.reported_cost_usd is not None:
        out["reported_cost_usd"] = usage.reported_cost_usd


def _estimate(out: dict[str, Any], estimate: UsageEstimate) -> None:
    from tokenoptimizer.tokens import count_message_tokens, count_text_tokens

    input_tokens = estimate.input_tokens
    if input_tokens is None:
        if estimate.messages is not None:
            input_tokens = count_message_tokens(estimate.messages, estimate.model, estimate.provider).tokens
        else:
            input_tokens = count_text_tokens(estimate.prompt or "", estimate.model, estimate.provider).tokens
    text = "".join(estimate.output_parts)
    output_tokens = count_text_tokens(text, estimate.model, estimate.provider).tokens if text else 0
    out["input_tokens"] = input_tokens
    out["output_tokens"] = output_tokens


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:_MAX_TEXT] or None


def _tags(config: SdkConfig, ctx: Attribution, given: Mapping[str, Any] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in (config.default_tags, ctx.tags, given or {}):
        for key, value in source.items():
            name = str(key)[:64]
            if name:
                tags[name] = str(value)[:_MAX_TEXT]
    if len(tags) > _MAX_TAGS:
        tags = dict(list(tags.items())[:_MAX_TAGS])
    return tags


def to_wire(pending: Pending, config: SdkConfig) -> dict[str, Any]:
    """The JSON-ready event the server accepts, from a pending record."""
    out: dict[str, Any] = {
        "event_id": pending["event_id"],
        "ts": datetime.fromtimestamp(pending["_ts"], UTC).isoformat(),
        "provider": (_text(pending.get("provider")) or "unknown")[:64].lower(),
        "model": _text(pending.get("model")) or "unknown",
    }
    counts: dict[str, int] = {}
    for name, value in pending.items():
        if value is None:
            continue
        kind = _FIELD_KINDS.get(name)
        if kind is _KIND_TEXT:
            text = _text(value)
            if text is not None:
                out[name] = text
        elif kind is _KIND_COUNT:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if type(value) is int and value > 0:
                counts[name] = min(value, 10**9)
        elif kind is _KIND_MILLIS:
            if isinstance(value, int | float) and value >= 0:
                out[name] = min(float(value), _MAX_MILLIS)
        elif kind is _KIND_ID:
            if value:
                out[name] = str(value)[:128]
        elif name == "request_type":
            if value in _REQUEST_TYPES:
                out[name] = value
        elif name == "status":
            out[name] = value if value in ("ok", "error") else "error"
        elif name == "reported_cost_usd":
            if isinstance(value, int | float) and value >= 0:
                out[name] = float(value)
    # The call's own fields win over the context, which wins over the configured defaults.
    ctx: Attribution = pending.get("_ctx", EMPTY)
    if ctx is not EMPTY:
        for name in ("feature", "user", "end_user", "team", "trace_id"):
            if name not in out:
                value = getattr(ctx, name)
                if value is not None:
                    out[name] = str(value)[: 128 if name == "trace_id" else _MAX_TEXT]
    if "feature" not in out and config.default_feature:
        out["feature"] = config.default_feature[:_MAX_TEXT]
    given_tags = pending.get("tags")
    tags = _tags(config, ctx, given_tags) if (config.default_tags or ctx.tags or given_tags) else {}
    _usage(out, pending, counts, tags)
    if tags:
        out["tags"] = tags
    return out


_KIND_TEXT, _KIND_COUNT, _KIND_MILLIS, _KIND_ID = object(), object(), object(), object()
_FIELD_KINDS: dict[str, object] = {
    **dict.fromkeys(_OPTIONAL_TEXT, _KIND_TEXT),
    **dict.fromkeys(_COUNTS, _KIND_COUNT),
    "latency_ms": _KIND_MILLIS,
    "time_to_first_token_ms": _KIND_MILLIS,
    "trace_id": _KIND_ID,
    "prompt_hash": _KIND_ID,
}


def _usage(out: dict[str, Any], pending: Pending, counts: dict[str, int], tags: dict[str, str]) -> None:
    raw = pending.get("raw_usage")
    api = pending.get("api")
    if raw is not None and api:
        try:
            raw_dict = usage_dict(raw)
            if _supported(out["provider"], api):
                out["api"] = api
                out["raw_usage"] = raw_dict
            else:
                _normalise_locally(out, out["provider"], api, raw_dict)
            return
        except (TypeError, ValueError) as exc:
            log.warning(
                "tokenoptimizer: unreadable usage of a %s call (%s); counting tokens instead", api, exc
            )
    estimate: UsageEstimate | None = pending.get("_estimate")
    if estimate is not None:
        try:
            _estimate(out, estimate)
            tags[ESTIMATED_TAG] = "estimated"
        except Exception as exc:  # counting must never lose the event
            log.warning("tokenoptimizer: could not count the tokens of a call (%s)", exc)
        return
    if counts:
        out.update(counts)
        _keep_consistent(out)


def _keep_consistent(out: dict[str, Any]) -> None:
    """Clamp parts to their wholes, as the server refuses cache > input and reasoning > output."""
    inp = out.get("input_tokens", 0)
    read = min(out.get("cache_read_tokens", 0), inp)
    write = min(out.get("cache_write_tokens", 0), inp - read)
    if read:
        out["cache_read_tokens"] = read
    if "cache_write_tokens" in out:
        out["cache_write_tokens"] = write
    if "reasoning_tokens" in out:
        out["reasoning_tokens"] = min(out["reasoning_tokens"], out.get("output_tokens", 0))
