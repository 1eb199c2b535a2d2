"""What passes between the gateway and an upstream: encodings, timeouts, answers cut short.

These need answers no real provider (nor the fake one) sends on purpose, so the server-wide
OpenAI upstream here is a raw HTTP/1.1 server on loopback that writes the bytes each test sets.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.gateway.conftest import Gateway
from tests.servers import free_port
from tokenoptimizer.server.settings import Settings

PROMPT = [{"role": "user", "content": "Say hello to me"}]
USAGE = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello there"}, "finish_reason": "stop"}
    ],
    "usage": USAGE,
}


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    payload = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": choices}
    return b"data: " + orjson.dumps({**payload, "usage": usage}) + b"\n\n"


STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hello"}),
    _chunk({"content": " there"}),
    _chunk({}, "stop"),
    _chunk({}, usage=USAGE),
    b"data: [DONE]\n\n",
]


class RawUpstream:
    """An HTTP/1.1 server on loopback that answers every request with `parts`.

    Bytes are written in order, a float sleeps that many seconds, None hangs up.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.parts: list[bytes | float | None] = []
        self.requests: list[dict[str, str]] = []
        self._started = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="raw-upstream")

    def answer(self, *parts: bytes | float | None) -> None:
        self.parts = list(parts)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with await asyncio.start_server(self._serve, "127.0.0.1", self.port):
            self._started.set()
            await self._stop.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in head[1:] if line)
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(headers)
                for part in self.parts:
                    if part is None:
                        return
                    if isinstance(part, float):
                        await asyncio.sleep(part)
                    else:
                        writer.write(part)
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the gateway hung up, or the test ended
        finally:
            writer.close()

    def __enter__(self) -> RawUpstream:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def _response(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"content-length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def _chunked_head(*headers: str) -> bytes:
    return "\r\n".join(["HTTP/1.1 200 OK", *headers, "transfer-encoding: chunked", "", ""]).encode()


def _chunk_of(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/meta.db"


@pytest.fixture
def raw_upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as upstream:
        yield upstream


@pytest.fixture
def settings(settings: Settings, raw_upstream: RawUpstream) -> Settings:
    return settings.model_copy(
        update={"openai_base_url": raw_upstream.base_url, "gateway_timeout_seconds": 1}
    )


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.openai_base_url, api_key=gateway.tenant.key, max_retries=0) as sdk:
        yield sdk


def test_upstreams_are_asked_for_uncompressed_answers(
    gateway: Gateway, client: openai.OpenAI, raw_upstream: RawUpstream
) -> None:
    raw_upstream.answer(_response(orjson.dumps(COMPLETION), "content-type: application/json"))
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert reply.choices[0].message.content == "Hello there"
    # The SDK accepts gzip (and more); the gateway asks for the body as it is.
    assert raw_upstream.requests[-1]["accept-encoding"] == "identity"
    [event] = gateway.events()
    assert (event["input_tokens"], event["output_tokens"]) == (4, 2)


def test_request_headers_reach_the_upstream_byte_for_byte(
    gateway: Gateway, raw_upstream: RawUpstream
) -> None:
    raw_upstream.answer(_response(orjson.dumps(COMPLETION), "content-type: application/json"))
    note = "Grüße, 東京".encode()
    response = httpx.post(
        gateway.openai_base_url + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": PROMPT},
        headers={"Authorization": f"Bearer {gateway.tenant.key}", "x-note": note},
    )
    assert response.status_code == 200
    assert raw_upstream.requests[-1]["x-note"].encode("latin-1") == note


def test_an_answer_compressed_anyway_is_decoded(
    gateway: Gateway, client: openai.OpenAI, raw_upstream: RawUpstream
) -> None:
    body = gzip.compress(orjson.dumps(COMPLETION))
    raw_upstream.answer(_response(body, "content-type: application/json", "content-encoding: gzip"))
    response = httpx.post(
        gateway.openai_base_url + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": PROMPT},
        headers={"Authorization": f"Bearer {gateway.tenant.key}", "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in response.headers
    assert orjson.loads(response.content) == COMPLETION

    compressor = zlib.compressobj(wbits=31)  # gzip, flushed after each event
    parts: list[bytes | float | None] = [
        _chunked_head("content-type: text/event-stream", "content-encoding: gzip")
    ]
    for event in STREAM:
        parts += [0.01, _chunk_of(compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH))]
    # The end with the last event: the SDK hangs up after `[DONE]`, and a hang-up seen before the
    # end of the upstream's body is recorded as `client_disconnected`.
    parts[-1] += _chunk_of(compressor.flush()) + b"0\r\n\r\n"
    raw_upstream.answer(*parts)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello there"
    assert all(c.usage is None for c in chunks)  # the usage chunk the gateway asked for is removed

    summary = [
        (e["status"], e["error_type"], e["input_tokens"], e["output_tokens"]) for e in gateway.events()
    ]
    assert summary == [("ok", None, 4, 2)] * 2


def test_another_encoding_passes_through_untouched(gateway: Gateway, raw_upstream: RawUpstream) -> None:
    body = b"\x00\x01 not for us to decode \xff"
    raw_upstream.answer(_response(body, "content-type: application/json", "content-encoding: x-custom"))
    response = httpx.post(
        gateway.openai_base_url + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": PROMPT},
        headers={"Authorization": f"Bearer {gateway.tenant.key}"},
    )
    assert response.headers["content-encoding"] == "x-custom"
    assert response.content == body


def test_a_slow_upstream_gives_504_in_the_provider_format(
    gateway: Gateway, client: openai.OpenAI, raw_upstream: RawUpstream
) -> None:
    raw_upstream.answer(2.0, _response(orjson.dumps(COMPLETION), "content-type: application/json"))
    with pytest.raises(openai.APIStatusError, match="did not answer in time") as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert info.value.status_code == 504
    [event] = gateway.events()
    assert (event["status"], event["error_type"]) == ("error", "upstream_timeout")


def test_an_answer_cut_short_gives_502(
    gateway: Gateway, client: openai.OpenAI, raw_upstream: RawUpstream
) -> None:
    whole = _response(orjson.dumps(COMPLETION), "content-type: application/json")
    raw_upstream.answer(whole[:-20], 0.05, None)
    with pytest.raises(openai.APIStatusError, match="unreachable") as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert info.value.status_code == 502
    [event] = gateway.events()
    assert (event["status"], event["error_type"]) == ("error", "upstream_unreachable")


def test_a_caller_hanging_up_after_the_last_event_completed_the_call(
    gateway: Gateway, raw_upstream: RawUpstream
) -> None:
    """SDKs stop reading at `[DONE]`; the upstream's body may end (or send more) after that."""
    parts: list[bytes | float | None] = [_chunked_head("content-type: text/event-stream")]
    parts += [_chunk_of(b"".join(STREAM))]
    parts += [0.3, _chunk_of(b": keep-alive\n\n"), 0.1, b"0\r\n\r\n"]
    raw_upstream.answer(*parts)
    with httpx.stream(
        "POST",
        gateway.openai_base_url + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": PROMPT, "stream": True},
        headers={"Authorization": f"Bearer {gateway.tenant.key}"},
    ) as response:
        for line in response.iter_lines():
            if line == "data: [DONE]":
                break  # …and hang up, as the OpenAI SDK does
    [event] = gateway.events()
    assert (event["status"], event["error_type"], event["output_tokens"]) == ("ok", None, 2)
