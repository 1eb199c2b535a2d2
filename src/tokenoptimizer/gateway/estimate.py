"""Token and cost estimates the gateway needs before a call (worst case) and after a cut stream.

Before a call, the budget reservation holds the worst case: the input, estimated from the request
size (no tokenizer on the hot path: ~4 bytes of JSON per token over-counts slightly, which is the
safe side), plus the caller's output limit or, without one, the model's maximum output.

After a stream is cut, the provider's usage chunk never arrives; the tokens are then counted
with the tokenizer from the request and the text that did arrive, and the event is flagged as an
estimate.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tokenoptimizer.pricing import NormalisedUsage, PriceOverride, compute_cost
from tokenoptimizer.tokens import count_message_tokens, count_text_tokens

BYTES_PER_TOKEN = 4
DEFAULT_MAX_OUTPUT = 16_384
"""Output bound assumed for models this table does not know and calls without a limit."""

# Longest output of model families (prefix match, longest prefix wins), in tokens.
_MAX_OUTPUT: dict[str, int] = {
    "gpt-3.5": 4_096,
    "gpt-4": 8_192,
    "gpt-4-turbo": 4_096,
    "gpt-4o": 16_384,
    "gpt-4.1": 32_768,
    "gpt-4.5": 16_384,
    "gpt-5": 128_000,
    "o1": 100_000,
    "o1-mini": 65_536,
    "o3": 100_000,
    "o4": 100_000,
    "chatgpt-4o": 16_384,
    "claude-3-haiku": 4_096,
    "claude-3-opus": 4_096,
    "claude-3-sonnet": 4_096,
    "claude-3-5": 8_192,
    "claude-3-7": 64_000,
    "claude-sonnet-4": 64_000,
    "claude-haiku-4": 64_000,
    "claude-opus-4": 32_000,
    "claude-opus-4-5": 64_000,
    "mistral": 32_768,
    "llama": 8_192,
    "gemini": 65_536,
}
_PREFIXES = sorted(_MAX_OUTPUT, key=len, reverse=True)

# Where each API puts the caller's output limit.
_LIMIT_FIELDS: dict[str, tuple[str, ...]] = {
    "chat": ("max_completion_tokens", "max_tokens"),
    "completions": ("max_tokens",),
    "responses": ("max_output_tokens",),
    "messages": ("max_tokens",),
}


@functools.lru_cache(maxsize=4096)
def model_max_output(model: str) -> int:
    """The longest output `model` can produce (a family bound; `DEFAULT_MAX_OUTPUT` if unknown)."""
    name = model.rsplit("/", 1)[-1].lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return _MAX_OUTPUT[prefix]
    return DEFAULT_MAX_OUTPUT


def output_limit(api: str, body: Mapping[str, Any], model: str) -> int:
    """The most output tokens a call can be billed for."""
    if api == "embeddings":
        return 0
    model_max = model_max_output(model)
    for field in _LIMIT_FIELDS.get(api, ()):
        value = body.get(field)
        if type(value) is int and value >= 0:
            choices = body.get("n")
            n = choices if type(choices) is int and choices > 1 else 1
            return min(value, model_max) * n
    return model_max


def input_estimate(body_size: int) -> int:
    """Input tokens estimated from the request size in bytes (an over-estimate)."""
    return body_size // BYTES_PER_TOKEN + 1


def worst_case_cost(
    *,
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    overrides: Sequence[PriceOverride],
) -> float:
    """USD cost of a call using `input_tokens` and `output_tokens`, at today's prices."""
    return compute_cost(
        NormalisedUsage(input_tokens=input_tokens, output_tokens=output_tokens),
        provider=provider,
        model=model,
        ts=datetime.now(UTC),
        overrides=overrides,
    ).total_usd


def count_input(api: str, body: Mapping[str, Any], model: str, provider: str) -> int:
    """Input tokens of a request, counted with the tokenizer (exact for OpenAI models)."""
    if api in ("chat", "messages"):
        messages = list(body.get("messages") or [])
        system = body.get("system")
        if isinstance(system, str):
            messages.insert(0, {"role": "system", "content": system})
        elif isinstance(system, list):
            messages.insert(0, {"role": "system", "content": system})
        return count_message_tokens([m for m in messages if isinstance(m, Mapping)], model, provider).tokens
    parts: list[str] = []
    for field in ("instructions", "input", "prompt"):
        _collect_text(body.get(field), parts)
    return count_text_tokens("\n".join(parts), model, provider).tokens


def _collect_text(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, out)
    elif isinstance(value, Mapping):
        for key in ("content", "text"):
            if key in value:
                _collect_text(value[key], out)


def count_output(text: str, model: str, provider: str) -> int:
    """Output tokens of the text a stream delivered before it was cut."""
    return count_text_tokens(text, model, provider).tokens if text else 0
