"""The proxy: OpenAI- and Anthropic-compatible endpoints that forward to an upstream and record.

A call goes: API key → parse the body → route (rules, upstream) → rate limits → budget
reservation of the worst-case cost → forward → answer the caller (streams chunk by chunk) →
record the event through the one ingestion pipeline, after the answer (the reservation is held
until the event is stored, then released).

The proxy is a plain ASGI app mounted on the FastAPI app's router: FastAPI's dependency solving
and validation cost more than a whole proxied call should add, and the gateway answers in the
provider's formats anyway, not FastAPI's. The hot path does no database query (keys and
configuration are cached) and passes the body through untouched unless it must change it
(a routed model, `stream_options.include_usage`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokenoptimizer.budgets.service import BudgetExceeded
from tokenoptimizer.gateway.config import OrgGateway, RateLimits, Route, UpstreamTarget, require_key
from tokenoptimizer.gateway.endpoints import (
    DROP_REQUEST,
    DROP_WITH_OUR_KEY,
    ENDPOINTS,
    MODEL_INFO,
    Endpoint,
    error_type_of,
    filter_models,
    parse_tags,
    raise_unreachable,
    upstream_error_type,
)
from tokenoptimizer.gateway.errors import Api, GatewayError, stream_error_event
from tokenoptimizer.gateway.estimate import (
    input_estimate,
    output_limit,
    worst_case_cost,
)
from tokenoptimizer.gateway.events import CallFacts, Outcome, build_event
from tokenoptimizer.gateway.ratelimit import Subjects
from tokenoptimizer.gateway.recorder import PendingEvent
from tokenoptimizer.gateway.streaming import StreamWatcher
from tokenoptimizer.gateway.upstream import (
    ACCEPT_IDENTITY,
    TRANSPORT_ERRORS,
    UpstreamAnswer,
    header_text,
    send,
)
from tokenoptimizer.ids import random_uuid
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import Caller, cached_caller, key_from_headers, verified_caller
from tokenoptimizer.usage.pipeline import Attribution
from tokenoptimizer.usage.wire import WireEvent

PROVIDER_KEY_HEADER = "x-tko-provider-key"
_PROVIDER_KEY = PROVIDER_KEY_HEADER.encode()
MAX_ATTRIBUTE = 200
_JSON = (b"content-type", b"application/json")


class GatewayProxy:
    """The ASGI app of one API flavour (`openai` or `anthropic`), mounted under `/gateway/…`."""

    def __init__(self, api: Api, context: AppContext | None = None) -> None:
        self.api = api
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        context: AppContext = self.context or scope["app"].state.context
        recorder = context.gateway.recorder
        recorder.call_started()
        try:
            await ProxiedCall(context, self.api, scope, receive, send).run()
        finally:
            recorder.call_ended()


class GatewayFastPath:
    """ASGI middleware serving `/gateway/…` in front of FastAPI's routing.

    The proxy routes work without it (they are mounted on the router); with it
    (`app.add_middleware(GatewayFastPath, context=context)`), a proxied call skips FastAPI's
    middleware and the matching of the API's hundred-odd routes: 0.12 ms of CPU per call on the
    benchmark machine (bench/README.md).
    """

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self._proxies = (
            ("/gateway/openai/v1/", GatewayProxy("openai", context)),
            ("/gateway/anthropic/v1/", GatewayProxy("anthropic", context)),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve gateway calls; hand anything else to the wrapped app."""
        if scope["type"] == "http" and scope["path"].startswith("/gateway/"):
            path: str = scope["path"]
            for prefix, proxy in self._proxies:
                if path.startswith(prefix):
                    scope["path_params"] = {"path": path[len(prefix) :]}
                    await proxy(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class ProxiedCall:
    """One call through the gateway."""

    def __init__(self, context: AppContext, api: Api, scope: Scope, receive: Receive, send: Send) -> None:
        self.context = context
        self.gateway = context.gateway
        self.api = api
        self.scope = scope
        self.receive = receive
        self.send = send
        self.started = time.perf_counter()
        self.ts = datetime.now(UTC)
        self.path: str = scope["path_params"]["path"].strip("/")
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self.own_key = self.header(_PROVIDER_KEY)
        """The caller's own provider key, if it sent one."""
        self.caller: Caller | None = None
        self.raw = b""
        self.body: dict[str, Any] = {}
        self.model = ""
        self.attributes: dict[str, Any] = {}
        self.config: OrgGateway | None = None
        self.route: Route | None = None
        self.reservation_id: str | None = None
        self.event_id = random_uuid()

    def header(self, name: bytes) -> str | None:
        """A request header as text."""
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None

    # -- the call ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Admit, forward, answer and record the call."""
        endpoint = ENDPOINTS.get((self.api, self.scope["method"], self.path))
        if endpoint is None and self.api == "openai" and self.path.startswith("models/"):
            endpoint = MODEL_INFO
        try:
            self.caller = await self._authenticate()
            if endpoint is None:
                raise GatewayError(
                    404,
                    f"{self.scope['method']} /v1/{self.path} is not served by the TokenOptimizer gateway; "
                    "see docs/gateway.md for the endpoints it proxies",
                    "not_found",
                    "unknown_url",
                )
            self.raw = raw = await _read_body(self.receive)
            if not endpoint.recorded:
                await self._forward_free(endpoint, raw)
                return
            payload = self._parse(raw)
            await self._admit(endpoint, len(raw))
        except GatewayError as exc:
            if exc.event_error and self.caller is not None and self.model and endpoint is not None:
                route = self.route
                outcome = Outcome(status="error", error_type=exc.event_error)
                if route is not None:
                    outcome.upstream, outcome.served_model = route.upstream, route.model
                self._record(endpoint, outcome)
            await self._answer_error(exc)
            return
        try:
            await self._forward(endpoint, payload)
        except BaseException:
            self._release()
            raise

    async def _authenticate(self) -> Caller:
        secret = key_from_headers({k: self.header(k.encode()) or "" for k in ("authorization", "x-api-key")})
        if secret is None:
            raise GatewayError(
                401,
                "Missing TokenOptimizer API key: give the SDK api_key='tko_…' (sent as "
                "'Authorization: Bearer' or 'x-api-key'); a provider key goes in 'x-tko-provider-key'",
                "authentication",
                "invalid_api_key",
            )
        try:
            caller = cached_caller(self.context, secret)
            if caller is None:
                caller = await anyio.to_thread.run_sync(verified_caller, self.context, secret)
        except HTTPException as exc:
            raise GatewayError(
                401, "Invalid or revoked TokenOptimizer API key", "authentication", "invalid_api_key"
            ) from exc
        if "ingest" not in caller.scopes:
            raise GatewayError(
                403,
                "This TokenOptimizer API key lacks the 'ingest' scope the gateway needs",
                "permission",
                "insufficient_scope",
            )
        return caller

    def _parse(self, raw: bytes) -> dict[str, Any]:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise GatewayError(400, f"The request body is not valid JSON: {exc}", "invalid_request") from exc
        if not isinstance(body, dict):
            raise GatewayError(400, "The request body must be a JSON object", "invalid_request")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise GatewayError(400, "'model' is required (a model name)", "invalid_request")
        self.body = body
        self.model = model
        self.attributes = self._attributes(body)
        return body

    def _attributes(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Attribution from the `x-tko-*` headers.

        The end user comes from `x-tko-end-user`, else the body (OpenAI `user`, Anthropic
        `metadata.user_id`).
        """
        end_user = self.header(b"x-tko-end-user")
        if end_user is None:
            candidate = body.get("user")
            metadata = body.get("metadata")
            if candidate is None and isinstance(metadata, dict):
                candidate = metadata.get("user_id")
            end_user = candidate if isinstance(candidate, str) and candidate else None
        values: dict[str, Any] = {
            "feature": self.header(b"x-tko-feature"),
            "user": self.header(b"x-tko-user"),
            "end_user": end_user,
            "trace_id": self.header(b"x-tko-trace-id"),
        }
        for name, value in values.items():
            limit = 128 if name == "trace_id" else MAX_ATTRIBUTE
            if value is not None and (not value.strip() or len(value) > limit):
                header = "x-tko-end-user" if name == "end_user" else f"x-tko-{name.replace('_', '-')}"
                raise GatewayError(
                    400, f"{header}: between 1 and {limit} characters (got {len(value)})", "invalid_request"
                )
        values["tags"] = parse_tags(self.header(b"x-tko-tags"))
        return values

    async def _admit(self, endpoint: Endpoint, body_size: int) -> None:
        """Route the call, check rate limits, and reserve its worst-case cost."""
        caller = self.caller
        assert caller is not None
        project_id = caller.key_project_id or ""
        self.config = config = await self.gateway.org_config(caller.org_id)
        route = config.route(self.api, project_id, self.attributes["feature"], self.model)
        own_key = self.own_key
        if own_key:
            if not config.allow_key_passthrough:
                raise GatewayError(
                    403,
                    "This organisation does not allow callers' own provider keys "
                    f"({PROVIDER_KEY_HEADER}); an admin can allow it in the gateway settings",
                    "permission",
                    "passthrough_not_allowed",
                    event_error="passthrough_not_allowed",
                )
            route = Route(
                route.model,
                route.upstream.with_key(own_key),
                route.rule_id,
                route.fallback.with_key(own_key) if route.fallback else None,
                route.fallback_model,
            )
        require_key(route.upstream)
        self.route = route
        if config.limits.any:
            await self.gateway.rate_limiter.admit(config.limits, self._subjects(), input_estimate(body_size))
        budgets = self.context.budgets
        if budgets.guarded(caller.org_id):
            # A prepaid wallet's balance is read from the database: not on the serving loop.
            await anyio.to_thread.run_sync(self._reserve, endpoint, body_size, route)
        elif budgets.has_hard_budget(caller.org_id):
            self._reserve(endpoint, body_size, route)

    def _subjects(self) -> Subjects:
        caller = self.caller
        assert caller is not None
        return Subjects(
            caller.org_id,
            caller.api_key_id,
            caller.key_project_id or "",
            self.attributes["user"] or self.attributes["end_user"],
        )

    def _reserve(self, endpoint: Endpoint, body_size: int, route: Route) -> None:
        caller = self.caller
        assert caller is not None
        overrides = self.context.org_pricing(caller.org_id).overrides
        amount = worst_case_cost(
            provider=route.upstream.provider,
            model=route.model,
            input_tokens=input_estimate(body_size),
            output_tokens=output_limit(endpoint.usage_api, self.body, route.model),
            overrides=overrides,
        )
        attribution = {
            "project": caller.key_project_id,
            "team": None,
            "user": self.attributes["user"],
            "end_user": self.attributes["end_user"],
            "api_key": caller.api_key_id,
            "feature": self.attributes["feature"],
            "model": route.model,
        }
        try:
            # Inline unless a wallet is read (`_admit`): a reservation is a few dictionary (or
            # Redis) operations, and a thread hop can wait a switch interval for the lock.
            reservation = self.context.budgets.reserve(caller.org_id, attribution, amount)
        except BudgetExceeded as exc:
            # `budget_exceeded`, or `wallet_empty` when a prepaid wallet cannot pay for the call.
            kind = str(exc.as_dict().get("error") or "budget_exceeded")
            raise GatewayError(402, str(exc), kind, kind, event_error=kind) from exc
        self.reservation_id = reservation.reservation_id

    def _release(self) -> None:
        if self.reservation_id is not None and self.caller is not None:
            self.context.budgets.release(self.caller.org_id, self.reservation_id)
            self.reservation_id = None

    # -- forwarding ----------------------------------------------------------------------------

    def _url(self, upstream: UpstreamTarget) -> str:
        suffix = "/" + self.path if self.api == "openai" else "/v1/" + self.path
        query: bytes = self.scope.get("query_string", b"")
        return upstream.base_url + suffix + ("?" + query.decode("latin-1") if query else "")

    def _upstream_headers(self, upstream: UpstreamTarget) -> list[tuple[str, str]]:
        # With the organisation's key, the caller does not choose the provider account it bills.
        drop = DROP_REQUEST if self.own_key else DROP_WITH_OUR_KEY
        headers = [
            (name.decode("latin-1"), header_text(value))
            for name, value in self.scope["headers"]
            if name not in drop and not name.startswith(b"x-tko-")
        ]
        headers.append(ACCEPT_IDENTITY)
        auth = upstream.auth_header()
        if auth is not None:
            headers.append(auth)
        return headers

    async def _open(self, upstream: UpstreamTarget, content: bytes, method: str = "POST") -> UpstreamAnswer:
        return await send(
            self.gateway.client, method, self._url(upstream), self._upstream_headers(upstream), content
        )

    async def _forward_free(self, endpoint: Endpoint, raw: bytes) -> None:
        """Model lists and token counting: forwarded to the caller's upstream, not recorded."""
        caller = self.caller
        assert caller is not None
        config = await self.gateway.org_config(caller.org_id)
        model = ""
        if raw:
            try:
                parsed = orjson.loads(raw)
                model = str(parsed.get("model") or "") if isinstance(parsed, dict) else ""
            except orjson.JSONDecodeError:
                model = ""
        upstream = config.default_upstream(self.api, caller.key_project_id or "", model or "*")
        own_key = self.own_key
        if own_key and config.allow_key_passthrough:
            upstream = upstream.with_key(own_key)
        require_key(upstream)
        try:
            response = await self._open(upstream, raw, self.scope["method"])
        except TRANSPORT_ERRORS as exc:
            raise_unreachable(upstream, exc)
        content = await _read(response, upstream)
        if endpoint.usage_api == "models" and response.status == 200 and upstream.allowed_models:
            content = filter_models(content, upstream)
        await self._answer(response.status, response.headers, content)

    async def _forward(self, endpoint: Endpoint, payload: dict[str, Any]) -> None:
        route = self.route
        assert route is not None
        outcome = Outcome(upstream=route.upstream, served_model=route.model)
        if route.rule_id is not None:
            outcome.tags["tko_routing_rule"] = route.rule_id
        streaming = payload.get("stream") is True
        strip_usage = False
        if streaming and endpoint.usage_api in ("chat", "completions"):
            options = payload.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage")):
                payload["stream_options"] = {
                    **(options if isinstance(options, dict) else {}),
                    "include_usage": True,
                }
                strip_usage = True
        try:
            response = await self._send_with_fallback(route, payload, strip_usage, outcome)
            stream = streaming and response.status < 400 and response.event_stream
            content = None if stream else await _read(response, outcome.upstream or route.upstream)
        except GatewayError as exc:
            outcome.status, outcome.error_type = "error", exc.event_error
            self._record(endpoint, outcome)
            await self._answer_error(exc)
            return
        if content is None:
            await self._stream(endpoint, response, strip_usage, outcome)
            return
        if response.status >= 400:
            outcome.status, outcome.error_type = "error", upstream_error_type(content, response.status)
            await self._answer(response.status, response.headers, content)
            self._record(endpoint, outcome)
            return
        await self._answer(response.status, response.headers, content)
        self._record(endpoint, outcome, content)

    async def _send_with_fallback(
        self, route: Route, payload: dict[str, Any], strip_usage: bool, outcome: Outcome
    ) -> UpstreamAnswer:
        """Send to the route's upstream; on 5xx or a transport failure, once to its fallback."""
        content = self._content(payload, route.model, strip_usage)
        try:
            response = await self._open(route.upstream, content)
            if response.status < 500 or route.fallback is None:
                return response
            response.close()
        except TRANSPORT_ERRORS as exc:
            if route.fallback is None:
                raise_unreachable(route.upstream, exc)
        fallback = route.fallback
        assert fallback is not None
        model = route.fallback_model or route.model
        outcome.upstream, outcome.served_model, outcome.fallback = fallback, model, True
        outcome.tags["tko_fallback"] = fallback.name
        try:
            return await self._open(fallback, self._content(payload, model, strip_usage))
        except TRANSPORT_ERRORS as exc:
            raise_unreachable(fallback, exc)

    def _content(self, payload: dict[str, Any], model: str, changed: bool) -> bytes:
        if model != self.model:
            payload = {**payload, "model": model}
            changed = True
        if not changed:
            return self.raw
        return orjson.dumps(payload)

    async def _stream(
        self, endpoint: Endpoint, response: UpstreamAnswer, strip_usage: bool, outcome: Outcome
    ) -> None:
        """Pass a stream through chunk by chunk, watching it for usage and the first token."""
        watcher = StreamWatcher(endpoint.usage_api, strip_usage_chunk=strip_usage)
        headers = response.headers
        headers.append((b"x-tko-event-id", str(self.event_id).encode()))
        await self.send({"type": "http.response.start", "status": response.status, "headers": headers})
        gone = asyncio.Event()
        listener = asyncio.get_running_loop().create_task(_wait_disconnect(self.receive, gone))
        send = self.send
        try:
            async for chunk in response.chunks():
                out = watcher.feed(chunk)
                if outcome.first_token_at is None and watcher.first_token:
                    outcome.first_token_at = time.perf_counter()
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                if gone.is_set():
                    # SDKs hang up on the final event; only a caller gone before it cut the call.
                    if not watcher.finished:
                        outcome.status, outcome.error_type = "error", "client_disconnected"
                    break
            else:
                rest = watcher.flush()
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
                if not watcher.finished and watcher.usage is None:
                    outcome.status, outcome.error_type = "error", "stream_interrupted"
        except TRANSPORT_ERRORS as exc:
            outcome.status, outcome.error_type = "error", "stream_interrupted"
            message = f"The upstream stream was interrupted ({type(exc).__name__}); the call was recorded"
            await send(
                {
                    "type": "http.response.body",
                    "body": stream_error_event(self.api, "upstream", message, "stream_interrupted"),
                    "more_body": True,
                }
            )
        finally:
            listener.cancel()
            response.close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if watcher.error is not None and outcome.status == "ok":
            outcome.status, outcome.error_type = "error", error_type_of(watcher.error) or "stream_error"
        outcome.usage = watcher.usage
        outcome.model = watcher.model
        cut = outcome.error_type in ("stream_interrupted", "client_disconnected")
        if cut or (outcome.status == "ok" and watcher.usage is None):
            # No (complete) usage from the provider: count what was delivered, flagged as an estimate.
            outcome.estimated_output_text = watcher.delivered_text()
        self._record(endpoint, outcome)

    # -- answering -----------------------------------------------------------------------------

    async def _answer(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        headers.append((b"content-length", str(len(content)).encode()))
        if self.caller is not None and self.model:
            headers.append((b"x-tko-event-id", str(self.event_id).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": content, "more_body": False})

    async def _answer_error(self, exc: GatewayError) -> None:
        headers = [_JSON, *((k.encode(), v.encode()) for k, v in exc.headers.items())]
        await self._answer(exc.status, headers, exc.body(self.api))

    # -- recording -----------------------------------------------------------------------------

    def _record(self, endpoint: Endpoint, outcome: Outcome, content: bytes | None = None) -> None:
        """Queue the call's event (after the answer was sent); the reservation waits for it.

        The event is built from the answer later, with its batch, in the recorder's thread.
        """
        latency_ms = (time.perf_counter() - self.started) * 1000
        reservation_id, self.reservation_id = self.reservation_id, None
        caller = self.caller
        assert caller is not None
        budgets = self.context.budgets
        facts = CallFacts(
            self.api, self.path, self.model, self.body, self.attributes, self.event_id, self.ts, self.started
        )
        release: Callable[[], object] | None = None
        if reservation_id is not None:
            # Held until the event is stored (which accounts its real cost), then released.
            budgets.await_event(caller.org_id, reservation_id, str(self.event_id))
            release = functools.partial(budgets.release, caller.org_id, reservation_id)
        config = self.config
        after = None
        if config is not None and config.limits.any:
            after = functools.partial(self._count_tokens, config.limits, self._subjects())
        self.gateway.recorder.add(
            PendingEvent(
                functools.partial(build_event, facts, endpoint, outcome, content, latency_ms),
                Attribution(caller.org_id, caller.key_project_id or "", caller.api_key_id),
                release,
                after,
            )
        )

    async def _count_tokens(self, limits: RateLimits, subjects: Subjects, event: WireEvent) -> None:
        await self.gateway.rate_limiter.count_tokens(
            limits, subjects, event.input_tokens + event.output_tokens
        )


# -- helpers ---------------------------------------------------------------------------------------


async def _read(response: UpstreamAnswer, upstream: UpstreamTarget) -> bytes:
    """An answer's whole body; a failure while it arrives is the gateway's 502/504."""
    try:
        return await response.read()
    except TRANSPORT_ERRORS as exc:
        raise_unreachable(upstream, exc)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _wait_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
