"""The fast decoder (msgspec) and the documented model (pydantic) accept and refuse the same events."""

from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tokenoptimizer.usage.schemas import EventIn
from tokenoptimizer.usage.wire import WireEvent, event_decoder, to_wire

texts = st.one_of(st.just(""), st.text(max_size=5), st.text(min_size=199, max_size=202), st.none())
ints = st.one_of(st.integers(-2, 3), st.integers(10**9 - 1, 10**9 + 1), st.none(), st.just("7"), st.just(1.5))
floats = st.one_of(st.floats(-1, 10, allow_nan=False), st.just(86_400_001.0), st.none())
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "provider": st.one_of(st.just("OpenAI"), texts.filter(lambda t: t is None or len(t) < 70)),
    "model": texts,
    "event_id": st.one_of(st.uuids().map(str), st.just("not-a-uuid"), st.none()),
    "ts": st.one_of(
        st.just("2026-01-01T00:00:00Z"), st.just("2026-01-01T00:00:00"), st.just("yesterday"), st.none()
    ),
    "request_type": st.sampled_from(["chat", "embedding", "video", None]),
    "api": st.one_of(st.just("messages"), st.none()),
    "raw_usage": st.one_of(st.none(), st.just({"input_tokens": 1}), st.just([1])),
    "input_tokens": ints,
    "output_tokens": ints,
    "cache_read_tokens": ints,
    "latency_ms": floats,
    "status": st.sampled_from(["ok", "error", "fine", None]),
    "user": texts,
    "feature": texts,
    "tags": st.one_of(
        st.dictionaries(st.text(min_size=0, max_size=3), st.text(max_size=3), max_size=3),
        st.just({f"k{i}": "v" for i in range(51)}),
        st.just({"k": 1}),
    ),
    "reported_cost_usd": floats,
    "colour": st.just("blue"),
}


@st.composite
def event_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = {"provider": "openai", "model": "gpt-4o"}
    for name in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=4, unique=True)):
        body[name] = draw(VALUES[name])
    return body


def accepted_by_pydantic(body: dict[str, Any]) -> bool:
    try:
        EventIn.model_validate_json(orjson.dumps(body))
    except ValidationError:
        return False
    return True


def accepted_by_msgspec(body: dict[str, Any]) -> bool:
    """Both ways the server decodes: from bytes, and from parsed JSON."""
    try:
        event_decoder.decode(orjson.dumps(body))
        from_bytes = True
    except msgspec.ValidationError:
        from_bytes = False
    try:
        to_wire(body)
        converted = True
    except msgspec.ValidationError:
        converted = False
    assert from_bytes == converted, body
    return from_bytes


@settings(max_examples=600, deadline=None)
@given(event_bodies())
def test_both_decoders_agree(body: dict[str, Any]) -> None:
    assert accepted_by_pydantic(body) == accepted_by_msgspec(body), body


def test_field_sets_are_the_same() -> None:
    assert set(EventIn.model_fields) == set(WireEvent.__struct_fields__)


@pytest.mark.parametrize("name", sorted(EventIn.model_fields))
def test_defaults_are_the_same(name: str) -> None:
    wire = to_wire({"provider": "openai", "model": "m"})
    model = EventIn.model_validate_json('{"provider": "openai", "model": "m"}')
    expected = getattr(model, name)
    assert getattr(wire, name) == expected or (name == "provider" and wire.provider.lower() == expected)
