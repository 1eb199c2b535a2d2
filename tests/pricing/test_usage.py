"""Normalisation of raw usage bodies, shaped as in each provider's API reference."""

import pytest

from tokenoptimizer.pricing import (
    APIS,
    PROVIDERS,
    NormalisedUsage,
    UnsupportedUsageFormat,
    normalise_usage,
)

# OpenAI Chat Completions, a cached call (API reference `usage` shape).
OPENAI_CHAT_CACHED = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
}

# OpenAI Responses API with a reasoning model.
OPENAI_RESPONSES_REASONING = {
    "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
    "object": "response",
    "model": "o3-2025-04-16",
    "usage": {
        "input_tokens": 75,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1186,
        "output_tokens_details": {"reasoning_tokens": 1024},
        "total_tokens": 1261,
    },
}

OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292], "index": 0}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}

OPENAI_COMPLETIONS = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "model": "gpt-3.5-turbo-instruct",
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}

# Anthropic Messages with 5-minute and 1-hour cache writes and a cache read.
ANTHROPIC_CACHED = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "model": "claude-sonnet-4-5-20250929",
    "usage": {
        "input_tokens": 21,
        "cache_creation_input_tokens": 3000,
        "cache_read_input_tokens": 8000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        "output_tokens": 393,
        "service_tier": "standard",
    },
}

# Gemini generateContent `usageMetadata` with thinking and implicit caching.
GEMINI_THINKING = {
    "candidates": [{"content": {"parts": [{"text": "..."}], "role": "model"}, "finishReason": "STOP"}],
    "usageMetadata": {
        "promptTokenCount": 12000,
        "candidatesTokenCount": 800,
        "totalTokenCount": 14000,
        "cachedContentTokenCount": 4000,
        "thoughtsTokenCount": 1200,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12000}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 4000}],
    },
    "modelVersion": "gemini-2.5-pro",
}

# Bedrock Converse (TokenUsage with cacheDetails).
BEDROCK_CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}]}},
    "stopReason": "end_turn",
    "usage": {
        "inputTokens": 100,
        "outputTokens": 50,
        "totalTokens": 1650,
        "cacheReadInputTokens": 1000,
        "cacheWriteInputTokens": 500,
        "cacheDetails": [{"ttl": "1h", "inputTokens": 200}, {"ttl": "5m", "inputTokens": 300}],
    },
    "metrics": {"latencyMs": 840},
}

MISTRAL_CHAT = {
    "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
    "object": "chat.completion",
    "model": "mistral-small-latest",
    "usage": {"prompt_tokens": 16, "completion_tokens": 34, "total_tokens": 50},
}

# Groq adds timing floats beside the OpenAI fields; they must be ignored.
GROQ_CHAT = {
    "id": "chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22",
    "object": "chat.completion",
    "model": "llama-3.3-70b-versatile",
    "usage": {
        "queue_time": 0.037493756,
        "prompt_tokens": 18,
        "prompt_time": 0.000680594,
        "completion_tokens": 556,
        "completion_time": 0.463333333,
        "total_tokens": 574,
        "total_time": 0.464013927,
    },
    "x_groq": {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w"},
}

TOGETHER_CHAT = {
    "id": "8448080b880415ea-SJC",
    "object": "chat.completion",
    "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
}

FIREWORKS_CHAT = {
    "id": "0b3ab4de-4ff3-4cb4-b0ce-7f1a5d8b5f59",
    "object": "chat.completion",
    "model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
    "usage": {"prompt_tokens": 2000, "completion_tokens": 500, "total_tokens": 2500},
}

# OpenRouter reports its own cost.
OPENROUTER_CHAT = {
    "id": "gen-1741234567-abc",
    "model": "anthropic/claude-sonnet-4",
    "usage": {
        "prompt_tokens": 10000,
        "completion_tokens": 500,
        "total_tokens": 10500,
        "cost": 0.0195,
        "prompt_tokens_details": {"cached_tokens": 5000},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}

# DeepSeek reports cache hits/misses beside prompt_tokens.
DEEPSEEK_CHAT = {
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
    "model": "deepseek-chat",
    "usage": {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "total_tokens": 1200,
        "prompt_cache_hit_tokens": 600,
        "prompt_cache_miss_tokens": 400,
    },
}

# xAI chat: completion_tokens excludes reasoning (total = prompt + completion + reasoning).
XAI_CHAT = {
    "id": "a3d1008e-4544-40d4-d075-11527e794e4a",
    "model": "grok-3-mini",
    "usage": {
        "prompt_tokens": 32,
        "completion_tokens": 9,
        "total_tokens": 135,
        "prompt_tokens_details": {
            "text_tokens": 32,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 6,
        },
        "completion_tokens_details": {"reasoning_tokens": 94, "audio_tokens": 0},
    },
}


def test_openai_chat_cached() -> None:
    assert normalise_usage("openai", "chat", OPENAI_CHAT_CACHED) == NormalisedUsage(
        input_tokens=2006, output_tokens=300, cache_read_tokens=1920
    )


def test_openai_responses_reasoning() -> None:
    assert normalise_usage("openai", "responses", OPENAI_RESPONSES_REASONING) == NormalisedUsage(
        input_tokens=75, output_tokens=1186, reasoning_tokens=1024
    )


def test_openai_embeddings_and_completions() -> None:
    assert normalise_usage("openai", "embeddings", OPENAI_EMBEDDINGS) == NormalisedUsage(input_tokens=8)
    assert normalise_usage("azure", "completions", OPENAI_COMPLETIONS) == NormalisedUsage(
        input_tokens=5, output_tokens=7
    )


def test_anthropic_adds_cache_tokens_to_input() -> None:
    assert normalise_usage("anthropic", "messages", ANTHROPIC_CACHED) == NormalisedUsage(
        input_tokens=21 + 3000 + 8000,
        output_tokens=393,
        cache_read_tokens=8000,
        cache_write_tokens=3000,
        cache_write_1h_tokens=2000,
    )


def test_anthropic_without_ttl_breakdown() -> None:
    raw = {"input_tokens": 10, "cache_creation_input_tokens": 50, "output_tokens": 5}
    assert normalise_usage("anthropic", "messages", raw) == NormalisedUsage(
        input_tokens=60, output_tokens=5, cache_write_tokens=50
    )


def test_gemini_adds_thoughts_to_output() -> None:
    assert normalise_usage("google", "generate_content", GEMINI_THINKING) == NormalisedUsage(
        input_tokens=12000, output_tokens=2000, cache_read_tokens=4000, reasoning_tokens=1200
    )


def test_gemini_snake_case_sdk_shape() -> None:
    raw = {"prompt_token_count": 10, "candidates_token_count": 4, "thoughts_token_count": 6}
    assert normalise_usage("google", "generate_content", raw) == NormalisedUsage(
        input_tokens=10, output_tokens=10, reasoning_tokens=6
    )


def test_bedrock_converse_adds_cache_tokens_and_reads_ttl() -> None:
    assert normalise_usage("bedrock", "converse", BEDROCK_CONVERSE) == NormalisedUsage(
        input_tokens=1600,
        output_tokens=50,
        cache_read_tokens=1000,
        cache_write_tokens=500,
        cache_write_1h_tokens=200,
    )


@pytest.mark.parametrize(
    ("provider", "body", "expected"),
    [
        ("mistral", MISTRAL_CHAT, NormalisedUsage(input_tokens=16, output_tokens=34)),
        ("groq", GROQ_CHAT, NormalisedUsage(input_tokens=18, output_tokens=556)),
        ("together", TOGETHER_CHAT, NormalisedUsage(input_tokens=1000, output_tokens=200)),
        ("fireworks", FIREWORKS_CHAT, NormalisedUsage(input_tokens=2000, output_tokens=500)),
    ],
)
def test_openai_compatible_chat(provider: str, body: dict[str, object], expected: NormalisedUsage) -> None:
    assert normalise_usage(provider, "chat", body) == expected


def test_openrouter_keeps_reported_cost() -> None:
    usage = normalise_usage("openrouter", "chat", OPENROUTER_CHAT)
    assert usage == NormalisedUsage(
        input_tokens=10000, output_tokens=500, cache_read_tokens=5000, reported_cost_usd=0.0195
    )


def test_deepseek_cache_hits() -> None:
    assert normalise_usage("deepseek", "chat", DEEPSEEK_CHAT) == NormalisedUsage(
        input_tokens=1000, output_tokens=200, cache_read_tokens=600
    )


def test_xai_adds_reasoning_to_output() -> None:
    assert normalise_usage("xai", "chat", XAI_CHAT) == NormalisedUsage(
        input_tokens=32, output_tokens=9 + 94, cache_read_tokens=6, reasoning_tokens=94
    )


def test_accepts_usage_object_alone_and_case_insensitive_names() -> None:
    assert normalise_usage("OpenAI", " Chat ", OPENAI_CHAT_CACHED["usage"]) == normalise_usage(  # type: ignore[arg-type]
        "openai", "chat", OPENAI_CHAT_CACHED
    )


def test_unknown_pair_lists_supported() -> None:
    with pytest.raises(UnsupportedUsageFormat) as info:
        normalise_usage("anthropic", "chat", {})
    message = str(info.value)
    assert "anthropic/chat" in message and "anthropic/messages" in message and "openai/responses" in message


def test_required_provider_sets() -> None:
    for name in (
        "openai",
        "azure",
        "anthropic",
        "google",
        "bedrock",
        "mistral",
        "groq",
        "together",
        "fireworks",
        "openrouter",
        "deepseek",
        "xai",
    ):
        assert name in PROVIDERS
    assert {
        "chat",
        "responses",
        "completions",
        "embeddings",
        "messages",
        "generate_content",
        "converse",
    } == APIS


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"prompt_tokens": -1}, "prompt_tokens"),
        ({"prompt_tokens": "12"}, "prompt_tokens"),
        ({"prompt_tokens": 1.5}, "prompt_tokens"),
        ({"prompt_tokens": True}, "prompt_tokens"),
        (
            {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": -3}},
            "prompt_tokens_details.cached_tokens",
        ),
        ({"prompt_tokens": 10, "prompt_tokens_details": [1]}, "prompt_tokens_details"),
        ({"completion_tokens": 3}, "prompt_tokens"),
        ({"prompt_tokens": 10, "cost": -1}, "cost"),
    ],
)
def test_bad_shapes_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        normalise_usage("openai", "chat", raw)


def test_inconsistent_counts_rejected() -> None:
    with pytest.raises(ValueError, match="cached input"):
        normalise_usage(
            "openai", "chat", {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 20}}
        )
    with pytest.raises(ValueError, match="must be an object"):
        normalise_usage("openai", "chat", [1, 2])  # type: ignore[arg-type]


def test_integral_floats_accepted() -> None:
    assert normalise_usage("openai", "chat", {"prompt_tokens": 12.0}).input_tokens == 12


def test_normalised_usage_validates_flat_fields() -> None:
    with pytest.raises(ValueError, match="reasoning_tokens"):
        NormalisedUsage(input_tokens=1, output_tokens=1, reasoning_tokens=2)
    with pytest.raises(ValueError, match="input_tokens must be a non-negative integer"):
        NormalisedUsage(input_tokens=-1)
