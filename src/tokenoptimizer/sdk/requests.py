"""What the SDK reads from a provider request body: its text (for token counts) and output bound.

Used by the budget guard (tokens to reserve for) and by streams that end without a usage report
(tokens to estimate). Both are estimates, so the shapes are read leniently: whatever is not text
is left out rather than raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Messages = list[Mapping[str, Any]]


def request_text(api: str, body: Mapping[str, Any]) -> tuple[Messages | None, str | None]:
    """The request's input as chat messages, or as plain text when it is not a chat."""
    if api == "chat":
        messages = body.get("messages")
        return (list(messages) if isinstance(messages, Sequence) else []), None
    if api == "messages":
        messages = list(body.get("messages") or [])
        system = body.get("system")
        if system:
            messages.insert(0, {"role": "system", "content": system})
        return messages, None
    if api == "responses":
        items: Messages = []
        if isinstance(body.get("instructions"), str):
            items.append({"role": "system", "content": body["instructions"]})
        given = body.get("input")
        if isinstance(given, str):
            items.append({"role": "user", "content": given})
        elif isinstance(given, Sequence):
            for item in given:
                if isinstance(item, Mapping) and "content" in item:
                    items.append({"role": str(item.get("role", "user")), "content": item["content"]})
        return items, None
    given = body.get("input", body.get("prompt"))
    if isinstance(given, str):
        return None, given
    if isinstance(given, Sequence):
        return None, "\n".join(part for part in given if isinstance(part, str))
    return None, ""


def max_output_tokens(body: Mapping[str, Any]) -> int | None:
    """The caller's output bound, whatever the API calls it."""
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = body.get(key)
        if type(value) is int and value >= 0:
            return value
    return None


def model_of(body: Mapping[str, Any]) -> str | None:
    """The requested model."""
    model = body.get("model")
    return model if isinstance(model, str) and model else None
