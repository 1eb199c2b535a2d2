"""The gateway's own errors, in each provider's error format, so SDKs raise readable exceptions.

OpenAI SDKs read `{"error": {"message", "type", "param", "code"}}` and put the message in the
exception text; Anthropic SDKs read `{"type": "error", "error": {"type", "message"}}` and pick the
exception class by status (402 → `PaymentRequiredError`, 429 → `RateLimitError`, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import orjson

Api = Literal["openai", "anthropic"]

# Our error kind -> (OpenAI type, Anthropic type).
_TYPES: dict[str, tuple[str, str]] = {
    "authentication": ("invalid_request_error", "authentication_error"),
    "permission": ("invalid_request_error", "permission_error"),
    "invalid_request": ("invalid_request_error", "invalid_request_error"),
    "not_found": ("invalid_request_error", "not_found_error"),
    "budget_exceeded": ("budget_exceeded", "budget_exceeded"),
    "requests": ("requests", "rate_limit_error"),
    "tokens": ("tokens", "rate_limit_error"),
    "upstream": ("server_error", "api_error"),
    "timeout": ("server_error", "timeout_error"),
}


@dataclass
class GatewayError(Exception):
    """A call the gateway answers itself, with `status` and a message saying what to do.

    `event_error` names the refusal in the usage event that records it (None: no event, e.g. when
    the caller is unknown).
    """

    status: int
    message: str
    kind: str
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    event_error: str | None = None

    def __str__(self) -> str:
        return self.message

    def body(self, api: Api) -> bytes:
        """The JSON error body in `api`'s format."""
        return error_body(api, self.kind, self.message, self.code)


def error_body(api: Api, kind: str, message: str, code: str | None = None) -> bytes:
    """An error body in the provider's format."""
    openai_type, anthropic_type = _TYPES.get(kind, (kind, kind))
    if api == "anthropic":
        return orjson.dumps({"type": "error", "error": {"type": anthropic_type, "message": message}})
    return orjson.dumps({"error": {"message": message, "type": openai_type, "param": None, "code": code}})


def stream_error_event(api: Api, kind: str, message: str, code: str | None = None) -> bytes:
    """An SSE event carrying an error, for failures after a stream started (SDKs raise it)."""
    body = error_body(api, kind, message, code)
    if api == "anthropic":
        return b"event: error\ndata: " + body + b"\n\n"
    return b"data: " + body + b"\n\n"
