"""Usage normalisation: every provider's raw usage object becomes one `NormalisedUsage`.

Providers count differently: OpenAI reports cached tokens *inside* `prompt_tokens`, Anthropic and
Bedrock report them *beside* `input_tokens`; OpenAI counts reasoning inside `completion_tokens`,
xAI's chat API and Gemini report it beside. Costs are computed from normalised fields only, so
each provider API gets one small function that knows its quirks, and `normalise_usage` dispatches
on the `(provider, api)` pair through a table. An unknown pair raises `UnsupportedUsageFormat`
(a 422 at the API) instead of guessing a shape.

The invariants of `NormalisedUsage` (checked on construction, so the flat-field path of the event
API gets them too): every count is a non-negative int; cache reads and writes are part of
`input_tokens`; 1-hour cache writes are part of `cache_write_tokens`; reasoning is part of
`output_tokens`; audio tokens are part of the input or output they belong to.

The raw object may be the usage object itself or the whole response body; the usage object is
then taken from the key the provider uses (`usage`, `usageMetadata`), because SDK users often
hand over the whole response.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APIS",
    "PROVIDERS",
    "NormalisedUsage",
    "UnsupportedUsageFormat",
    "normalise_usage",
    "supported_formats",
]


@dataclass(frozen=True, slots=True)
class NormalisedUsage:
    """Token counts of one call, counted the same way for every provider.

    Attributes:
        input_tokens: All input tokens, including cache reads and cache writes.
        output_tokens: All output tokens, including reasoning.
        cache_read_tokens: Input tokens read from the prompt cache.
        cache_write_tokens: Input tokens written to the prompt cache (all TTLs).
        cache_write_1h_tokens: The part of `cache_write_tokens` written with a 1-hour TTL.
        reasoning_tokens: The part of `output_tokens` spent on reasoning/thinking.
        input_audio_tokens: The part of `input_tokens` that is audio.
        output_audio_tokens: The part of `output_tokens` that is audio.
        reported_cost_usd: A cost the provider reported itself (e.g. OpenRouter's `usage.cost`).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    reported_cost_usd: float | None = None

    def __post_init__(self) -> None:
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            # bool is an int subclass; `True` tokens is a client bug, not a count.
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                f"cache_read_tokens ({self.cache_read_tokens}) + "
                f"cache_write_tokens ({self.cache_write_tokens}) exceed input_tokens ({self.input_tokens}): "
                "input_tokens must include cached input"
            )
        _check_part(self, "cache_write_1h_tokens", "cache_write_tokens")
        _check_part(self, "reasoning_tokens", "output_tokens")
        _check_part(self, "input_audio_tokens", "input_tokens")
        _check_part(self, "output_audio_tokens", "output_tokens")
        cost = self.reported_cost_usd
        if cost is not None and (
            isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0
        ):
            raise ValueError(f"reported_cost_usd must be a non-negative number, got {cost!r}")


_COUNT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
)


def _check_part(usage: NormalisedUsage, part: str, whole: str) -> None:
    if getattr(usage, part) > getattr(usage, whole):
        raise ValueError(f"{part} ({getattr(usage, part)}) exceeds {whole} ({getattr(usage, whole)})")


class UnsupportedUsageFormat(ValueError):
    """The `(provider, api)` pair has no normaliser; the message lists the supported pairs."""

    def __init__(self, provider: str, api: str) -> None:
        pairs = ", ".join(f"{p}/{a}" for p, a in sorted(_NORMALISERS))
        super().__init__(f"unsupported usage format {provider}/{api}; supported provider/api pairs: {pairs}")
        self.provider = provider
        self.api = api


# --- reading fields ------------------------------------------------------------------------------


def _unwrap(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The usage object, whether given alone or inside the whole response body."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"raw_usage must be an object, got {type(raw).__name__}")
    inner = raw.get(key)
    return inner if isinstance(inner, Mapping) else raw


def _count(obj: Mapping[str, Any], *path: str, required: bool = False) -> int:
    """A token count at `path`; absent or null counts as 0 unless required."""
    value: Any = obj
    for depth, key in enumerate(path):
        if value is None:
            break
        if not isinstance(value, Mapping):
            raise ValueError(f"{'.'.join(path[:depth])} must be an object, got {type(value).__name__}")
        value = value.get(key)
    name = ".".join(path)
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return 0
    # JSON decoders may give 12.0 for 12; accept integral floats, refuse fractions and bools.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _modality_count(obj: Mapping[str, Any], key: str, modality: str) -> int:
    """Sum `tokenCount` of the entries of Gemini's per-modality list `key` for `modality`."""
    details = obj.get(key)
    if details is None:
        return 0
    if not isinstance(details, list):
        raise ValueError(f"{key} must be a list, got {type(details).__name__}")
    total = 0
    for index, item in enumerate(details):
        if not isinstance(item, Mapping):
            raise ValueError(f"{key}[{index}] must be an object")
        if item.get("modality") == modality:
            total += _count(item, "tokenCount") if "tokenCount" in item else _count(item, "token_count")
    return total


def _reported_cost(obj: Mapping[str, Any]) -> float | None:
    cost = obj.get("cost")
    if cost is None:
        return None
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        raise ValueError(f"cost must be a non-negative number, got {cost!r}")
    return float(cost)


def _usage(**fields: Any) -> NormalisedUsage:
    """Build the result, turning invariant violations into messages that blame the raw object."""
    try:
        return NormalisedUsage(**fields)
    except ValueError as exc:
        raise ValueError(f"inconsistent raw usage: {exc}") from None


# --- one normaliser per provider API ---------------------------------------------------------------


def openai_chat(raw: Mapping[str, Any]) -> NormalisedUsage:
    """OpenAI Chat Completions (and OpenAI-compatible chat APIs).

    `prompt_tokens` includes `prompt_tokens_details.cached_tokens`; `completion_tokens` includes
    `completion_tokens_details.reasoning_tokens`. OpenRouter adds `prompt_tokens_details.cache_write_tokens`
    and `cost`, which are kept.
    """
    u = _unwrap(raw, "usage")
    return _usage(
        input_tokens=_count(u, "prompt_tokens", required=True),
        output_tokens=_count(u, "completion_tokens"),
        cache_read_tokens=_count(u, "prompt_tokens_details", "cached_tokens"),
        cache_write_tokens=_count(u, "prompt_tokens_details", "cache_write_tokens"),
        reasoning_tokens=_count(u, "completion_tokens_details", "reasoning_tokens"),
        input_audio_tokens=_count(u, "prompt_tokens_details", "audio_tokens"),
        output_audio_tokens=_count(u, "completion_tokens_details", "audio_tokens"),
        reported_cost_usd=_reported_cost(u),
    )


def openai_responses(raw: Mapping[str, Any]) -> NormalisedUsage:
    """OpenAI Responses API: `input_tokens` includes cached; `output_tokens` includes reasoning."""
    u = _unwrap(raw, "usage")
    return _usage(
        input_tokens=_count(u, "input_tokens", required=True),
        output_tokens=_count(u, "output_tokens"),
        cache_read_tokens=_count(u, "input_tokens_details", "cached_tokens"),
        cache_write_tokens=_count(u, "input_tokens_details", "cache_write_tokens"),
        reasoning_tokens=_count(u, "output_tokens_details", "reasoning_tokens"),
        reported_cost_usd=_reported_cost(u),
    )


def openai_completions(raw: Mapping[str, Any]) -> NormalisedUsage:
    """Legacy Completions API: `prompt_tokens` and `completion_tokens` only."""
    u = _unwrap(raw, "usage")
    return _usage(
        input_tokens=_count(u, "prompt_tokens", required=True),
        output_tokens=_count(u, "completion_tokens"),
        cache_read_tokens=_count(u, "prompt_tokens_details", "cached_tokens"),
        reported_cost_usd=_reported_cost(u),
    )


def openai_embeddings(raw: Mapping[str, Any]) -> NormalisedUsage:
    """Embeddings: `prompt_tokens` is all there is (`total_tokens` repeats it)."""
    u = _unwrap(raw, "usage")
    return _usage(input_tokens=_count(u, "prompt_tokens", required=True), reported_cost_usd=_reported_cost(u))


def anthropic_messages(raw: Mapping[str, Any]) -> NormalisedUsage:
    """Anthropic Messages: `input_tokens` *excludes* cache writes and reads, so they are added.

    `cache_creation.ephemeral_1h_input_tokens` is the 1-hour part of `cache_creation_input_tokens`
    (priced higher than the default 5-minute writes). Thinking is inside `output_tokens` and not
    reported separately, so `reasoning_tokens` stays 0.
    """
    u = _unwrap(raw, "usage")
    uncached = _count(u, "input_tokens", required=True)
    cache_read = _count(u, "cache_read_input_tokens")
    write_5m = _count(u, "cache_creation", "ephemeral_5m_input_tokens")
    write_1h = _count(u, "cache_creation", "ephemeral_1h_input_tokens")
    # The total is authoritative; the TTL breakdown is only present on newer responses.
    cache_write = max(_count(u, "cache_creation_input_tokens"), write_5m + write_1h)
    return _usage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=_count(u, "output_tokens", required=True),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
    )


def xai_chat(raw: Mapping[str, Any]) -> NormalisedUsage:
    """XAI chat completions: like OpenAI, except `completion_tokens` *excludes* reasoning tokens."""
    u = _unwrap(raw, "usage")
    reasoning = _count(u, "completion_tokens_details", "reasoning_tokens")
    return _usage(
        input_tokens=_count(u, "prompt_tokens", required=True),
        output_tokens=_count(u, "completion_tokens") + reasoning,
        cache_read_tokens=_count(u, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=reasoning,
        input_audio_tokens=_count(u, "prompt_tokens_details", "audio_tokens"),
        output_audio_tokens=_count(u, "completion_tokens_details", "audio_tokens"),
    )


def deepseek_chat(raw: Mapping[str, Any]) -> NormalisedUsage:
    """DeepSeek chat: OpenAI-shaped, cache hits in `prompt_cache_hit_tokens` (inside `prompt_tokens`)."""
    u = _unwrap(raw, "usage")
    cache_read = max(
        _count(u, "prompt_cache_hit_tokens"), _count(u, "prompt_tokens_details", "cached_tokens")
    )
    return _usage(
        input_tokens=_count(u, "prompt_tokens", required=True),
        output_tokens=_count(u, "completion_tokens"),
        cache_read_tokens=cache_read,
        reasoning_tokens=_count(u, "completion_tokens_details", "reasoning_tokens"),
    )


def gemini_generate_content(raw: Mapping[str, Any]) -> NormalisedUsage:
    """Gemini `usageMetadata` (camelCase REST or snake_case SDK names).

    `promptTokenCount` includes `cachedContentTokenCount`; tool-use prompt tokens are input too.
    `thoughtsTokenCount` is billed as output but reported beside `candidatesTokenCount`, so it is added.
    """
    u = _unwrap(raw, "usageMetadata")
    if "usage_metadata" in u and isinstance(u["usage_metadata"], Mapping):
        u = u["usage_metadata"]

    def count(camel: str, snake: str, required: bool = False) -> int:
        if camel in u or snake not in u:
            return _count(u, camel, required=required)
        return _count(u, snake, required=required)

    thoughts = count("thoughtsTokenCount", "thoughts_token_count")
    audio_in = _modality_count(u, "promptTokensDetails", "AUDIO") + _modality_count(
        u, "prompt_tokens_details", "AUDIO"
    )
    audio_out = _modality_count(u, "candidatesTokensDetails", "AUDIO") + _modality_count(
        u, "candidates_tokens_details", "AUDIO"
    )
    return _usage(
        input_tokens=count("promptTokenCount", "prompt_token_count", required=True)
        + count("toolUsePromptTokenCount", "tool_use_prompt_token_count"),
        output_tokens=count("candidatesTokenCount", "candidates_token_count") + thoughts,
        cache_read_tokens=count("cachedContentTokenCount", "cached_content_token_count"),
        reasoning_tokens=thoughts,
        input_audio_tokens=audio_in,
        output_audio_tokens=audio_out,
    )


def bedrock_converse(raw: Mapping[str, Any]) -> NormalisedUsage:
    """AWS Bedrock Converse: `inputTokens` *excludes* `cacheReadInputTokens` and `cacheWriteInputTokens`.

    `cacheDetails` (a list of `{ttl, inputTokens}`) tells 5-minute from 1-hour writes.
    """
    u = _unwrap(raw, "usage")
    cache_read = _count(u, "cacheReadInputTokens")
    cache_write = _count(u, "cacheWriteInputTokens")
    write_1h = 0
    details = u.get("cacheDetails")
    if details is not None:
        if not isinstance(details, list):
            raise ValueError(f"cacheDetails must be a list, got {type(details).__name__}")
        for index, item in enumerate(details):
            if not isinstance(item, Mapping):
                raise ValueError(f"cacheDetails[{index}] must be an object")
            if item.get("ttl") == "1h":
                write_1h += _count(item, "inputTokens")
    return _usage(
        input_tokens=_count(u, "inputTokens", required=True) + cache_read + cache_write,
        output_tokens=_count(u, "outputTokens", required=True),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
    )


Normaliser = Callable[[Mapping[str, Any]], NormalisedUsage]

# Provider APIs that speak OpenAI's shapes; each gets the OpenAI normalisers for the APIs it offers.
_OPENAI_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "openai": ("chat", "responses", "completions", "embeddings"),
    "azure": ("chat", "responses", "completions", "embeddings"),
    "mistral": ("chat", "completions", "embeddings"),
    "groq": ("chat", "responses", "completions"),
    "together": ("chat", "completions", "embeddings"),
    "fireworks": ("chat", "completions", "embeddings"),
    "openrouter": ("chat", "responses", "completions", "embeddings"),
    "cerebras": ("chat", "completions"),
    "perplexity": ("chat",),
    "moonshotai": ("chat",),
}
_OPENAI_BY_API: dict[str, Normaliser] = {
    "chat": openai_chat,
    "responses": openai_responses,
    "completions": openai_completions,
    "embeddings": openai_embeddings,
}

_NORMALISERS: dict[tuple[str, str], Normaliser] = {
    (provider, api): _OPENAI_BY_API[api] for provider, apis in _OPENAI_COMPATIBLE.items() for api in apis
}
_NORMALISERS.update(
    {
        ("anthropic", "messages"): anthropic_messages,
        # Claude through Bedrock InvokeModel, Vertex AI and Azure Foundry returns Anthropic's body.
        ("bedrock", "messages"): anthropic_messages,
        ("google", "messages"): anthropic_messages,
        ("azure", "messages"): anthropic_messages,
        ("bedrock", "converse"): bedrock_converse,
        ("google", "generate_content"): gemini_generate_content,
        ("deepseek", "chat"): deepseek_chat,
        ("xai", "chat"): xai_chat,
        ("xai", "responses"): openai_responses,
        ("xai", "messages"): anthropic_messages,
    }
)

PROVIDERS: frozenset[str] = frozenset(provider for provider, _ in _NORMALISERS)
"""Provider names accepted by `normalise_usage`."""

APIS: frozenset[str] = frozenset(api for _, api in _NORMALISERS)
"""API names accepted by `normalise_usage`."""


def supported_formats() -> list[tuple[str, str]]:
    """All supported `(provider, api)` pairs, sorted (for documentation and error messages)."""
    return sorted(_NORMALISERS)


def normalise_usage(provider: str, api: str, raw_usage: Mapping[str, Any]) -> NormalisedUsage:
    """Turn a provider's raw usage object into normalised counts.

    Args:
        provider: Provider name, one of `PROVIDERS` (case-insensitive).
        api: Provider API, one of `APIS` (case-insensitive).
        raw_usage: The usage object as the provider returned it, or the whole response body.

    Returns:
        The normalised usage.

    Raises:
        UnsupportedUsageFormat: The provider/API pair has no normaliser.
        ValueError: A field has a bad shape (negative, not an integer, missing when required);
            the message names the field.
    """
    normaliser = _NORMALISERS.get((provider.strip().lower(), api.strip().lower()))
    if normaliser is None:
        raise UnsupportedUsageFormat(provider, api)
    return normaliser(raw_usage)
