"""OpenTelemetry receiver: `POST /otlp/v1/traces` (OTLP/HTTP, protobuf or JSON).

Point any OTLP/HTTP trace exporter here with an ingest API key in its headers
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://host:8000/otlp/v1/traces`,
`OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer tko_…`). GenAI model-call spans become usage
events through the one pipeline (`otlp_mapping` says how); other spans are ignored and counted.

The answer follows the OTLP/HTTP specification: 200 with an `ExportTraceServiceResponse` in the
request's encoding, `partialSuccess` naming how many GenAI spans were rejected and why; errors as
a `google.rpc.Status` in the request's encoding. Counts are also in `x-tko-*` response headers
(`x-tko-ignored-spans` for the spans that were not model calls).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import anyio.to_thread
import orjson
from fastapi import APIRouter, HTTPException, Request, Response, status
from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tokenoptimizer.server.deps import Caller, ContextDep, cached_caller, key_from_headers, require
from tokenoptimizer.usage.otlp_mapping import RejectedSpan, events_from_request
from tokenoptimizer.usage.partial_ingest import ingest_valid
from tokenoptimizer.usage.pipeline import Attribution
from tokenoptimizer.usage.request_body import MIB, read_body

log = logging.getLogger(__name__)

router = APIRouter(tags=["opentelemetry"])
_INGEST = require("ingest")

TRACES_PATH = "/otlp/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
OTLP_MAX_BYTES = 64 * MIB
"""Largest export request accepted, before and after decompression (the exporters' own default)."""
MAX_REASONS = 5
"""Rejection reasons spelled out in `partialSuccess.errorMessage` (the count covers all)."""

# HTTP status → google.rpc.Code, for the Status body of an error.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 422: 3}
# Hex lengths of the ids OTLP JSON writes in hex (camelCase, and the proto names parsers accept).
_ID_LENGTHS = {
    "traceId": 32,
    "trace_id": 32,
    "spanId": 16,
    "span_id": 16,
    "parentSpanId": 16,
    "parent_span_id": 16,
}

_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": "An OTLP `ExportTraceServiceRequest`, protobuf or OTLP JSON (gzip allowed).",
        "content": {
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            JSON: {"schema": {"type": "object"}},
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An `ExportTraceServiceResponse` in the request's encoding. Headers "
        "`x-tko-accepted`, `x-tko-duplicates`, `x-tko-rejected-spans` and `x-tko-ignored-spans` count "
        "the spans stored, already stored, rejected (GenAI spans that are not valid events) and ignored "
        "(not model calls).",
        "content": {PROTOBUF: {}, JSON: {}},
    },
    400: {"description": "The body is not an OTLP export request (a `google.rpc.Status` says why)."},
    401: {"description": "No valid API key (`Authorization: Bearer tko_…` or `x-api-key`)."},
    413: {"description": "The request is larger than 64 MiB."},
    415: {"description": "Neither `application/x-protobuf` nor `application/json`."},
}


class OtlpDecodeError(ValueError):
    """The body is not an OTLP export request; the message says why."""


@router.post(TRACES_PATH, response_class=Response, openapi_extra=_OPENAPI, responses=_RESPONSES)
async def export_traces(request: Request, context: ContextDep) -> Response:
    """Receive OpenTelemetry traces; each GenAI model-call span becomes a usage event.

    Authenticate with an ingest API key. A span exported twice is stored once. GenAI spans that
    cannot be events are counted in `partialSuccess.rejectedSpans` with the reasons; spans that
    are not model calls (HTTP, database, agent and tool spans) are ignored and counted in the
    `x-tko-ignored-spans` header. See docs/otel.md for the attribute mapping.
    """
    media = _media_type(request)
    try:
        caller = await _caller(request, context)
        if caller.api_key_id is None or caller.key_project_id is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "send traces with a project API key (ingest scope)"
            )
        if media not in (PROTOBUF, JSON):
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"unsupported Content-Type {media or '(none)'!r}: send {PROTOBUF} or {JSON} (OTLP/HTTP)",
            )
        raw = await read_body(
            request, OTLP_MAX_BYTES, advice="Lower the exporter's batch size (max_export_batch_size)."
        )
        try:
            export = decode_request(raw, media)
        except OtlpDecodeError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except HTTPException as exc:
        return _error(exc, media)
    attribution = Attribution(
        org_id=caller.org_id, project_id=caller.key_project_id, api_key_id=caller.api_key_id
    )
    return await _store(context, attribution, export, media)


async def _caller(request: Request, context: ContextDep) -> Caller:
    """The ingest caller; the database is asked off the event loop, when the key is not cached."""
    secret = key_from_headers(request.headers)
    caller = None if secret is None else cached_caller(context, secret)
    if caller is None:
        return await anyio.to_thread.run_sync(_INGEST, request, context)
    if "ingest" not in caller.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this credential lacks the 'ingest' scope")
    return caller


async def _store(
    context: ContextDep, attribution: Attribution, export: ExportTraceServiceRequest, media: str
) -> Response:
    batch = events_from_request(export)
    result, problems = await ingest_valid(context.pipeline, batch.events, attribution, source="otlp")
    rejected = batch.rejected + [
        RejectedSpan(batch.labels[problem.index], f"{problem.field}: {problem.message}")
        for problem in problems
    ]
    answer = ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = len(rejected)
        answer.partial_success.error_message = rejection_message(rejected)
        log.warning("OTLP export for org %s: %s", attribution.org_id, answer.partial_success.error_message)
    log.debug(
        "OTLP export for org %s: %d stored, %d duplicates, %d rejected, %d ignored",
        attribution.org_id,
        result.accepted,
        result.duplicates,
        len(rejected),
        batch.ignored,
    )
    headers = {
        "x-tko-accepted": str(result.accepted),
        "x-tko-duplicates": str(result.duplicates),
        "x-tko-rejected-spans": str(len(rejected)),
        "x-tko-ignored-spans": str(batch.ignored),
    }
    return Response(content=_encode(answer, media), media_type=media, headers=headers)


def rejection_message(rejected: list[RejectedSpan]) -> str:
    """`partialSuccess.errorMessage`: how many spans were rejected, and the first reasons."""
    reasons = "; ".join(f"{span.label}: {span.reason}" for span in rejected[:MAX_REASONS])
    more = f"; and {len(rejected) - MAX_REASONS} more" if len(rejected) > MAX_REASONS else ""
    return f"{len(rejected)} GenAI span(s) could not become usage events: {reasons}{more}"


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def decode_request(raw: bytes, media: str) -> ExportTraceServiceRequest:
    """Parse an OTLP export request from protobuf bytes or OTLP JSON."""
    export = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            export.ParseFromString(raw)
        except DecodeError as exc:
            raise OtlpDecodeError(f"the body is not a protobuf ExportTraceServiceRequest: {exc}") from exc
        return export
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise OtlpDecodeError('the body must be a JSON object such as {"resourceSpans": [...]}')
    try:
        json_format.ParseDict(_hex_ids_to_base64(body), export, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OtlpDecodeError(f"the body is not an OTLP JSON ExportTraceServiceRequest: {exc}") from exc
    return export


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP JSON writes trace and span ids in hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        length = _ID_LENGTHS.get(key)
        if length is not None and isinstance(value, str) and len(value) == length:
            try:
                value = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                pass  # not hex: leave it to the protobuf parser (base64, or a clear error)
        converted[key] = _hex_ids_to_base64(value)
    return converted


def _encode(message: Any, media: str) -> bytes:
    if media == JSON:
        return orjson.dumps(json_format.MessageToDict(message))
    data: bytes = message.SerializeToString()
    return data


def _error(exc: HTTPException, media: str) -> Response:
    """An error as a `google.rpc.Status` in the request's encoding (OTLP/HTTP's error body)."""
    code = _RPC_CODES.get(exc.status_code, 2)
    message = str(exc.detail)
    if media == PROTOBUF:
        content, media_type = _status_protobuf(code, message), PROTOBUF
    else:
        content, media_type = orjson.dumps({"code": code, "message": message}), JSON
    return Response(content, status_code=exc.status_code, media_type=media_type, headers=exc.headers)


def _status_protobuf(code: int, message: str) -> bytes:
    """`google.rpc.Status{code, message}` encoded by hand (googleapis protos are not a dependency)."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
