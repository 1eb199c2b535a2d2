"""`POST /api/v1/events` served straight from ASGI, in front of FastAPI's routing.

Ingest is the one endpoint called thousands of times a second. FastAPI's routing, dependency
solving and thread-pool hops cost about a millisecond per request on a small machine, more than
decoding and pricing a small batch. This middleware answers exactly that method and path itself,
with the same authentication, decoding, pipeline and error shapes as the documented route
(`routes.ingest_events`, which stays for the OpenAPI schema), and passes every other request on.
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import cached_caller, key_from_headers, verified_caller
from tokenoptimizer.usage.request_body import INGEST_MAX_BYTES, decode_content
from tokenoptimizer.usage.routes import accept_events

INGEST_PATH = "/api/v1/events"


class IngestFastPath:
    """ASGI middleware serving `POST /api/v1/events`."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ingest requests; hand anything else to the wrapped app."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != INGEST_PATH:
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        status, payload, extra = await self._handle(headers, receive)
        await _respond(send, status, payload, extra)

    async def _handle(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        secret = key_from_headers(headers)
        if secret is None:
            return (
                401,
                {"detail": "authentication required: send an API key (Authorization: Bearer tko_…)"},
                [(b"www-authenticate", b"Bearer")],
            )
        body = await _read_body(receive)
        try:
            body = decode_content(body, headers.get("content-encoding", ""), INGEST_MAX_BYTES)
            caller = cached_caller(self.context, secret)
            if caller is None:
                # Rare (once per key every few seconds): ask the database off the event loop.
                caller = await anyio.to_thread.run_sync(verified_caller, self.context, secret)
            result = await accept_events(self.context, caller, body)
        except HTTPException as exc:
            extra = [(k.encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            return exc.status_code, {"detail": exc.detail}, extra
        except RequestValidationError as exc:
            return 422, {"detail": list(exc.errors())}, []
        return 202, result.model_dump(), []


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, payload: dict[str, Any], extra: list[tuple[bytes, bytes]]
) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
