"""Talking to upstreams: one pooled aiohttp session, and the answers the proxy passes back.

aiohttp costs ~0.15 ms of CPU per request on the benchmark machine, httpx2 ~0.6 ms
(bench/README.md); the session is created on first use in the serving event loop and closed with
the server (`runtime.Gateway`).

Bodies are not re-encoded on the way through. The gateway asks every upstream for
`Accept-Encoding: identity` (it must read usage from answers and streams, and on loopback or a
datacenter link compression costs more CPU than it saves), and the session never decompresses. An
upstream that compresses anyway with gzip or deflate is decoded here, so the caller gets the same
answer as from a well-behaved one; any other encoding passes through untouched, with its
`content-encoding` header.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Sequence

import aiohttp

from tokenoptimizer.server.settings import Settings

TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)
"""What a failed exchange with an upstream raises: connecting, sending, waiting, a cut body."""

ACCEPT_IDENTITY = ("accept-encoding", "identity")

# Headers not passed back: hop-by-hop, framing (the ASGI server frames the answer again), and the
# upstream's own date, server and cookies.
DROP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"transfer-encoding",
        b"trailer",
        b"upgrade",
        b"content-length",
        b"date",
        b"server",
        b"set-cookie",
    }
)
# zlib window bits per content coding decoded here (gzip; deflate with a zlib or gzip header).
_DECODED = {b"gzip": 16 + zlib.MAX_WBITS, b"x-gzip": 16 + zlib.MAX_WBITS, b"deflate": 32 + zlib.MAX_WBITS}
_CONTENT_TYPE = ("Content-Type",)


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """The pooled session for every upstream (call inside the event loop that will use it)."""
    connector = aiohttp.TCPConnector(
        limit=settings.gateway_max_connections,
        keepalive_timeout=60,
        ttl_dns_cache=60,  # new connections only: a pooled one needs no lookup at all
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=settings.gateway_timeout_seconds,  # waiting for a free connection included
        sock_connect=settings.gateway_connect_timeout_seconds,
        sock_read=settings.gateway_timeout_seconds,  # the answer, then each chunk of a stream
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        # The session is shared by every caller: no upstream's cookie may reach another call.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


def header_text(value: bytes) -> str:
    """A request header's value as the text aiohttp writes back as the same bytes (it encodes UTF-8)."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")  # not UTF-8: the nearest it can send


async def send(
    session: aiohttp.ClientSession, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
) -> UpstreamAnswer:
    """Send a request; return once the upstream's status and headers arrived (the body waits).

    `headers` have lower-case names (as ASGI gives them).
    """
    # aiohttp would label a request without a content type as application/octet-stream.
    untyped = not any(name == "content-type" for name, _ in headers)
    response = await session.request(
        method,
        url,
        headers=headers,
        data=body or None,
        allow_redirects=False,
        skip_auto_headers=_CONTENT_TYPE if untyped else None,
    )
    return UpstreamAnswer(response)


class UpstreamAnswer:
    """An upstream's answer: status, the headers to pass back, and its body (whole or as chunks)."""

    __slots__ = ("_decoder", "_response", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self._decoder: zlib._Decompress | None = None
        headers: list[tuple[bytes, bytes]] = []
        for name, value in response.raw_headers:
            name = name.lower()
            if name in DROP_RESPONSE:
                continue
            if name == b"content-encoding":
                coding = value.strip().lower()
                if coding == b"identity":
                    continue
                if coding in _DECODED:
                    self._decoder = zlib.decompressobj(_DECODED[coding])
                    continue
            headers.append((name, value))
        self.headers = headers

    @property
    def event_stream(self) -> bool:
        """Whether the body is a stream of server-sent events."""
        return self._response.headers.get("content-type", "").startswith("text/event-stream")

    async def read(self) -> bytes:
        """The whole body (then the connection goes back to the pool)."""
        try:
            content = await self._response.read()
        finally:
            self._response.release()
        return self._decode(content, final=True) if self._decoder is not None else content

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        if self._decoder is None:
            return self._response.content.iter_any()
        return self._decoded_chunks()

    async def _decoded_chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_any():
            yield self._decode(chunk)
        rest = self._decode(b"", final=True)
        if rest:
            yield rest

    def close(self) -> None:
        """Give the connection back (or close it when the body was not read to its end)."""
        self._response.close()

    def _decode(self, data: bytes, final: bool = False) -> bytes:
        decoder = self._decoder
        assert decoder is not None
        try:
            out = decoder.decompress(data)
            return out + decoder.flush() if final else out
        except zlib.error as exc:
            raise aiohttp.ClientPayloadError(f"Undecodable compressed body from upstream: {exc}") from exc
