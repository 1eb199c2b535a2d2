"""Token counts before a call: exact for OpenAI-family models, a documented ratio for the rest.

OpenAI-family models (GPT-4o/4.1/5, o-series, gpt-oss, GPT-4/3.5, text-embedding-3) are counted
exactly with tiktoken's `o200k_base` / `cl100k_base`, loaded offline (see `encodings`). Chat
messages add OpenAI's framing as in its cookbook (`How to count tokens with tiktoken`): 3 tokens
per message, 1 more when a message has a `name`, and 3 to prime the reply. Framing of newer models
can differ by a token or two per message; the body text is exact.

Other providers publish no offline tokenizer, so we estimate from characters with a per-provider
ratio and say so (`method == "approximate"`). The ratios are English-text rules of thumb:

| provider | chars per token | basis |
|---|---|---|
| google | 4.0 | Gemini docs: "a token is equivalent to about 4 characters" |
| anthropic | 3.5 | Claude's tokenizer yields more tokens than OpenAI's for the same English text |
| mistral | 3.5 | Tekken/SentencePiece vocabularies, similar to Claude's density |
| default | 4.0 | OpenAI's "1 token ~ 4 characters of English" rule of thumb |

Ratios undercount code and non-Latin scripts (CJK is close to one token per character); the
estimate is for budgeting and comparison, and billing always uses the provider's reported usage.
Message content that is not text (images, audio, tool calls as objects) cannot be counted
exactly: tool calls are counted as their JSON, media are skipped, and the count becomes approximate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tokenoptimizer.pricing.catalogue import canonical_provider
from tokenoptimizer.tokens.encodings import encoding_for_model, get_encoding

__all__ = [
    "CHARS_PER_TOKEN",
    "TokenCount",
    "chars_per_token",
    "count_message_tokens",
    "count_text_tokens",
]

Method = Literal["exact", "approximate"]

CHARS_PER_TOKEN: dict[str, float] = {"google": 4.0, "anthropic": 3.5, "mistral": 3.5}
_DEFAULT_CHARS_PER_TOKEN = 4.0
# OpenAI cookbook framing.
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_NAME = 1
_REPLY_PRIMING = 3


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count and how it was obtained.

    Attributes:
        tokens: Number of tokens.
        method: `exact` (the model's own tokenizer) or `approximate` (a chars-per-token ratio).
        encoding: The tiktoken encoding used, or None for approximations.
    """

    tokens: int
    method: Method
    encoding: str | None


def chars_per_token(provider: str | None) -> float:
    """The chars-per-token ratio used to approximate `provider`'s token counts."""
    if not provider:
        return _DEFAULT_CHARS_PER_TOKEN
    return CHARS_PER_TOKEN.get(canonical_provider(provider), _DEFAULT_CHARS_PER_TOKEN)


class _Counter:
    """Counts text for one model, exactly or by ratio."""

    __slots__ = ("encoding", "ratio")

    def __init__(self, model: str, provider: str | None) -> None:
        self.encoding = encoding_for_model(model)
        self.ratio = chars_per_token(provider)

    def count(self, text: str) -> int:
        if self.encoding is not None:
            # encode_ordinary: special-token strings in user text are text, as the API treats them.
            return len(get_encoding(self.encoding).encode_ordinary(text))
        return math.ceil(len(text) / self.ratio) if text else 0

    @property
    def method(self) -> Method:
        return "exact" if self.encoding is not None else "approximate"


def count_text_tokens(text: str, model: str, provider: str | None = None) -> TokenCount:
    """Count the tokens of a plain text prompt.

    Args:
        text: The text.
        model: Model name; decides the tokenizer.
        provider: Provider name; decides the ratio when the model has no offline tokenizer.

    Returns:
        The count, with `method` and `encoding`.
    """
    counter = _Counter(model, provider)
    return TokenCount(counter.count(text), counter.method, counter.encoding)


def count_message_tokens(
    messages: Sequence[Mapping[str, Any]], model: str, provider: str | None = None
) -> TokenCount:
    """Count the tokens of chat messages, framing included.

    Args:
        messages: OpenAI-style messages (`role`, `content` as text or a list of parts, optional `name`,
            `tool_calls`, ...).
        model: Model name; decides the tokenizer.
        provider: Provider name; decides the ratio when the model has no offline tokenizer.

    Returns:
        The count; `approximate` when the model has no offline tokenizer or some content is not text.
    """
    counter = _Counter(model, provider)
    exact = counter.encoding is not None
    total = _REPLY_PRIMING
    for message in messages:
        total += _TOKENS_PER_MESSAGE
        for key, value in message.items():
            if value is None:
                continue
            if isinstance(value, str):
                total += counter.count(value)
            elif key == "content" and isinstance(value, list):
                texts, countable = _content_texts(value)
                total += sum(counter.count(text) for text in texts)
                exact = exact and countable
            else:
                total += counter.count(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
                exact = False
            if key == "name":
                total += _TOKENS_PER_NAME
    return TokenCount(total, "exact" if exact else "approximate", counter.encoding)


def _content_texts(parts: list[Any]) -> tuple[list[str], bool]:
    """The text parts of a multi-part content list, and whether every part was text."""
    texts: list[str] = []
    all_text = True
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif (
            isinstance(part, Mapping)
            and part.get("type") in ("text", "input_text")
            and isinstance(part.get("text"), str)
        ):
            texts.append(part["text"])
        else:
            all_text = False
    return texts, all_text
