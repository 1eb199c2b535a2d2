"""Estimate a call's cost before making it, and what cheaper comparable models would cost.

The input is counted (see `counting`) and priced uncached at the price in force at `ts`, with the
organisation's overrides; the worst case adds `max_output_tokens` of output. That worst case is
what a budget reservation holds.

"Cheaper comparable models" come from a short curated list rather than the whole catalogue: the
catalogue holds thousands of entries (fine-tunes, batch variants, resellers, retired models) and a
price sort over it recommends obscure resold models. The list holds each major provider's small
and mid-size models plus well-known cheap ones; the requested model's own provider comes first
among equals. An alternative is kept when it is known to the catalogue, strictly cheaper, of the
same kind (chat or embedding) and its context window (when known) fits the input plus the output.
Each alternative's input is counted with its own tokenizer or ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tokenoptimizer.pricing.catalogue import canonical_provider, lookup_model
from tokenoptimizer.pricing.cost import PriceOverride, compute_cost
from tokenoptimizer.pricing.usage import NormalisedUsage
from tokenoptimizer.tokens.counting import (
    Method,
    TokenCount,
    chars_per_token,
    count_message_tokens,
    count_text_tokens,
)
from tokenoptimizer.tokens.encodings import encoding_for_model

__all__ = ["CHAT_ALTERNATIVES", "EMBEDDING_ALTERNATIVES", "Estimate", "estimate"]

CHAT_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("openai", "gpt-5-nano"),
    ("openai", "gpt-4.1-nano"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-5-mini"),
    ("openai", "gpt-4.1-mini"),
    ("openai", "o4-mini"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-flash-lite"),
    ("google", "gemini-2.0-flash"),
    ("google", "gemini-2.5-flash"),
    ("mistral", "ministral-8b-latest"),
    ("mistral", "mistral-small-latest"),
    ("deepseek", "deepseek-chat"),
    ("groq", "llama-3.1-8b-instant"),
    ("groq", "llama-3.3-70b-versatile"),
    ("xai", "grok-3-mini"),
)
"""Candidate cheaper chat models, `(provider, model)`."""

EMBEDDING_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("openai", "text-embedding-3-small"),
    ("bedrock", "amazon.titan-embed-text-v2:0"),
    ("mistral", "mistral-embed"),
    ("google", "gemini-embedding-001"),
)
"""Candidate cheaper embedding models, `(provider, model)`."""

_MAX_ALTERNATIVES = 5


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimated cost of one call.

    Attributes:
        model: Model name as requested (or the alternative's catalogue name).
        provider: Provider name (ours), when given or known from the catalogue.
        input_tokens: Counted input tokens, chat framing included.
        method: `exact` or `approximate` (see `TokenCount`).
        encoding: tiktoken encoding used for exact counts.
        input_cost_usd: Cost of the input, priced uncached.
        max_output_tokens: The output bound the worst case assumes, if given.
        worst_case_cost_usd: Input plus `max_output_tokens` of output; None without `max_output_tokens`.
        price_source: As in `CostBreakdown` (`unknown` for models the catalogue does not know).
        alternatives: Cheaper comparable models, cheapest first (empty for alternatives themselves).
    """

    model: str
    provider: str | None
    input_tokens: int
    method: Method
    encoding: str | None
    input_cost_usd: float
    max_output_tokens: int | None
    worst_case_cost_usd: float | None
    price_source: str
    alternatives: tuple[Estimate, ...] = ()


def _count(
    model: str, provider: str | None, messages: Sequence[Mapping[str, Any]] | None, prompt: str | None
) -> TokenCount:
    if messages is not None:
        return count_message_tokens(messages, model, provider)
    return count_text_tokens(prompt or "", model, provider)


def _priced(
    count: TokenCount,
    *,
    model: str,
    provider: str | None,
    max_output_tokens: int | None,
    ts: datetime,
    overrides: Sequence[PriceOverride],
) -> Estimate:
    input_cost = compute_cost(
        NormalisedUsage(input_tokens=count.tokens), provider=provider, model=model, ts=ts, overrides=overrides
    )
    worst: float | None = None
    if max_output_tokens is not None:
        worst = compute_cost(
            NormalisedUsage(input_tokens=count.tokens, output_tokens=max_output_tokens),
            provider=provider,
            model=model,
            ts=ts,
            overrides=overrides,
        ).total_usd
    return Estimate(
        model=model,
        provider=provider,
        input_tokens=count.tokens,
        method=count.method,
        encoding=count.encoding,
        input_cost_usd=input_cost.total_usd,
        max_output_tokens=max_output_tokens,
        worst_case_cost_usd=worst,
        price_source=input_cost.price_source,
    )


def estimate(
    *,
    model: str,
    provider: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    prompt: str | None = None,
    max_output_tokens: int | None = None,
    ts: datetime | None = None,
    overrides: Sequence[PriceOverride] = (),
) -> Estimate:
    """Estimate a call's cost and list cheaper comparable models.

    Args:
        model: Model name.
        provider: Provider name; None lets the catalogue infer it from the model.
        messages: Chat messages (OpenAI shape). Give either `messages` or `prompt`.
        prompt: Plain text prompt.
        max_output_tokens: Output bound for the worst case.
        ts: Pricing time (default: now).
        overrides: The organisation's price overrides.

    Returns:
        The estimate with `alternatives`.

    Raises:
        ValueError: Both or neither of `messages` and `prompt`, or a negative `max_output_tokens`.
    """
    if (messages is None) == (prompt is None):
        raise ValueError("give exactly one of messages or prompt")
    if max_output_tokens is not None and (type(max_output_tokens) is not int or max_output_tokens < 0):
        raise ValueError(f"max_output_tokens must be a non-negative integer, got {max_output_tokens!r}")
    ts = ts or datetime.now(UTC)
    provider_name = canonical_provider(provider) if provider else None
    catalogue = lookup_model(provider_name, model)
    if provider_name is None and catalogue is not None:
        provider_name = canonical_provider(_public(catalogue.provider_id))
    count = _count(model, provider_name, messages, prompt)
    requested = _priced(
        count,
        model=model,
        provider=provider_name,
        max_output_tokens=max_output_tokens,
        ts=ts,
        overrides=overrides,
    )
    if requested.price_source == "unknown":
        return requested
    counts: dict[tuple[str | None, float | None], TokenCount] = {}
    candidates = EMBEDDING_ALTERNATIVES if "embed" in model.lower() else CHAT_ALTERNATIVES
    alternatives: list[tuple[float, bool, Estimate]] = []
    requested_cost = _sort_cost(requested)
    requested_ref = catalogue.model_id if catalogue else None
    for alt_provider, alt_model in candidates:
        alt = lookup_model(alt_provider, alt_model)
        if alt is None or (alt.model_id == requested_ref and alt_provider == provider_name):
            continue
        alt_count = _count_for(counts, alt_model, alt_provider, messages, prompt)
        if alt.context_window and alt_count.tokens + (max_output_tokens or 0) > alt.context_window:
            continue
        priced = _priced(
            alt_count,
            model=alt_model,
            provider=alt_provider,
            max_output_tokens=max_output_tokens,
            ts=ts,
            overrides=overrides,
        )
        cost = _sort_cost(priced)
        if cost < requested_cost:
            alternatives.append((cost, alt_provider != provider_name, priced))
    alternatives.sort(key=lambda item: item[:2])
    chosen = alternatives[:_MAX_ALTERNATIVES]
    # Switching provider is a bigger change than switching size: always show the cheapest
    # same-provider option when there is one.
    same_provider = next((item for item in alternatives if not item[1]), None)
    if same_provider is not None and same_provider not in chosen:
        chosen = sorted([*chosen[: _MAX_ALTERNATIVES - 1], same_provider], key=lambda item: item[:2])
    return _with_alternatives(requested, tuple(item[2] for item in chosen))


def _public(catalogue_provider: str) -> str:
    return {"aws": "bedrock", "x-ai": "xai"}.get(catalogue_provider, catalogue_provider)


def _sort_cost(estimate: Estimate) -> float:
    return (
        estimate.worst_case_cost_usd if estimate.worst_case_cost_usd is not None else estimate.input_cost_usd
    )


def _count_for(
    counts: dict[tuple[str | None, float | None], TokenCount],
    model: str,
    provider: str,
    messages: Sequence[Mapping[str, Any]] | None,
    prompt: str | None,
) -> TokenCount:
    """Count once per tokenizer: alternatives sharing an encoding or ratio share the count."""
    encoding = encoding_for_model(model)
    key = (encoding, None if encoding else chars_per_token(provider))
    found = counts.get(key)
    if found is None:
        found = counts[key] = _count(model, provider, messages, prompt)
    return found


def _with_alternatives(estimate: Estimate, alternatives: tuple[Estimate, ...]) -> Estimate:
    return Estimate(
        model=estimate.model,
        provider=estimate.provider,
        input_tokens=estimate.input_tokens,
        method=estimate.method,
        encoding=estimate.encoding,
        input_cost_usd=estimate.input_cost_usd,
        max_output_tokens=estimate.max_output_tokens,
        worst_case_cost_usd=estimate.worst_case_cost_usd,
        price_source=estimate.price_source,
        alternatives=alternatives,
    )
