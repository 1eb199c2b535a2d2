"""The OpenTelemetry receiver, fed by the real opentelemetry-sdk OTLP/HTTP exporter over a real socket."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import Tenant
from tests.servers import free_port
from tokenoptimizer.usage.otlp_mapping import event_id_of, provider_name

GPT4O = {"input": 2.50, "cache_read": 1.25, "output": 10.00}  # USD per million tokens (gpt-4o-2024-08-06)


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The test's app served by uvicorn on a free port, in a thread."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def record_spans(build: Any, service: str = "checkout-api") -> list[ReadableSpan]:
    """Spans made by the SDK's tracer, the way instrumentation libraries make them."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    build(provider.get_tracer("test-instrumentation"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def genai_spans(tracer: Any) -> None:
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as http_span:
        http_span.set_attribute("http.request.method", "POST")
        with tracer.start_as_current_span("invoke_agent planner") as agent:
            agent.set_attributes(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "planner",
                    "gen_ai.usage.input_tokens": 1000,  # the sum of the calls inside: never counted
                    "gen_ai.usage.output_tokens": 200,
                }
            )
            with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
                chat.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.response.model": "gpt-4o-2024-08-06",
                        "gen_ai.usage.input_tokens": 1000,
                        "gen_ai.usage.output_tokens": 200,
                        "gen_ai.usage.cache_read.input_tokens": 400,
                        "gen_ai.conversation.id": "conv-7",
                        "user.id": "u-42",
                        "tko.feature": "checkout",
                    }
                )
            with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as failed:
                failed.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.system": "openai",  # the attribute's name before gen_ai.provider.name
                        "gen_ai.request.model": "gpt-4o",
                        "error.type": "RateLimitError",
                    }
                )
                failed.set_status(Status(StatusCode.ERROR, "429 Too Many Requests"))


def export(
    url: str, spans: Sequence[ReadableSpan], headers: dict[str, str], **kwargs: Any
) -> SpanExportResult:
    exporter = OTLPSpanExporter(endpoint=f"{url}/otlp/v1/traces", headers=headers, timeout=10, **kwargs)
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


def events(url: str, key: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/events", params=params, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_sdk_exporter_spans_become_priced_events(live_url: str, tenant: Tenant) -> None:
    spans = record_spans(genai_spans)
    assert len(spans) == 4
    result = export(live_url, spans, {"Authorization": f"Bearer {tenant.key}"})
    assert result is SpanExportResult.SUCCESS

    stored = {e["status"]: e for e in events(live_url, tenant.key)}
    assert set(stored) == {"ok", "error"}  # the HTTP and agent spans were ignored
    chat = stored["ok"]
    chat_span = next(s for s in spans if s.attributes and s.attributes.get("gen_ai.response.model"))
    assert chat["event_id"] == str(
        event_id_of(
            chat_span.context.trace_id.to_bytes(16, "big"), chat_span.context.span_id.to_bytes(8, "big")
        )
    )
    assert (chat["provider"], chat["model"], chat["requested_model"]) == (
        "openai",
        "gpt-4o-2024-08-06",
        "gpt-4o",
    )
    assert (chat["input_tokens"], chat["output_tokens"], chat["cache_read_tokens"]) == (1000, 200, 400)
    expected = (600 * GPT4O["input"] + 400 * GPT4O["cache_read"] + 200 * GPT4O["output"]) / 1e6
    assert chat["cost_usd"] == pytest.approx(expected)  # 0.004 USD
    assert chat["price_source"] != "unknown"
    assert chat["source"] == "otlp"
    assert chat["request_type"] == "chat" and chat["endpoint"] == "chat"
    assert chat["user"] == "u-42" and chat["feature"] == "checkout"
    assert chat["tags"] == {"service": "checkout-api", "conversation": "conv-7"}
    assert chat["trace_id"] == format(chat_span.context.trace_id, "032x")
    duration_ms = (chat_span.end_time - chat_span.start_time) / 1e6  # type: ignore[operator]
    assert chat["latency_ms"] == pytest.approx(duration_ms)

    failed = stored["error"]
    assert failed["error_type"] == "RateLimitError"
    assert failed["model"] == "gpt-4o" and failed["cost_usd"] == 0

    # An exporter retrying the same spans never double-counts them.
    assert export(live_url, spans, {"Authorization": f"Bearer {tenant.key}"}) is SpanExportResult.SUCCESS
    assert len(events(live_url, tenant.key)) == 2


def test_cost_matches_the_rest_ingest_of_the_same_event(live_url: str, tenant: Tenant) -> None:
    def anthropic_call(tracer: Any) -> None:
        with tracer.start_as_current_span("chat claude") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-3-5-sonnet-20241022",
                    "gen_ai.usage.input_tokens": 5000,
                    "gen_ai.usage.output_tokens": 300,
                    "gen_ai.usage.cache_read.input_tokens": 3000,
                    "gen_ai.usage.cache_creation.input_tokens": 1000,
                }
            )

    spans = record_spans(anthropic_call)
    assert export(live_url, spans, {"x-api-key": tenant.key}, compression=Compression.Gzip) is (
        SpanExportResult.SUCCESS
    )
    [from_otel] = events(live_url, tenant.key)
    rest = {
        "provider": "anthropic",
        "model": "claude-3-5-sonnet-20241022",
        "ts": from_otel["ts"],
        "input_tokens": 5000,
        "output_tokens": 300,
        "cache_read_tokens": 3000,
        "cache_write_tokens": 1000,
    }
    response = httpx.post(f"{live_url}/api/v1/events", json=rest, headers=tenant.headers())
    assert response.status_code == 202, response.text
    from_rest = next(e for e in events(live_url, tenant.key) if e["source"] == "api")
    for name in (
        "cost_usd",
        "cost_input_usd",
        "cost_cache_read_usd",
        "cost_cache_write_usd",
        "cost_output_usd",
    ):
        assert from_otel[name] == pytest.approx(from_rest[name]), name
    # 1000 uncached input at $3, 3000 cache reads at $0.30, 1000 cache writes at $3.75, 300 output at $15.
    assert from_otel["cost_usd"] == pytest.approx((1000 * 3 + 3000 * 0.3 + 1000 * 3.75 + 300 * 15) / 1e6)


def otlp_json(spans: list[dict[str, Any]], service: str = "billing") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "hand-written"}, "spans": spans}],
            }
        ]
    }


def json_span(span_id: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}  # OTLP JSON writes int64 as strings
        return {"stringValue": v}

    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "name": "span",
        "kind": 3,
        "startTimeUnixNano": "1744000000000000000",
        "endTimeUnixNano": "1744000001500000000",
        "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
        **extra,
    }


def test_otlp_json_with_gzip_partial_success_and_ignored_count(live_url: str, tenant: Tenant) -> None:
    body = otlp_json(
        [
            json_span(
                "eee19b7ec3c1b174",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "aws.bedrock",
                    "gen_ai.request.model": "anthropic.claude-3-haiku-20240307-v1:0",
                    "gen_ai.usage.input_tokens": 2000,
                    "gen_ai.usage.output_tokens": 100,
                },
            ),
            json_span(
                "eee19b7ec3c1b175", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}
            ),
            json_span(
                "eee19b7ec3c1b176",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": "lots",
                },
            ),
            json_span("eee19b7ec3c1b177", {"db.system": "postgresql"}),
        ]
    )
    headers = {
        "Authorization": f"Bearer {tenant.key}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    response = httpx.post(
        f"{live_url}/otlp/v1/traces", content=gzip.compress(json.dumps(body).encode()), headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["partialSuccess"]["rejectedSpans"] == "2"
    message = answer["partialSuccess"]["errorMessage"]
    assert "eee19b7ec3c1b175" in message and "no gen_ai.response.model or gen_ai.request.model" in message
    assert "gen_ai.usage.input_tokens must be a whole, non-negative token count (got 'lots')" in message
    assert response.headers["x-tko-ignored-spans"] == "1"
    assert response.headers["x-tko-accepted"] == "1"
    assert response.headers["x-tko-rejected-spans"] == "2"

    [event] = events(live_url, tenant.key)
    assert event["event_id"] == str(
        event_id_of(bytes.fromhex("5b8efff798038103d269b633813fc60c"), bytes.fromhex("eee19b7ec3c1b174"))
    )
    assert event["provider"] == "bedrock" and event["price_source"] != "unknown"
    assert event["latency_ms"] == pytest.approx(1500)
    assert event["ts"].startswith("2025-04-07T04:26:40")
    assert event["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert event["tags"] == {"service": "billing"}

    again = httpx.post(
        f"{live_url}/otlp/v1/traces", content=gzip.compress(json.dumps(body).encode()), headers=headers
    )
    assert again.headers["x-tko-duplicates"] == "1" and again.headers["x-tko-accepted"] == "0"


def test_protobuf_answer_is_an_export_response(live_url: str, tenant: Tenant) -> None:
    def legacy(tracer: Any) -> None:
        with tracer.start_as_current_span("openai.chat") as span:  # OpenLLMetry's older names
            span.set_attributes(
                {
                    "gen_ai.system": "OpenAI",
                    "llm.request.type": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.prompt_tokens": 120,
                    "gen_ai.usage.completion_tokens": 30,
                }
            )
        with tracer.start_as_current_span("embeddings") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.request.model": "text-embedding-3-small",  # no provider: the catalogue knows it
                    "gen_ai.usage.input_tokens": 800,
                }
            )
        with tracer.start_as_current_span("GET /health"):
            pass

    body = encode_spans(record_spans(legacy)).SerializeToString()
    response = httpx.post(
        f"{live_url}/otlp/v1/traces",
        content=body,
        headers={**tenant.headers(), "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0 and not answer.partial_success.error_message
    assert response.headers["x-tko-ignored-spans"] == "1"
    by_model = {e["model"]: e for e in events(live_url, tenant.key)}
    assert by_model["gpt-4o-mini"]["provider"] == "openai"
    assert (by_model["gpt-4o-mini"]["input_tokens"], by_model["gpt-4o-mini"]["output_tokens"]) == (120, 30)
    embedding = by_model["text-embedding-3-small"]
    assert embedding["provider"] == "openai" and embedding["request_type"] == "embedding"
    assert embedding["cost_usd"] == pytest.approx(800 * 0.02 / 1e6)


def test_tenants_are_walled_off(live_url: str, tenant: Tenant, other_tenant: Tenant) -> None:
    spans = record_spans(genai_spans)
    assert export(live_url, spans, {"Authorization": f"Bearer {tenant.key}"}) is SpanExportResult.SUCCESS
    assert events(live_url, other_tenant.key) == []
    # The same spans sent by another organisation are its own events, not duplicates of Acme's.
    assert (
        export(live_url, spans, {"Authorization": f"Bearer {other_tenant.key}"}) is SpanExportResult.SUCCESS
    )
    theirs = events(live_url, other_tenant.key)
    assert len(theirs) == 2 and {e["org_id"] for e in theirs} == {other_tenant.org_id}
    assert {e["org_id"] for e in events(live_url, tenant.key)} == {tenant.org_id}


def test_authentication_is_required(live_url: str, tenant: Tenant) -> None:
    spans = record_spans(genai_spans)
    assert export(live_url, spans, {}) is SpanExportResult.FAILURE
    assert export(live_url, spans, {"Authorization": "Bearer tko_not_a_real_key"}) is SpanExportResult.FAILURE
    assert events(live_url, tenant.key) == []

    body = encode_spans(spans).SerializeToString()
    response = httpx.post(
        f"{live_url}/otlp/v1/traces", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": 16,
        "message": "authentication required: send an API key (Authorization: Bearer tko_…) or log in",
    }
    read_only = httpx.post(
        f"{live_url}/otlp/v1/traces",
        content=body,
        headers={**tenant.headers(tenant.read_key), "Content-Type": "application/x-protobuf"},
    )
    assert read_only.status_code == 403
    assert b"lacks the 'ingest' scope" in read_only.content  # a protobuf google.rpc.Status


async def test_bad_bodies_are_refused_with_a_reason(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = "/otlp/v1/traces"
    garbage = await client.post(
        url,
        content=b"\xff\xff\xff\xff",
        headers={**tenant.headers(), "Content-Type": "application/x-protobuf"},
    )
    assert garbage.status_code == 400
    assert garbage.headers["content-type"] == "application/x-protobuf"
    assert garbage.content[:2] == b"\x08\x03"  # google.rpc.Status code 3 (INVALID_ARGUMENT)
    assert b"not a protobuf ExportTraceServiceRequest" in garbage.content

    not_json = await client.post(
        url, content=b"{oops", headers={**tenant.headers(), "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["code"] == 3 and "not JSON" in not_json.json()["message"]

    wrong_shape = await client.post(
        url,
        json={"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "kind": "nope"}]}]}]},
        headers=tenant.headers(),
    )
    assert wrong_shape.status_code == 400
    assert "not an OTLP JSON ExportTraceServiceRequest" in wrong_shape.json()["message"]

    text = await client.post(url, content=b"hi", headers={**tenant.headers(), "Content-Type": "text/plain"})
    assert text.status_code == 415 and "application/x-protobuf" in text.json()["message"]

    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024 + 1))  # 64 KiB on the wire, 64 MiB + 1 inflated
    too_big = await client.post(
        url,
        content=bomb,
        headers={**tenant.headers(), "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert too_big.status_code == 413

    broken = await client.post(
        url,
        content=b"not gzip",
        headers={**tenant.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert broken.status_code == 400 and "Content-Encoding" in broken.json()["message"]


def test_provider_names_of_the_conventions_are_ours() -> None:
    assert provider_name("openai") == "openai"
    assert provider_name("Anthropic") == "anthropic"
    assert provider_name("aws.bedrock") == "bedrock"
    assert provider_name("gcp.vertex_ai") == "google"
    assert provider_name("gcp.gemini") == "google"
    assert provider_name("az.ai.openai") == "azure"
    assert provider_name("azure.ai.inference") == "azure"
    assert provider_name("mistral_ai") == "mistral"
    assert provider_name("x_ai") == "xai"
    assert provider_name("deepseek") == "deepseek"


def test_event_id_is_stable() -> None:
    trace, span = uuid.uuid4().bytes, uuid.uuid4().bytes[:8]
    assert event_id_of(trace, span) == event_id_of(trace, span)
    assert event_id_of(trace, span) != event_id_of(trace, uuid.uuid4().bytes[:8])


def proto_span(attributes: dict[str, Any], **fields: Any) -> Any:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    def value(v: Any) -> AnyValue:
        return AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v)

    defaults: dict[str, Any] = {
        "trace_id": b"\x01" * 16,
        "span_id": b"\x02" * 8,
        "name": "chat",
        "start_time_unix_nano": 1_744_000_000_000_000_000,
        "end_time_unix_nano": 1_744_000_000_250_000_000,
    }
    attrs = [KeyValue(key=k, value=value(v)) for k, v in attributes.items()]
    return Span(attributes=attrs, **{**defaults, **fields})


def test_parts_reported_beside_the_whole_are_added_to_it() -> None:
    from tokenoptimizer.usage.otlp_mapping import attributes, span_to_event

    # Anthropic-style: input_tokens without the cached part; Gemini-style: thoughts beside output.
    span = proto_span(
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet-20241022",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.cache_read_input_tokens": 5000,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.reasoning.output_tokens": 60,
        }
    )
    event = span_to_event(span, attributes(span.attributes), {})
    assert (event.input_tokens, event.cache_read_tokens) == (5010, 5000)
    assert (event.output_tokens, event.reasoning_tokens) == (100, 60)
    assert event.latency_ms == pytest.approx(250)

    # Conventions' way: the parts are inside the totals and nothing is added.
    span = proto_span(
        {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "o3-mini",
            "gen_ai.usage.input_tokens": 900,
            "gen_ai.usage.cache_read.input_tokens": 500,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.reasoning.output_tokens": 200,
        }
    )
    event = span_to_event(span, attributes(span.attributes), {})
    assert (event.input_tokens, event.output_tokens, event.reasoning_tokens) == (900, 300, 200)


def test_only_model_calls_count() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans

    from tokenoptimizer.usage.otlp_mapping import events_from_request

    spans = [
        proto_span(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
            }
        ),
        proto_span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}),
        proto_span({"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 5}),
        proto_span({"http.route": "/"}),
        proto_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "my-own-finetune"}),
        proto_span(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
            },
            trace_id=b"",
        ),
    ]
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])
    batch = events_from_request(request)
    assert [e.model for e in batch.events] == ["gpt-4o"]
    assert batch.ignored == 3
    reasons = [r.reason for r in batch.rejected]
    assert "is not in the price catalogue" in reasons[0]
    assert "no trace_id or span_id" in reasons[1]


def test_exporter_configured_by_environment_variables(
    live_url: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual deployment: OTEL_EXPORTER_OTLP_* variables and a batch span processor."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{live_url}/otlp/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=Bearer%20{tenant.key}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    provider = TracerProvider(
        resource=Resource.create({"service.name": "batch-job", "tko.feature": "nightly"})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("test-instrumentation")
    for n in range(3):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 100 * (n + 1),
                    "gen_ai.usage.output_tokens": 10,
                }
            )
    provider.shutdown()  # flushes the batch
    stored = events(live_url, tenant.key)
    assert sorted(e["input_tokens"] for e in stored) == [100, 200, 300]
    assert {e["feature"] for e in stored} == {"nightly"}  # from the resource
    assert sum(e["cost_usd"] for e in stored) == pytest.approx((600 * 0.15 + 30 * 0.60) / 1e6)
