"""Reading bulk request bodies (OTLP exports, file imports) with a size limit.

A body is refused with 413 as soon as it passes the limit — from `Content-Length` before reading
anything, else while streaming — and a compressed body is limited *after* decompression too, so a
small gzip bomb cannot fill the memory.
"""

from __future__ import annotations

import zlib

from fastapi import HTTPException, Request, status

MIB = 1024 * 1024
INGEST_MAX_BYTES = 256 * MIB
"""Largest decompressed body of `POST /api/v1/events` (10,000 events fit many times over)."""


def _too_large(limit: int, advice: str) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the request body is larger than {limit / MIB:g} MiB. {advice}".strip(),
    )


async def read_body(request: Request, limit: int, *, advice: str = "") -> bytes:
    """The request body, decompressed (`Content-Encoding` gzip or deflate), at most `limit` bytes.

    Raises:
        HTTPException: 413 when the body (or its decompressed form) exceeds the limit, 415 for an
            unsupported content encoding, 400 for a body that does not decompress.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, advice)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, advice)
        chunks.append(chunk)
    body = b"".join(chunks)
    return decode_content(body, request.headers.get("content-encoding", ""), limit, advice=advice)


def decode_content(body: bytes, encoding: str, limit: int, *, advice: str = "") -> bytes:
    """A body decompressed by its `Content-Encoding` (gzip, deflate or none), at most `limit` bytes.

    Raises:
        HTTPException: 413 past the limit, 415 for another encoding, 400 if it does not decompress.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return _inflate(body, zlib.MAX_WBITS | 16, limit, advice)
    if encoding == "deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, limit, advice)
        except HTTPException as exc:
            if exc.status_code != status.HTTP_400_BAD_REQUEST:
                raise
            return _inflate(body, -zlib.MAX_WBITS, limit, advice)  # raw deflate, as some clients send
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"unsupported Content-Encoding {encoding!r}: send gzip, deflate or an uncompressed body",
    )


def _inflate(body: bytes, wbits: int, limit: int, advice: str) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the body does not match its Content-Encoding: {exc}"
        ) from exc
    if len(data) > limit or decompressor.unconsumed_tail:
        raise _too_large(limit, advice)
    if not decompressor.eof:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the compressed body is truncated")
    return data
