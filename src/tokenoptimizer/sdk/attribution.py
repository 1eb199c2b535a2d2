"""Who and what a call is for: `tokenoptimizer.context(feature=..., user=..., tags=...)`.

The attribution lives in a `contextvars.ContextVar`, so it follows the code that runs inside the
block, asyncio tasks created there included (each task starts with a copy of its creator's
context), and never leaks between concurrent requests of a web server. Threads started inside do
*not* inherit it (Python's rule); run them with `contextvars.copy_context().run(...)`.

Blocks nest: an inner block overrides the outer one's fields and adds to its tags. The same object
works as a decorator of sync and async functions, setting the attribution for each call.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Attribution:
    """The fields a `context` block sets; None means "not set here"."""

    feature: str | None = None
    user: str | None = None
    end_user: str | None = None
    team: str | None = None
    trace_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def merged(self, inner: Attribution) -> Attribution:
        """This attribution with `inner`'s fields on top (tags are merged)."""
        return Attribution(
            feature=inner.feature if inner.feature is not None else self.feature,
            user=inner.user if inner.user is not None else self.user,
            end_user=inner.end_user if inner.end_user is not None else self.end_user,
            team=inner.team if inner.team is not None else self.team,
            trace_id=inner.trace_id if inner.trace_id is not None else self.trace_id,
            tags={**self.tags, **inner.tags} if inner.tags else self.tags,
        )


EMPTY = Attribution()
attribution_var: contextvars.ContextVar[Attribution] = contextvars.ContextVar("tokenoptimizer_attribution")
"""The attribution in force; `attribution_var.get(EMPTY)` reads it (the recording hot path does)."""


def current() -> Attribution:
    """The attribution in force here (empty outside any block)."""
    return attribution_var.get(EMPTY)


class context:  # noqa: N801 - used like `contextlib.suppress`: a lowercase context manager
    """Attribute the LLM calls made inside a block (or a decorated function) to a feature, user, ….

    Example::

        with tokenoptimizer.context(feature="search", user="u1", tags={"plan": "pro"}):
            client.chat.completions.create(...)

        @tokenoptimizer.context(feature="summarise")
        async def summarise(text: str) -> str: ...

    Args:
        feature: The product feature the calls serve.
        user: Your user (an id; avoid e-mail addresses).
        end_user: Your customer's user, when you serve other businesses.
        team: The team that owns the calls.
        trace_id: Correlates the calls of one request or agent run.
        tags: Free key/value labels (values become strings).
    """

    __slots__ = ("_attribution", "_tokens")

    def __init__(
        self,
        *,
        feature: str | None = None,
        user: str | None = None,
        end_user: str | None = None,
        team: str | None = None,
        trace_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        self._attribution = Attribution(
            feature=feature,
            user=user,
            end_user=end_user,
            team=team,
            trace_id=trace_id,
            tags={str(k): str(v) for k, v in tags.items()} if tags else {},
        )
        self._tokens: list[contextvars.Token[Attribution]] = []

    def __enter__(self) -> Attribution:
        merged = current().merged(self._attribution)
        self._tokens.append(attribution_var.set(merged))
        return merged

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        attribution_var.reset(self._tokens.pop())

    async def __aenter__(self) -> Attribution:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """Use as a decorator: each call of `func` runs inside this attribution."""
        attribution = self._attribution
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = attribution_var.set(current().merged(attribution))
                try:
                    return await func(*args, **kwargs)
                finally:
                    attribution_var.reset(token)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = attribution_var.set(current().merged(attribution))
            try:
                return func(*args, **kwargs)
            finally:
                attribution_var.reset(token)

        return cast(F, wrapper)
