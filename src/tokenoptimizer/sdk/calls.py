"""One wrapped provider call, from request to recorded event, streams included.

A `Call` is made when a wrapped client sends a request the SDK records (chat, responses,
embeddings, completions, messages). It notes the start, then turns the outcome into one event:

* a parsed response: its `usage` object is sent as `raw_usage` (the server normalises it);
* an exception: an `error` event with the exception's class name, re-raised untouched;
* a stream: the *same* stream object is returned, its iterator replaced by a generator that
  passes every chunk through as it arrives and notes the time of the first output (TTFT), the
  served model, the usage report and the output text. The event is recorded when the stream ends,
  fails or is closed early. The request is never changed: an OpenAI chat stream reports usage only
  if the caller asked for it (`stream_options={"include_usage": True}`); when it did not, or when
  a stream is cut before its usage report, the SDK counts the request and the received output with
  the tokenizer and tags the event ``tokenoptimizer.usage=estimated``;
* a raw response (`with_raw_response`, `with_streaming_response`): recorded when the caller
  parses it, as the body is theirs to read.

Recording never raises into the caller: a failure to record is logged and the result returned.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from tokenoptimizer.sdk import runtime
from tokenoptimizer.sdk.attribution import EMPTY, attribution_var
from tokenoptimizer.sdk.events import UsageEstimate, new_event_id
from tokenoptimizer.sdk.requests import model_of, request_text

log = logging.getLogger("tokenoptimizer")

_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class Call:
    """The record of one wrapped call (see the module docstring)."""

    __slots__ = (
        "_runtime",
        "api",
        "body",
        "complete",
        "ctx",
        "endpoint",
        "event_id",
        "finished",
        "first_at",
        "parts",
        "provider",
        "request_type",
        "reservation",
        "served_model",
        "started",
        "ts",
        "usage",
    )

    def __init__(
        self, provider: str, api: str, request_type: str, endpoint: str, body: Mapping[str, Any]
    ) -> None:
        self.ts = time.time()
        self.started = time.perf_counter()
        self._runtime = runtime.get()
        self.ctx = attribution_var.get(EMPTY)
        self.provider = provider
        self.api = api
        self.request_type = request_type
        self.endpoint = endpoint
        self.body = body
        self.event_id = new_event_id()
        self.reservation: str | None = None
        self.finished = False
        self.first_at: float | None = None
        self.served_model: str | None = None
        self.usage: Any = None
        self.complete = False
        self.parts: list[str] = []

    @property
    def model(self) -> str:
        """The model that served the call, else the one requested."""
        return self.served_model or model_of(self.body) or "unknown"

    # --- the guard -------------------------------------------------------------------------

    def guarded(self, wanted: bool | None) -> bool:
        """Whether this call must be reserved first."""
        return (
            self._runtime.config.guard if wanted is None else wanted
        ) and self._runtime.guard() is not None

    def reserve(self) -> None:
        """Reserve the worst case (raises `BudgetExceeded`)."""
        guard = self._runtime.guard()
        if guard is not None:
            self.reservation = guard.reserve(
                provider=self.provider, model=self.model, api=self.api, body=self.body, attribution=self.ctx
            )

    # --- outcomes --------------------------------------------------------------------------

    def failed(self, exc: BaseException) -> None:
        """The request raised: record an error event."""
        try:
            if self.finished:
                return
            tags = None
            status = getattr(exc, "status_code", None)
            if isinstance(status, int):
                tags = {"http_status": str(status)}
            self._record("error", error_type=type(exc).__name__, tags=tags)
        except Exception:
            log.exception("tokenoptimizer: could not record a failed call")

    def result(self, result: Any) -> Any:
        """The request returned: record it, or hook the stream/raw response; return it unchanged."""
        try:
            if _is_stream(result):
                self._hook_stream(result)
            elif _is_raw_response(result):
                self._hook_raw(result)
            else:
                self._parsed(result)
        except Exception:
            log.exception("tokenoptimizer: could not record a call")
        return result

    def _parsed(self, parsed: Any) -> None:
        if self.finished:
            return
        usage = getattr(parsed, "usage", None)
        model = getattr(parsed, "model", None)
        if isinstance(model, str) and model:
            self.served_model = model
        if usage is not None:
            self.usage = usage
            self.complete = True
        self._record("ok")

    # The hooks below are set on the instance and hold it only weakly: a closure holding it
    # would make a reference cycle, leaving a dropped stream or response to the garbage collector
    # instead of closing it at once, as the SDKs do.

    def _hook_raw(self, raw: Any) -> None:
        parse = type(raw).parse
        target = weakref.ref(raw)
        call = self
        if _is_coroutine_function(parse):

            async def parse_async(*args: Any, **kwargs: Any) -> Any:
                return call.result(await parse(target(), *args, **kwargs))

            raw.parse = parse_async
        else:

            def parse_sync(*args: Any, **kwargs: Any) -> Any:
                return call.result(parse(target(), *args, **kwargs))

            raw.parse = parse_sync

    def _hook_stream(self, stream: Any) -> None:
        if stream.__dict__.get("_tokenoptimizer_call") is not None:
            return  # parse() of a raw response returns the same stream each time
        stream._tokenoptimizer_call = self
        inner = stream._iterator
        close = type(stream).close
        target = weakref.ref(stream)
        call = self
        if _is_coroutine_function(close):
            stream._iterator = self._observe_async(inner)

            async def close_async() -> None:
                call.stream_ended(None)
                await close(target())

            stream.close = close_async
        else:
            stream._iterator = self._observe(inner)

            def close_sync() -> None:
                call.stream_ended(None)
                close(target())

            stream.close = close_sync

    def _observe(self, inner: Iterator[Any]) -> Iterator[Any]:
        on_item = self._item_observer()
        try:
            for item in inner:
                try:
                    on_item(item)
                except Exception:
                    log.debug("tokenoptimizer: unreadable stream chunk", exc_info=True)
                yield item
        except Exception as exc:
            self.stream_ended(exc)
            raise
        finally:
            self.stream_ended(None)

    async def _observe_async(self, inner: AsyncIterator[Any]) -> AsyncIterator[Any]:
        on_item = self._item_observer()
        try:
            async for item in inner:
                try:
                    on_item(item)
                except Exception:
                    log.debug("tokenoptimizer: unreadable stream chunk", exc_info=True)
                yield item
        except Exception as exc:
            self.stream_ended(exc)
            raise
        finally:
            self.stream_ended(None)

    def stream_ended(self, exc: BaseException | None) -> None:
        """Record the stream once: at its end, its failure, or when it is closed early."""
        if self.finished:
            return
        try:
            if exc is not None:
                self._record("error", error_type=type(exc).__name__)
            else:
                self._record("ok")
        except Exception:
            log.exception("tokenoptimizer: could not record a stream")

    def _item_observer(self) -> Callable[[Any], None]:
        if self.api == "messages":
            return self._anthropic_item
        if self.api == "responses":
            return self._responses_item
        return self._chat_item

    def _first(self) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()

    def _chat_item(self, chunk: Any) -> None:
        if self.served_model is None:
            self.served_model = chunk.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
            self.complete = True
        for choice in chunk.choices or ():
            delta = getattr(choice, "delta", None)
            if delta is None:  # legacy completions stream
                text = getattr(choice, "text", None)
                if text:
                    self._first()
                    self.parts.append(text)
                continue
            content = delta.content
            if content:
                self._first()
                self.parts.append(content)
            if delta.tool_calls:
                self._first()
                for tool_call in delta.tool_calls:
                    function = tool_call.function
                    if function is not None and function.arguments:
                        self.parts.append(function.arguments)
            if getattr(delta, "refusal", None):
                self._first()
                self.parts.append(delta.refusal)

    def _responses_item(self, event: Any) -> None:
        kind = event.type
        if kind.endswith(".delta"):
            self._first()
            delta = getattr(event, "delta", None)
            if isinstance(delta, str):
                self.parts.append(delta)
        elif kind in _FINAL_RESPONSE_EVENTS:
            response = event.response
            self.served_model = response.model or self.served_model
            if response.usage is not None:
                self.usage = response.usage
                self.complete = True
        elif kind == "response.created":
            self.served_model = event.response.model

    def _anthropic_item(self, event: Any) -> None:
        kind = event.type
        if kind == "content_block_delta":
            self._first()
            delta = event.delta
            text = (
                getattr(delta, "text", None)
                or getattr(delta, "partial_json", None)
                or getattr(delta, "thinking", None)
            )
            if text:
                self.parts.append(text)
        elif kind == "message_start":
            message = event.message
            self.served_model = message.model
            self.usage = [message.usage]
        elif kind == "message_delta":
            if isinstance(self.usage, list):
                self.usage.append(event.usage)
            else:
                self.usage = [event.usage]
            self.complete = True

    # --- the event -------------------------------------------------------------------------

    def _record(
        self, status: str, *, error_type: str | None = None, tags: dict[str, str] | None = None
    ) -> None:
        self.finished = True
        pending: dict[str, Any] = {
            "event_id": self.event_id,
            "_ts": self.ts,
            "_ctx": self.ctx,
            "provider": self.provider,
            "model": self.model,
            "request_type": self.request_type,
            "endpoint": self.endpoint,
            "status": status,
            "latency_ms": (time.perf_counter() - self.started) * 1000.0,
        }
        if self.first_at is not None:
            pending["time_to_first_token_ms"] = (self.first_at - self.started) * 1000.0
        if error_type is not None:
            pending["error_type"] = error_type
        if tags:
            pending["tags"] = tags
        if self.complete:
            pending["api"] = self.api
            pending["raw_usage"] = self.usage
        elif status == "ok" or self.parts or self.usage is not None:
            # No usage report (a stream without include_usage, cut or closed early): count.
            pending["_estimate"] = self._estimate()
        if self.reservation is not None:
            # The commit is queued before the event and the sender sends commits first: the server
            # then holds the reservation until the event arrives, and releases it as it does.
            guard = self._runtime.guard()
            if guard is not None:
                self._runtime.control(guard.commit(self.reservation, self.event_id))
        self._runtime.record(pending)

    def _estimate(self) -> UsageEstimate:
        known_input: int | None = None
        if self.api == "messages" and isinstance(self.usage, list) and self.usage:
            start = self.usage[0]
            known_input = (
                (getattr(start, "input_tokens", 0) or 0)
                + (getattr(start, "cache_read_input_tokens", 0) or 0)
                + (getattr(start, "cache_creation_input_tokens", 0) or 0)
            )
        messages, prompt = (None, None) if known_input is not None else request_text(self.api, self.body)
        return UsageEstimate(
            model=self.model,
            provider=self.provider,
            messages=messages,
            prompt=prompt,
            input_tokens=known_input,
            output_parts=self.parts,
        )


def _is_stream(result: Any) -> bool:
    # Class-level checks: cheap, and they never trigger an instance's lazy attributes.
    cls = type(result)
    return hasattr(cls, "__stream__") and hasattr(cls, "close")


def _is_raw_response(result: Any) -> bool:
    # `LegacyAPIResponse` (with_raw_response), `APIResponse`/`AsyncAPIResponse` (with_streaming_response)
    cls = type(result)
    return cls.__name__.endswith("APIResponse") and hasattr(cls, "parse")


def _is_coroutine_function(func: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(func)
