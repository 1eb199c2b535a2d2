"""Watching a server-sent-event stream as it passes through: usage, served model, first token.

The bytes go to the caller as they arrive, cut only at event boundaries (an incomplete event is
held until its end arrives, which is never later than the caller could have used it). Events are
parsed only when a cheap byte search says they may carry what we need:

* OpenAI chat and completions: the final chunk with `usage` (the gateway asks for it with
  `stream_options.include_usage` when the caller did not, and then removes that chunk, which has
  `choices: []`, so the caller sees exactly the stream it asked for);
* OpenAI responses: `response.completed` / `response.incomplete` / `response.failed` carry
  `response.usage`;
* Anthropic messages: `message_start` (input and cache tokens) and `message_delta` (output tokens,
  cumulative).

The same byte search picks the events of a block worth parsing: a fast upstream's whole stream
often arrives as one block.

Every forwarded event is also kept (by reference), so when a stream is cut the text it delivered
can be extracted and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

_EVENT_SPLIT = re.compile(rb"\r\n\r\n|\n\n|\r\r")
# Cheap markers of an event carrying output (the first one sets time to first token).
_FIRST_TOKEN = {
    "chat": re.compile(rb'"(?:content|reasoning_content|reasoning|refusal)":\s*"[^"]|"tool_calls":\s*\['),
    "completions": re.compile(rb'"text":\s*"[^"]'),
    "responses": re.compile(rb"\.delta\b"),
    "messages": re.compile(rb"content_block_delta"),
}
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_RESPONSE_DONE = re.compile(rb"response\.(?:completed|incomplete|failed)")


def _event_end(buffer: bytes) -> int:
    """Index just past the last complete event in `buffer` (0: none yet)."""
    end = buffer.rfind(b"\n\n")
    end = end + 2 if end >= 0 else 0
    if b"\r" in buffer:
        crlf = buffer.rfind(b"\r\n\r\n")
        if crlf >= 0:
            end = max(end, crlf + 4)
        cr = buffer.rfind(b"\r\r")
        if cr >= 0:
            end = max(end, cr + 2)
    return end


def parse_event(raw: bytes) -> tuple[str | None, Any]:
    """An SSE event's name and JSON data (None when there is no JSON data, e.g. `[DONE]`)."""
    name: str | None = None
    data: list[bytes] = []
    for line in raw.splitlines():
        if line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" "))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    if not data:
        return name, None
    payload = b"\n".join(data)
    if payload.startswith(b"[DONE]"):
        return name, None
    try:
        return name, orjson.loads(payload)
    except orjson.JSONDecodeError:
        return name, None


def split_events(block: bytes) -> Iterator[bytes]:
    """The non-empty events of a block of complete events."""
    # The usual `\n\n`-only stream: bytes.split is ~20x faster than the regular expression.
    for event in _EVENT_SPLIT.split(block) if b"\r" in block else block.split(b"\n\n"):
        if event.strip():
            yield event


class StreamWatcher:
    """Follows one stream of an API (`chat`, `completions`, `responses`, `messages`)."""

    def __init__(self, api: str, *, strip_usage_chunk: bool = False) -> None:
        self.api = api
        self.strip_usage_chunk = strip_usage_chunk
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.first_token: bool = False
        self.error: Any = None
        """An error event the upstream sent mid-stream, if any."""
        self.finished = False
        """The stream reached its proper end (`[DONE]`, `message_stop`, `response.completed`…)."""
        self._pending = b""
        self._kept: list[bytes] = []
        self._first_token_marker = _FIRST_TOKEN.get(api)

    def feed(self, chunk: bytes) -> bytes:
        """Take bytes from upstream; return the bytes to send to the caller now."""
        buffer = self._pending + chunk if self._pending else chunk
        end = _event_end(buffer)
        if end == 0:
            self._pending = buffer
            return b""
        block, self._pending = buffer[:end], buffer[end:]
        return self._inspect(block)

    def flush(self) -> bytes:
        """At the end of the stream: whatever incomplete event is left."""
        rest, self._pending = self._pending, b""
        return self._inspect(rest) if rest.strip() else rest

    def _inspect(self, block: bytes) -> bytes:
        self._kept.append(block)
        if not self.first_token and self._first_token_marker is not None:
            self.first_token = self._first_token_marker.search(block) is not None
        if self.model is None and b'"model"' in block:
            self._find_model(block)
        api = self.api
        if api in ("chat", "completions"):
            if b"[DONE]" in block:
                self.finished = True
            if _USAGE_OBJECT.search(block) or b'"error"' in block:
                return self._openai_usage(block)
        elif api == "messages":
            if b"message_stop" in block:
                self.finished = True
            if b"message_start" in block or b"message_delta" in block or b"event: error" in block:
                self._anthropic_usage(block)
        elif api == "responses":
            if _RESPONSE_DONE.search(block) or b'"error"' in block:
                self._responses_usage(block)
        return block

    def _find_model(self, block: bytes) -> None:
        for event in split_events(block):
            _, data = parse_event(event)
            if not isinstance(data, dict):
                continue
            holder = data.get("message") or data.get("response") or data
            model = holder.get("model") if isinstance(holder, dict) else None
            if isinstance(model, str) and model:
                self.model = model
                return

    def _openai_usage(self, block: bytes) -> bytes:
        kept: list[bytes] = []
        stripped = False
        for event in split_events(block):
            if _USAGE_OBJECT.search(event) is None and b'"error"' not in event:
                kept.append(event)
                continue
            _, data = parse_event(event)
            if isinstance(data, dict):
                if data.get("error"):
                    self.error = data["error"]
                usage = data.get("usage")
                if isinstance(usage, dict):
                    self.usage = usage
                    if self.strip_usage_chunk and not data.get("choices"):
                        stripped = True
                        continue
            kept.append(event)
        if not stripped:
            return block
        return b"".join(event + b"\n\n" for event in kept)

    def _anthropic_usage(self, block: bytes) -> None:
        for event in split_events(block):
            if b"message_start" not in event and b"message_delta" not in event and b"error" not in event:
                continue
            name, data = parse_event(event)
            if not isinstance(data, dict):
                continue
            kind = data.get("type", name)
            if kind == "message_start":
                message = data.get("message")
                if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                    self.usage = dict(message["usage"])
            elif kind == "message_delta":
                delta_usage = data.get("usage")
                if isinstance(delta_usage, dict):
                    # Counts in message_delta are cumulative and win over message_start's.
                    merged = dict(self.usage or {})
                    merged.update({k: v for k, v in delta_usage.items() if v is not None})
                    self.usage = merged
            elif kind == "error":
                self.error = data.get("error", data)

    def _responses_usage(self, block: bytes) -> None:
        for event in split_events(block):
            if _RESPONSE_DONE.search(event) is None and b'"error"' not in event:
                continue
            _, data = parse_event(event)
            if not isinstance(data, dict):
                continue
            kind = data.get("type")
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                self.finished = True
                response = data.get("response")
                if isinstance(response, dict) and isinstance(response.get("usage"), dict):
                    self.usage = response["usage"]
            elif kind == "error" or (kind is None and data.get("error")):
                self.error = data.get("error", data)

    def delivered_text(self) -> str:
        """The output text the caller received so far (for counting a cut stream's tokens)."""
        parts: list[str] = []
        for block in self._kept:
            for event in split_events(block):
                _, data = parse_event(event)
                if isinstance(data, dict):
                    _text_of(self.api, data, parts)
        return "".join(parts)


def _text_of(api: str, data: dict[str, Any], out: list[str]) -> None:
    if api in ("chat", "completions"):
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if api == "completions":
                if isinstance(choice.get("text"), str):
                    out.append(choice["text"])
                continue
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content", "reasoning", "refusal"):
                if isinstance(delta.get(key), str):
                    out.append(delta[key])
            for call in delta.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    out.extend(
                        v for v in (function.get("name"), function.get("arguments")) if isinstance(v, str)
                    )
    elif api == "responses":
        kind = data.get("type")
        if isinstance(kind, str) and kind.endswith(".delta") and isinstance(data.get("delta"), str):
            out.append(data["delta"])
    elif api == "messages" and data.get("type") == "content_block_delta":
        delta = data.get("delta") or {}
        for key in ("text", "partial_json", "thinking"):
            if isinstance(delta.get(key), str):
                out.append(delta[key])
