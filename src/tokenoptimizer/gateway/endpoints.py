"""What the proxy serves and passes on: its endpoints, the headers it forwards, small helpers.

Pure functions over plain data; no application state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import orjson

from tokenoptimizer.gateway.config import UpstreamTarget
from tokenoptimizer.gateway.errors import GatewayError

MAX_TAGS = 50


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A proxied endpoint: how its usage is read and what kind of call it is."""

    usage_api: str
    request_type: str
    recorded: bool = True
    """False for free endpoints (model lists, token counting): forwarded, not recorded or limited."""


ENDPOINTS: dict[tuple[str, str, str], Endpoint] = {
    ("openai", "POST", "chat/completions"): Endpoint("chat", "chat"),
    ("openai", "POST", "responses"): Endpoint("responses", "chat"),
    ("openai", "POST", "completions"): Endpoint("completions", "completion"),
    ("openai", "POST", "embeddings"): Endpoint("embeddings", "embedding"),
    ("openai", "GET", "models"): Endpoint("models", "other", recorded=False),
    ("anthropic", "POST", "messages"): Endpoint("messages", "chat"),
    ("anthropic", "POST", "messages/count_tokens"): Endpoint("count_tokens", "other", recorded=False),
}

MODEL_INFO = Endpoint("model", "other", recorded=False)

# Headers not forwarded upstream: hop-by-hop, ours, and the caller's credentials for us.
DROP_REQUEST = frozenset(
    {
        b"host",
        b"content-length",
        b"authorization",
        b"x-api-key",
        b"api-key",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-connection",
        b"cookie",
        b"accept-encoding",
        b"expect",
    }
)
DROP_WITH_OUR_KEY = DROP_REQUEST | {b"openai-organization", b"openai-project"}


def raise_unreachable(upstream: UpstreamTarget, exc: Exception) -> NoReturn:
    """Turn a transport failure (`upstream.TRANSPORT_ERRORS`) into the gateway's 502/504."""
    if isinstance(exc, TimeoutError):
        raise GatewayError(
            504,
            f"Upstream '{upstream.name}' did not answer in time ({type(exc).__name__})",
            "timeout",
            "upstream_timeout",
            event_error="upstream_timeout",
        ) from exc
    raise GatewayError(
        502,
        f"Upstream '{upstream.name}' is unreachable ({type(exc).__name__}: {exc})",
        "upstream",
        "upstream_unreachable",
        event_error="upstream_unreachable",
    ) from exc


def parse_tags(header: str | None) -> dict[str, str]:
    """`k=v,k2=v2` into a dict, or a 400 naming the bad part."""
    if not header:
        return {}
    tags: dict[str, str] = {}
    for part in header.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > 64 or len(value) > 200:
            raise GatewayError(
                400,
                f"x-tko-tags: expected key=value pairs separated by commas (keys up to 64 characters, values "
                f"up to 200), got {part.strip()!r}",
                "invalid_request",
            )
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise GatewayError(400, f"x-tko-tags: at most {MAX_TAGS} tags (got {len(tags)})", "invalid_request")
    return tags


def upstream_error_type(content: bytes, status: int) -> str:
    """The error type of a provider's error body, for the event (`http_<status>` if none)."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return f"http_{status}"
    error = body.get("error") if isinstance(body, dict) else None
    return error_type_of(error) or f"http_{status}"


def error_type_of(error: Any) -> str | None:
    """`type` (or `code`) of a provider's error object."""
    if isinstance(error, dict):
        for key in ("type", "code"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value[:200]
    return None


def filter_models(content: bytes, upstream: UpstreamTarget) -> bytes:
    """A model list without the models the upstream does not allow."""
    try:
        listing = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    if isinstance(listing, dict) and isinstance(listing.get("data"), list):
        listing["data"] = [
            m for m in listing["data"] if isinstance(m, dict) and upstream.allows(str(m.get("id", "")))
        ]
        return orjson.dumps(listing)
    return content
