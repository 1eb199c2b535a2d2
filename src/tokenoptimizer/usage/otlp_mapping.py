"""OpenTelemetry GenAI spans → usage events (pure: no HTTP, no storage).

Instrumentation libraries (OpenTelemetry's own, OpenLLMetry, OpenLIT, Logfire, …) describe each
model call as a span with the GenAI semantic conventions (`gen_ai.*` attributes). This module reads
an OTLP `ExportTraceServiceRequest` and sorts its spans into three groups:

- **events**: model calls (`chat`, `text_completion`, `generate_content`, `embeddings`, or a
  legacy span without `gen_ai.operation.name`), turned into `WireEvent`s for the one pipeline;
- **rejected**: GenAI model-call spans that cannot become an event (no model, unknown provider,
  a token count that is not a count), each with the reason, for OTLP's `partialSuccess`;
- **ignored**: every other span, counted. Agent, tool and workflow spans (`invoke_agent`,
  `execute_tool`, …) are ignored on purpose: they may carry the *sum* of the model calls made
  inside them, which are spans of their own, and counting both would double the spend.

The event id is `uuid5(trace_id:span_id)`, so a re-exported span is a duplicate, never counted
twice. docs/otel.md documents the whole mapping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tokenoptimizer.pricing.catalogue import canonical_provider, lookup_model
from tokenoptimizer.usage.wire import MAX_TAGS, WireEvent, to_wire

OTLP_EVENT_NAMESPACE = uuid.UUID("6f1c3b8e-5d2a-4c47-9a0e-2f7b1d4c8e90")
"""Namespace of the event ids derived from (trace_id, span_id)."""

# Operations that orchestrate model calls rather than being one (semantic conventions' names).
NOT_MODEL_CALLS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "create_workflow"}
)

# gen_ai.provider.name / gen_ai.system values → our provider names (the pricing catalogue's).
# Anything else goes through `canonical_provider` (lower-cased, common aliases folded).
_PROVIDERS = {
    "aws.bedrock": "bedrock",
    "aws_bedrock": "bedrock",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "google_genai": "google",
    "vertexai": "google",
    "mistral_ai": "mistral",
    "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx",
}

_REQUEST_TYPES = {
    "chat": "chat",
    "generate_content": "chat",
    "responses": "chat",
    "text_completion": "completion",
    "completion": "completion",
    "embeddings": "embedding",
    "embedding": "embedding",
    "rerank": "rerank",
    "image": "image",
    "image_generation": "image",
    "audio": "audio",
    "speech": "audio",
    "transcription": "audio",
}

# Each normalised count, from the current semantic conventions' name to older and vendor spellings.
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_TOKENS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.input_tokens.cached",
    "gen_ai.usage.cached_tokens",
)
CACHE_WRITE_TOKENS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.input_tokens.cache_write",
)
REASONING_TOKENS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.output_tokens.reasoning",
)

# Attributes (span first, then resource) → tags of the event.
_TAG_ATTRIBUTES = (
    ("service.name", "service"),
    ("deployment.environment.name", "env"),
    ("deployment.environment", "env"),
    ("gen_ai.conversation.id", "conversation"),
    ("gen_ai.agent.name", "agent"),
)
_TAG_PREFIX = "tko.tag."
MAX_TEXT = 200
MAX_MILLIS = 86_400_000


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    """A GenAI span that could not become an event, and why."""

    label: str
    reason: str


@dataclass(slots=True)
class SpanBatch:
    """What one export request holds: events to store, rejected GenAI spans, ignored spans."""

    events: list[WireEvent] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    """For each event, the span it came from (names the span when the pipeline refuses it)."""
    rejected: list[RejectedSpan] = field(default_factory=list)
    ignored: int = 0


class SpanProblem(ValueError):
    """A GenAI span cannot become an event; the message says why."""


def events_from_request(request: ExportTraceServiceRequest) -> SpanBatch:
    """Sort the spans of an OTLP export request into events, rejected and ignored spans."""
    batch = SpanBatch()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span_attributes = attributes(span.attributes)
                if not is_model_call(span_attributes):
                    batch.ignored += 1
                    continue
                label = span_label(span)
                try:
                    event = span_to_event(span, span_attributes, resource)
                except SpanProblem as exc:
                    batch.rejected.append(RejectedSpan(label, str(exc)))
                    continue
                batch.events.append(event)
                batch.labels.append(label)
    return batch


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP key-values as a plain dict (later keys win, as in the SDK)."""
    return {pair.key: _value(pair.value) for pair in pairs}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def is_model_call(span_attributes: Mapping[str, Any]) -> bool:
    """A GenAI span describing one model call (not an agent, tool or workflow span)."""
    if not any(key.startswith("gen_ai.") for key in span_attributes):
        return False
    return span_attributes.get("gen_ai.operation.name") not in NOT_MODEL_CALLS


def span_label(span: Span) -> str:
    """How error messages name a span."""
    return f"span {span.name!r} (trace {span.trace_id.hex()}, span {span.span_id.hex()})"


def event_id_of(trace_id: bytes, span_id: bytes) -> uuid.UUID:
    """The event id of a span: the same span exported twice is one event."""
    return uuid.uuid5(OTLP_EVENT_NAMESPACE, f"{trace_id.hex()}:{span_id.hex()}")


def provider_name(value: str) -> str:
    """Our provider name for a `gen_ai.provider.name` / `gen_ai.system` value."""
    name = value.strip().lower()
    return _PROVIDERS.get(name) or canonical_provider(name)


def span_to_event(span: Span, span_attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> WireEvent:
    """The usage event of one GenAI model-call span; `SpanProblem` when it cannot be one."""
    if not span.trace_id or not span.span_id:
        raise SpanProblem("the span has no trace_id or span_id, so a re-export could not be recognised")
    request_model = _text(span_attributes, "gen_ai.request.model")
    model = _text(span_attributes, "gen_ai.response.model") or request_model
    if model is None:
        raise SpanProblem("no gen_ai.response.model or gen_ai.request.model")
    provider = _provider(span_attributes, model)
    operation = _text(span_attributes, "gen_ai.operation.name")
    legacy_type = _text(span_attributes, "llm.request.type")  # OpenLLMetry, before operation.name
    data: dict[str, Any] = {
        "event_id": str(event_id_of(span.trace_id, span.span_id)),
        "provider": provider,
        "model": model,
        "requested_model": request_model,
        "endpoint": operation,
        "request_type": _REQUEST_TYPES.get((operation or legacy_type or "chat").lower(), "other"),
        "trace_id": span.trace_id.hex(),
        **_usage(span_attributes),
        **_timing(span),
        **_outcome(span, span_attributes),
        **_attribution(span_attributes, resource),
    }
    try:
        return to_wire({key: value for key, value in data.items() if value is not None})
    except msgspec.ValidationError as exc:
        raise SpanProblem(str(exc)) from exc


def _provider(span_attributes: Mapping[str, Any], model: str) -> str:
    raw = _text(span_attributes, "gen_ai.provider.name") or _text(span_attributes, "gen_ai.system")
    if raw is not None:
        return provider_name(raw)
    found = lookup_model(None, model)
    if found is None:
        raise SpanProblem(
            f"no gen_ai.provider.name (or gen_ai.system), and the model {model!r} is not in the price "
            "catalogue to infer it from"
        )
    return canonical_provider(found.provider_id)


def _text(source: Mapping[str, Any], key: str) -> str | None:
    value = source.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _count(source: Mapping[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        value = source.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            raise SpanProblem(f"{key} must be a token count, not {value!r}")
        try:
            count = int(value) if not isinstance(value, float) or value.is_integer() else -1
        except (TypeError, ValueError):
            count = -1
        if count < 0:
            raise SpanProblem(f"{key} must be a whole, non-negative token count (got {value!r})")
        return count
    return 0


def _usage(source: Mapping[str, Any]) -> dict[str, int]:
    """Normalised counts: input includes cached tokens, output includes reasoning.

    The conventions say cache reads/writes are *included* in `gen_ai.usage.input_tokens` and
    reasoning in `output_tokens`. Some instrumentations report Anthropic-style uncached input or
    Gemini-style separate thoughts; when the parts exceed the whole, the whole was reported without
    them and they are added.
    """
    input_tokens = _count(source, INPUT_TOKENS)
    output_tokens = _count(source, OUTPUT_TOKENS)
    cache_read = _count(source, CACHE_READ_TOKENS)
    cache_write = _count(source, CACHE_WRITE_TOKENS)
    reasoning = _count(source, REASONING_TOKENS)
    if cache_read + cache_write > input_tokens:
        input_tokens += cache_read + cache_write
    if reasoning > output_tokens:
        output_tokens += reasoning
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def _timing(span: Span) -> dict[str, Any]:
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    timing: dict[str, Any] = {}
    if start:
        timing["ts"] = datetime.fromtimestamp(start / 1e9, UTC)
    if start and end >= start:
        latency = (end - start) / 1e6
        if latency <= MAX_MILLIS:
            timing["latency_ms"] = latency
    return timing


def _outcome(span: Span, span_attributes: Mapping[str, Any]) -> dict[str, Any]:
    error_type = _text(span_attributes, "error.type")
    if span.status.code != Status.STATUS_CODE_ERROR and error_type is None:
        return {"status": "ok"}
    reason = error_type or span.status.message or "error"
    return {"status": "error", "error_type": reason[:MAX_TEXT]}


def _attribution(span_attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    def first(*keys: str) -> str | None:
        for source in (span_attributes, resource):
            for key in keys:
                value = _text(source, key)
                if value is not None:
                    return value
        return None

    return {
        "feature": first("tko.feature"),
        "user": first("tko.user", "user.id", "enduser.id"),
        "end_user": first("tko.end_user"),
        "team": first("tko.team"),
        "tags": _tags(span_attributes, resource),
    }


def _tags(span_attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in (resource, span_attributes):  # span attributes win
        for key, value in source.items():
            if key.startswith(_TAG_PREFIX) and value not in (None, ""):
                tags[key[len(_TAG_PREFIX) :][:64]] = str(value)[:MAX_TEXT]
    for attribute, tag in _TAG_ATTRIBUTES:
        if tag in tags:
            continue
        value = _text(span_attributes, attribute) or _text(resource, attribute)
        if value is not None:
            tags[tag] = value[:MAX_TEXT]
    tags.pop("", None)
    return dict(list(tags.items())[:MAX_TAGS])
