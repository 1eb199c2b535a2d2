"""Token counting and pre-call cost estimation: pure functions, offline (no tokenizer downloads).

See `counting` for how tokens are counted and `estimate` for how alternatives are chosen.
"""

from tokenoptimizer.tokens.counting import (
    CHARS_PER_TOKEN,
    TokenCount,
    chars_per_token,
    count_message_tokens,
    count_text_tokens,
)
from tokenoptimizer.tokens.encodings import ENCODINGS, encoding_for_model, get_encoding
from tokenoptimizer.tokens.estimate import Estimate, estimate

__all__ = [
    "CHARS_PER_TOKEN",
    "ENCODINGS",
    "Estimate",
    "TokenCount",
    "chars_per_token",
    "count_message_tokens",
    "count_text_tokens",
    "encoding_for_model",
    "estimate",
    "get_encoding",
]
