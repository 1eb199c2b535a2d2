"""A fake LLM provider: a REAL local HTTP server speaking the OpenAI and Anthropic wire formats.

It is the only thing the tests fake (the gateway, the SDK wrappers and the benchmarks talk to it
over loopback exactly as they would talk to api.openai.com or api.anthropic.com)::

    with FakeUpstream() as up:
        client = OpenAI(base_url=up.openai_base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert up.requests[-1].json["model"] == "gpt-4o-mini"

or the ``fake_upstream`` pytest fixture in ``tests/conftest.py``. ``python -m tests.fake_upstream
--port 8999`` runs it in its own process (the benchmarks do, so it does not share a GIL with the
server under test).

Served endpoints
    OpenAI: ``POST /v1/chat/completions``, ``/v1/responses``, ``/v1/completions``,
    ``/v1/embeddings`` (float or base64), ``GET /v1/models`` and ``/v1/models/{id}``.
    Anthropic: ``POST /v1/messages`` and ``/v1/messages/count_tokens``.
    Every endpoint except ``/v1/models`` accepts ``"stream": true`` where the real API does.

Deterministic token counts (so tests can assert exact numbers)
    * **input tokens** = the number of whitespace-separated words in all the request's text
      (chat ``messages[].content`` strings or ``text`` parts, Anthropic ``system`` and
      ``messages``, Responses ``instructions`` + ``input``, completions ``prompt``, embeddings
      ``input``), at least 1. ``"Say hello to me"`` → 4.
    * **output tokens** = the number of words of :data:`REPLY` (``REPLY_TOKENS`` = 9), or
      ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens`` when smaller (the reply is
      then cut to that many words and the finish reason is ``length`` / ``max_tokens``).
    * a stream sends one content chunk per output word (the first word without, later words with a
      leading space), so a stream carries ``output tokens`` content chunks.
    * ``cached_tokens``, ``cache_write_tokens`` and ``reasoning_tokens`` (attributes, default 0)
      add cache and reasoning figures the way each provider reports them:
      OpenAI ``prompt_tokens`` *includes* ``prompt_tokens_details.cached_tokens`` (the cached part is
      ``min(cached_tokens, prompt_tokens)``) and ``completion_tokens`` *includes*
      ``completion_tokens_details.reasoning_tokens`` (= output words + reasoning_tokens);
      Anthropic ``input_tokens`` *excludes* ``cache_read_input_tokens`` (= cached_tokens) and
      ``cache_creation_input_tokens`` (= cache_write_tokens), which are reported beside it.
    * the response ``model`` echoes the requested ``model``.

Failure injection
    * ``fail_next(status, body=None, count=1)``: the next ``count`` calls answer ``status`` with
      ``body`` verbatim, or, when ``body`` is None, an error in the provider's exact error shape
      (OpenAI ``{"error": {"message", "type", "param", "code"}}``; Anthropic ``{"type": "error",
      "error": {"type", "message"}}``, chosen by the path: ``/v1/messages*`` is Anthropic).
    * ``cut_next_stream(after_chunks=2)``: the next streaming call sends that many SSE events and
      then drops the connection without finishing the chunked body.
    * ``delay_ms``: wait this long before answering each call (default 0: no sleeps anywhere);
      ``jitter_ms``: vary that wait uniformly by up to this much either way (seeded: the same
      sequence of waits every run), as a real provider's answer times vary.

Clients should pass ``max_retries=0`` to the SDKs when they expect an error, or the SDK retries.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import random
import struct
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
import uvicorn

from tests.servers import free_port

REPLY = "Hello! I am a fake model answering your request."
REPLY_WORDS = REPLY.split()
REPLY_TOKENS = len(REPLY_WORDS)
EMBEDDING_DIMENSIONS = 8
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small", "claude-haiku-4-5")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


@dataclass
class RecordedRequest:
    """One call the fake upstream received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    query: str = ""


@dataclass
class _Failure:
    status: int
    body: Any
    remaining: int


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    cut_after: int | None = None
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    waits: random.Random = field(default_factory=lambda: random.Random(7))
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


# --- token arithmetic ------------------------------------------------------------------------


def _words(value: Any) -> int:
    """Count words in any text found in a request value (strings, content parts, lists)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(item) for item in value)
    if isinstance(value, dict):
        total = 0
        for key in ("content", "text", "input", "output"):
            if key in value:
                total += _words(value[key])
        return total
    return 0


def _input_tokens(body: dict[str, Any]) -> int:
    total = 0
    for key in ("messages", "system", "instructions", "input", "prompt"):
        total += _words(body.get(key))
    return max(1, total)


def _reply(body: dict[str, Any], *limit_keys: str) -> tuple[list[str], bool]:
    """The reply's words, and whether it was cut by the caller's output limit."""
    limit: int | None = None
    for key in limit_keys:
        value = body.get(key)
        if isinstance(value, int):
            limit = value
            break
    if limit is not None and limit < REPLY_TOKENS:
        return REPLY_WORDS[: max(limit, 0)], True
    return list(REPLY_WORDS), False


def _pieces(words: list[str]) -> list[str]:
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def _openai_usage(state: _State, prompt: int, output: int) -> dict[str, Any]:
    completion = output + state.reasoning_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(state.cached_tokens, prompt), "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": state.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _responses_usage(state: _State, prompt: int, output: int) -> dict[str, Any]:
    completion = output + state.reasoning_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": min(state.cached_tokens, prompt)},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": state.reasoning_tokens},
        "total_tokens": prompt + completion,
    }


def _anthropic_usage(state: _State, prompt: int, output: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "output_tokens": output,
        "cache_creation_input_tokens": state.cache_write_tokens,
        "cache_read_input_tokens": state.cached_tokens,
    }


# --- errors ----------------------------------------------------------------------------------

_OPENAI_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error_body(path: str, status: int, message: str | None = None) -> dict[str, Any]:
    text = message or f"Fake upstream error {status}"
    if path.startswith("/v1/messages"):
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": text}}
    kind, code = _OPENAI_ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": text, "type": kind, "param": None, "code": code}}


# --- the ASGI application --------------------------------------------------------------------


class _App:
    """A minimal raw-ASGI app: no framework overhead, so it is fast enough for the benchmarks."""

    def __init__(self, state: _State) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        self.state.requests.append(
            RecordedRequest(method, path, headers, body, scope.get("query_string", b"").decode("latin-1"))
        )
        if self.state.delay_ms:
            jitter = self.state.jitter_ms
            wait = self.state.delay_ms + (self.state.waits.uniform(-jitter, jitter) if jitter else 0.0)
            await asyncio.sleep(max(wait, 0.0) / 1000)

        failure = self._take_failure()
        if failure is not None:
            payload = failure.body if failure.body is not None else _error_body(path, failure.status)
            await _json(send, failure.status, payload)
            return

        if method == "GET" and path == "/v1/models":
            await _json(send, 200, {"object": "list", "data": [_model(m) for m in MODELS]})
            return
        if method == "GET" and path.startswith("/v1/models/"):
            await _json(send, 200, _model(path.removeprefix("/v1/models/")))
            return
        if method != "POST":
            await _json(send, 404, _error_body(path, 404, f"Unknown path {method} {path}"))
            return
        if not isinstance(body, dict):
            await _json(
                send, 400, _error_body(path, 400, "We could not parse the JSON body of your request.")
            )
            return
        handler = _ROUTES.get(path)
        if handler is None:
            await _json(send, 404, _error_body(path, 404, f"Unknown path {method} {path}"))
            return
        await handler(self, body, send)

    def _take_failure(self) -> _Failure | None:
        with self.state.lock:
            if not self.state.failures:
                return None
            failure = self.state.failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self.state.failures.pop(0)
            return failure

    def _take_cut(self) -> int | None:
        with self.state.lock:
            cut, self.state.cut_after = self.state.cut_after, None
            return cut

    async def _stream(self, send: Send, events: Iterator[bytes]) -> None:
        cut = self._take_cut()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", _id("req_").encode()),
                ],
            }
        )
        for sent, event in enumerate(events):
            if cut is not None and sent >= cut:
                # Returning without the final empty body makes uvicorn drop the connection: the
                # client sees an unterminated chunked body, as when a provider's stream is cut.
                return
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # --- OpenAI ---------------------------------------------------------------------------

    async def chat_completions(self, body: dict[str, Any], send: Send) -> None:
        model = str(body.get("model", ""))
        prompt = _input_tokens(body)
        words, cut = _reply(body, "max_completion_tokens", "max_tokens")
        finish = "length" if cut else "stop"
        usage = _openai_usage(self.state, prompt, len(words))
        ident, created = _id("chatcmpl-"), int(time.time())
        if not body.get("stream"):
            await _json(
                send,
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": " ".join(words),
                                "refusal": None,
                                "annotations": [],
                            },
                            "logprobs": None,
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                    "service_tier": "default",
                },
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
            payload: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = None
            return _sse(payload)

        def events() -> Iterator[bytes]:
            yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
            for piece in _pieces(words):
                yield chunk({"content": piece}, None)
            yield chunk({}, finish)
            if include_usage:
                yield _sse(
                    {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "system_fingerprint": "fp_fake",
                        "choices": [],
                        "usage": usage,
                    }
                )
            yield b"data: [DONE]\n\n"

        await self._stream(send, events())

    async def completions(self, body: dict[str, Any], send: Send) -> None:
        model = str(body.get("model", ""))
        prompt = _input_tokens(body)
        words, cut = _reply(body, "max_tokens")
        finish = "length" if cut else "stop"
        usage = _openai_usage(self.state, prompt, len(words))
        ident, created = _id("cmpl-"), int(time.time())
        if not body.get("stream"):
            await _json(
                send,
                200,
                {
                    "id": ident,
                    "object": "text_completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {"text": " ".join(words), "index": 0, "logprobs": None, "finish_reason": finish}
                    ],
                    "usage": usage,
                },
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def events() -> Iterator[bytes]:
            pieces = _pieces(words)
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                yield _sse(
                    {
                        "id": ident,
                        "object": "text_completion",
                        "created": created,
                        "model": model,
                        "choices": [
                            {
                                "text": piece,
                                "index": 0,
                                "logprobs": None,
                                "finish_reason": finish if last else None,
                            }
                        ],
                    }
                )
            if include_usage:
                yield _sse(
                    {
                        "id": ident,
                        "object": "text_completion",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            yield b"data: [DONE]\n\n"

        await self._stream(send, events())

    async def responses(self, body: dict[str, Any], send: Send) -> None:
        model = str(body.get("model", ""))
        prompt = _input_tokens(body)
        words, cut = _reply(body, "max_output_tokens")
        usage = _responses_usage(self.state, prompt, len(words))
        ident, item_id, created = _id("resp_"), _id("msg_"), int(time.time())
        text = " ".join(words)

        def response(status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "response",
                "created_at": created,
                "status": status,
                "error": None,
                "incomplete_details": {"reason": "max_output_tokens"}
                if cut and status != "in_progress"
                else None,
                "instructions": body.get("instructions"),
                "max_output_tokens": body.get("max_output_tokens"),
                "model": model,
                "output": output,
                "parallel_tool_calls": True,
                "temperature": body.get("temperature", 1.0),
                "tool_choice": "auto",
                "tools": [],
                "top_p": 1.0,
                "usage": usage if with_usage else None,
                "metadata": {},
            }

        def message(content_text: str, status: str) -> dict[str, Any]:
            return {
                "type": "message",
                "id": item_id,
                "status": status,
                "role": "assistant",
                "content": [{"type": "output_text", "text": content_text, "annotations": []}],
            }

        final_status = "incomplete" if cut else "completed"
        if not body.get("stream"):
            await _json(send, 200, response(final_status, [message(text, "completed")], True))
            return

        def events() -> Iterator[bytes]:
            seq = itertools.count()
            part = {"type": "output_text", "text": "", "annotations": []}
            yield _sse_event(
                "response.created",
                {
                    "type": "response.created",
                    "sequence_number": next(seq),
                    "response": response("in_progress", [], False),
                },
            )
            yield _sse_event(
                "response.in_progress",
                {
                    "type": "response.in_progress",
                    "sequence_number": next(seq),
                    "response": response("in_progress", [], False),
                },
            )
            yield _sse_event(
                "response.output_item.added",
                {
                    "type": "response.output_item.added",
                    "sequence_number": next(seq),
                    "output_index": 0,
                    "item": {**message("", "in_progress"), "content": []},
                },
            )
            yield _sse_event(
                "response.content_part.added",
                {
                    "type": "response.content_part.added",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": part,
                },
            )
            for piece in _pieces(words):
                yield _sse_event(
                    "response.output_text.delta",
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    },
                )
            yield _sse_event(
                "response.output_text.done",
                {
                    "type": "response.output_text.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "text": text,
                    "logprobs": [],
                },
            )
            yield _sse_event(
                "response.content_part.done",
                {
                    "type": "response.content_part.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": {**part, "text": text},
                },
            )
            yield _sse_event(
                "response.output_item.done",
                {
                    "type": "response.output_item.done",
                    "sequence_number": next(seq),
                    "output_index": 0,
                    "item": message(text, "completed"),
                },
            )
            kind = "response.incomplete" if cut else "response.completed"
            yield _sse_event(
                kind,
                {
                    "type": kind,
                    "sequence_number": next(seq),
                    "response": response(final_status, [message(text, "completed")], True),
                },
            )

        await self._stream(send, events())

    async def embeddings(self, body: dict[str, Any], send: Send) -> None:
        model = str(body.get("model", ""))
        raw_inputs = body.get("input")
        inputs: list[Any] = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
        dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else EMBEDDING_DIMENSIONS
        data = []
        for index in range(len(inputs)):
            vector = [round(((index + 1) * (d + 1)) % 97 / 97.0, 6) for d in range(int(dims))]
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = max(1, _words(raw_inputs))
        await _json(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # --- Anthropic ------------------------------------------------------------------------

    async def messages(self, body: dict[str, Any], send: Send) -> None:
        model = str(body.get("model", ""))
        prompt = _input_tokens(body)
        words, cut = _reply(body, "max_tokens")
        stop = "max_tokens" if cut else "end_turn"
        usage = _anthropic_usage(self.state, prompt, len(words))
        ident = "msg_01" + uuid.uuid4().hex[:22]
        if not body.get("stream"):
            await _json(
                send,
                200,
                {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": " ".join(words)}],
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return

        def events() -> Iterator[bytes]:
            start_usage = {**usage, "output_tokens": 1}
            yield _sse_event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": ident,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
            )
            yield _sse_event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            )
            yield _sse_event("ping", {"type": "ping"})
            for piece in _pieces(words):
                yield _sse_event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            yield _sse_event("content_block_stop", {"type": "content_block_stop", "index": 0})
            yield _sse_event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": len(words)},
                },
            )
            yield _sse_event("message_stop", {"type": "message_stop"})

        await self._stream(send, events())

    async def count_tokens(self, body: dict[str, Any], send: Send) -> None:
        await _json(send, 200, {"input_tokens": _input_tokens(body)})


_Handler = Callable[[_App, dict[str, Any], Send], Awaitable[None]]
_ROUTES: dict[str, _Handler] = {
    "/v1/chat/completions": _App.chat_completions,
    "/v1/completions": _App.completions,
    "/v1/responses": _App.responses,
    "/v1/embeddings": _App.embeddings,
    "/v1/messages": _App.messages,
    "/v1/messages/count_tokens": _App.count_tokens,
}


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake-upstream"}


def _sse(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _sse_event(name: str, payload: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def _json(send: Send, status: int, payload: Any) -> None:
    data = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"x-request-id", _id("req_").encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


# --- the server ------------------------------------------------------------------------------


class FakeUpstream:
    """The fake provider on a free loopback port, in a background thread.

    Use it as a context manager (``with FakeUpstream() as up:``) or call :meth:`start` and
    :meth:`stop`. See the module docstring for the token arithmetic and failure injection.
    """

    def __init__(self, *, port: int | None = None, delay_ms: float = 0.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.openai_base_url = self.url + "/v1"
        self.anthropic_base_url = self.url
        self._state = _State(delay_ms=delay_ms)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Configuration the tests change between calls.

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every call received since the start or the last :meth:`reset`, oldest first."""
        return self._state.requests

    @property
    def delay_ms(self) -> float:
        """Milliseconds to wait before answering each call."""
        return self._state.delay_ms

    @delay_ms.setter
    def delay_ms(self, value: float) -> None:
        self._state.delay_ms = value

    @property
    def cached_tokens(self) -> int:
        """Cached input tokens reported by every following call."""
        return self._state.cached_tokens

    @cached_tokens.setter
    def cached_tokens(self, value: int) -> None:
        self._state.cached_tokens = value

    @property
    def cache_write_tokens(self) -> int:
        """Anthropic cache-creation input tokens reported by every following call."""
        return self._state.cache_write_tokens

    @cache_write_tokens.setter
    def cache_write_tokens(self, value: int) -> None:
        self._state.cache_write_tokens = value

    @property
    def reasoning_tokens(self) -> int:
        """OpenAI reasoning tokens added to the output of every following call."""
        return self._state.reasoning_tokens

    @reasoning_tokens.setter
    def reasoning_tokens(self, value: int) -> None:
        self._state.reasoning_tokens = value

    def fail_next(self, status: int, body: dict[str, Any] | None = None, count: int = 1) -> None:
        """Answer the next ``count`` calls with ``status`` (and ``body``, or the provider's error shape)."""
        with self._state.lock:
            self._state.failures.append(_Failure(status, body, count))

    def cut_next_stream(self, after_chunks: int = 2) -> None:
        """Drop the connection of the next streaming call after ``after_chunks`` SSE events."""
        with self._state.lock:
            self._state.cut_after = after_chunks

    def reset(self) -> None:
        """Forget recorded calls, pending failures, cuts, delays and cache/reasoning figures."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.failures.clear()
            self._state.cut_after = None
            self._state.delay_ms = 0.0
            self._state.cached_tokens = 0
            self._state.cache_write_tokens = 0
            self._state.reasoning_tokens = 0

    # Lifecycle.

    def start(self) -> FakeUpstream:
        """Start serving; return once the port accepts connections."""
        config = uvicorn.Config(
            _App(self._state),
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-upstream", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake upstream did not start on port {self.port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> None:
    """Run the fake upstream in the foreground (used by the benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(
        _App(_State(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms)),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
