"""Testing helpers for users of the SDK: capture recorded events in memory, assert on them.

Use the pytest fixture (enable it once with ``pytest_plugins = ["tokenoptimizer.testing"]`` in
your top-level ``conftest.py``)::

    def test_search_is_attributed(tokenoptimizer_events):
        search("red shoes")  # your code, calling a wrapped client or tokenoptimizer.track()
        [event] = tokenoptimizer_events.events
        assert event["feature"] == "search"
        assert tokenoptimizer_events.usage(event).output_tokens > 0

or the context manager anywhere else::

    with tokenoptimizer.testing.capture_events() as captured:
        ...

While capturing, nothing is sent to a server: each event is stored as the JSON object the SDK
would send (`event_id`, `provider`, `model`, `feature`, `tags`, `raw_usage` or token counts, …),
at once, so tests need no flush. The budget guard is off while capturing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tokenoptimizer.sdk import runtime
from tokenoptimizer.sdk.config import SdkConfig
from tokenoptimizer.sdk.events import Pending, to_wire

if TYPE_CHECKING:
    from tokenoptimizer.pricing import NormalisedUsage

__all__ = ["CapturedEvents", "capture_events", "tokenoptimizer_events"]


class CapturedEvents:
    """The events recorded while capturing, in the order they were recorded."""

    def __init__(self, config: SdkConfig) -> None:
        self.config = config
        self.events: list[dict[str, Any]] = []

    def _record(self, pending: Pending) -> None:
        self.events.append(to_wire(pending, self.config))

    def clear(self) -> None:
        """Forget the events captured so far."""
        self.events.clear()

    def find(self, **fields: Any) -> list[dict[str, Any]]:
        """The events whose fields equal the given values, e.g. `find(feature="search")`."""
        return [event for event in self.events if all(event.get(k) == v for k, v in fields.items())]

    def usage(self, event: Mapping[str, Any]) -> NormalisedUsage:
        """An event's token counts, normalised as the server would (raw provider usage included)."""
        from tokenoptimizer.pricing import NormalisedUsage, normalise_usage

        if event.get("raw_usage") is not None and event.get("api"):
            return normalise_usage(str(event["provider"]), str(event["api"]), event["raw_usage"])
        return NormalisedUsage(
            input_tokens=event.get("input_tokens", 0),
            output_tokens=event.get("output_tokens", 0),
            cache_read_tokens=event.get("cache_read_tokens", 0),
            cache_write_tokens=event.get("cache_write_tokens", 0),
            reasoning_tokens=event.get("reasoning_tokens", 0),
        )


@contextmanager
def capture_events(
    *, default_feature: str | None = None, default_tags: Mapping[str, str] | None = None
) -> Iterator[CapturedEvents]:
    """Capture the events recorded inside the block instead of sending them.

    Args:
        default_feature: As `configure(default_feature=...)`, for code that relies on it.
        default_tags: As `configure(default_tags=...)`.

    Yields:
        The captured events.
    """
    config = SdkConfig(default_feature=default_feature, default_tags=dict(default_tags or {}))
    captured = CapturedEvents(config)
    previous = runtime.swap(runtime.Runtime(config, sink=captured._record))
    try:
        yield captured
    finally:
        runtime.swap(previous)


@pytest.fixture
def tokenoptimizer_events() -> Iterator[CapturedEvents]:
    """Capture the TokenOptimizer events recorded during the test (nothing is sent)."""
    with capture_events() as captured:
        yield captured
