"""The stream watcher on real providers' SSE bytes, split at awkward places."""

from __future__ import annotations

import orjson
import pytest

from tokenoptimizer.gateway.config import OrgGateway, RateLimits, Rule, UpstreamTarget
from tokenoptimizer.gateway.errors import GatewayError
from tokenoptimizer.gateway.estimate import model_max_output, output_limit
from tokenoptimizer.gateway.streaming import StreamWatcher


def _sse(payload: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(payload) + b"\n\n"


CHAT = [
    _sse(
        {
            "id": "c1",
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
            "usage": None,
        }
    ),
    _sse(
        {
            "id": "c1",
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "delta": {"content": "Hi"}}],
            "usage": None,
        }
    ),
    _sse(
        {
            "id": "c1",
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": None,
        }
    ),
    _sse(
        {
            "id": "c1",
            "model": "gpt-4o-2024-08-06",
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
    ),
    b"data: [DONE]\n\n",
]


def _feed_bytewise(watcher: StreamWatcher, stream: bytes) -> bytes:
    out = b"".join(watcher.feed(stream[i : i + 7]) for i in range(0, len(stream), 7))
    return out + watcher.flush()


def test_openai_usage_chunk_is_read_and_removed_across_odd_chunk_boundaries() -> None:
    watcher = StreamWatcher("chat", strip_usage_chunk=True)
    out = _feed_bytewise(watcher, b"".join(CHAT))
    assert watcher.usage == {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    assert watcher.model == "gpt-4o-2024-08-06"
    assert watcher.first_token and watcher.finished
    assert b'"choices":[]' not in out
    assert out.count(b"data: ") == 4 and out.endswith(b"data: [DONE]\n\n")


def test_usage_chunk_kept_when_the_caller_asked_and_crlf_streams_work() -> None:
    stream = b"".join(CHAT).replace(b"\n", b"\r\n")
    watcher = StreamWatcher("chat")
    assert _feed_bytewise(watcher, stream) == stream
    assert watcher.usage is not None and watcher.usage["prompt_tokens"] == 5


def test_the_first_token_is_the_first_content_not_the_role_chunk() -> None:
    watcher = StreamWatcher("chat")
    watcher.feed(CHAT[0])
    assert not watcher.first_token
    watcher.feed(CHAT[1])
    assert watcher.first_token


def test_anthropic_usage_merges_message_start_and_message_delta() -> None:
    events = [
        _sse(
            {
                "type": "message_start",
                "message": {
                    "model": "claude-haiku-4-5",
                    "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "output_tokens": 1},
                },
            },
            "message_start",
        ),
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
            "content_block_delta",
        ),
        _sse(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 12}},
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    watcher = StreamWatcher("messages")
    _feed_bytewise(watcher, b"".join(events))
    assert watcher.usage == {"input_tokens": 20, "cache_read_input_tokens": 100, "output_tokens": 12}
    assert watcher.model == "claude-haiku-4-5"
    assert watcher.finished and watcher.first_token
    assert watcher.delivered_text() == "Hello"


def test_a_cut_stream_keeps_the_delivered_text() -> None:
    watcher = StreamWatcher("chat", strip_usage_chunk=True)
    out = watcher.feed(CHAT[0] + CHAT[1] + CHAT[2][:20])
    assert out == CHAT[0] + CHAT[1]  # the incomplete event waits for its end
    assert watcher.usage is None and not watcher.finished
    assert watcher.delivered_text() == "Hi"


def test_responses_usage_from_response_completed() -> None:
    events = [
        _sse(
            {"type": "response.created", "response": {"model": "gpt-4.1", "usage": None}}, "response.created"
        ),
        _sse({"type": "response.output_text.delta", "delta": "Yo"}, "response.output_text.delta"),
        _sse(
            {
                "type": "response.completed",
                "response": {"model": "gpt-4.1", "usage": {"input_tokens": 3, "output_tokens": 1}},
            },
            "response.completed",
        ),
    ]
    watcher = StreamWatcher("responses")
    _feed_bytewise(watcher, b"".join(events))
    assert watcher.usage == {"input_tokens": 3, "output_tokens": 1}
    assert watcher.model == "gpt-4.1" and watcher.first_token and watcher.finished


def test_output_limits_for_reservations() -> None:
    assert output_limit("chat", {"max_tokens": 100}, "gpt-4o") == 100
    assert output_limit("chat", {"max_completion_tokens": 10**6}, "gpt-4o") == 16_384
    assert output_limit("chat", {"max_tokens": 100, "n": 3}, "gpt-4o") == 300
    assert output_limit("chat", {}, "gpt-4o-mini") == 16_384
    assert output_limit("responses", {"max_output_tokens": 7}, "gpt-5") == 7
    assert output_limit("embeddings", {}, "text-embedding-3-small") == 0
    assert model_max_output("claude-opus-4-5-20251101") == 64_000
    assert model_max_output("some-local-model") == 16_384


def _upstream(
    name: str, api: str = "openai", models: tuple[str, ...] = (), project: str | None = None
) -> UpstreamTarget:
    return UpstreamTarget(name, name, api, "openai", f"http://{name}/v1", "k", "bearer", models, project)  # type: ignore[arg-type]


def test_routing_prefers_rules_then_project_upstreams_then_the_server_default() -> None:
    config = OrgGateway(
        upstreams=(
            _upstream("org-wide", models=("gpt-4o*",)),
            _upstream("proj", project="p1"),
            _upstream("claude", "anthropic"),
        ),
        rules=(
            Rule("r1", "gpt-4o", "gpt-4o-mini", None, None, None, None, "cheap"),
            Rule("r2", "claude-*", None, "claude", None, None, None, None),
        ),
        limits=RateLimits(),
        allow_key_passthrough=False,
        defaults={"openai": _upstream("default"), "anthropic": _upstream("default-a", "anthropic")},
    )
    assert config.route("openai", "p1", None, "gpt-4o").upstream.name == "proj"
    assert config.route("openai", "p2", None, "gpt-4o").upstream.name == "org-wide"
    routed = config.route("openai", "p2", "cheap", "gpt-4o")
    assert (routed.model, routed.rule_id) == ("gpt-4o-mini", "r1")
    with pytest.raises(GatewayError, match="not allowed"):
        config.route("openai", "p2", None, "o3")
    # A rule whose upstream speaks the other API does not apply.
    assert config.route("openai", "p1", None, "claude-x").rule_id is None
    assert config.route("anthropic", "p1", None, "claude-x").upstream.name == "claude"
