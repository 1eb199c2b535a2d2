"""Requests and tokens per minute, per API key, project and user, with the `limits` library.

Requests use a sliding-window counter (no burst at the minute's edge). Tokens use a fixed window
counted like providers do: before a call, it is refused if the estimated input would not fit in
what is left; after it, the tokens it really used are added (an over-limit call is still counted).

Counters live in this process, or in Redis when `TOKENOPTIMIZER_REDIS_URL` is set so that several
server processes share them. The in-process storage is called inline (no I/O); Redis through the
library's async client.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindow
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindow
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

from tokenoptimizer.gateway.config import RateLimits
from tokenoptimizer.gateway.errors import GatewayError

_NAMESPACE = "tko-gateway"


@dataclass(frozen=True, slots=True)
class Subjects:
    """Who a call is counted against."""

    org_id: str
    api_key_id: str | None
    project_id: str
    user: str | None

    def pairs(self, limits: RateLimits, kind: str) -> list[tuple[str, str, int]]:
        """(scope, id, limit) for each limit of `kind` (`rpm` or `tpm`) that applies."""
        out: list[tuple[str, str, int]] = []
        for scope, subject in (("key", self.api_key_id), ("project", self.project_id), ("user", self.user)):
            limit = getattr(limits, f"{kind}_per_{scope}")
            if limit is not None and subject is not None:
                out.append((scope, subject, limit))
        return out


_SCOPE_WORDS = {"key": "API key", "project": "project", "user": "user"}


class RateLimiter:
    """Checks and counts calls against an organisation's limits."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._redis_url = redis_url
        self._memory: MemoryStorage | None = None
        self._requests: SlidingWindowCounterRateLimiter | AsyncSlidingWindow | None = None
        self._tokens: FixedWindowRateLimiter | AsyncFixedWindow | None = None
        self._redis_pool: Any = None

    def _ensure(self) -> None:
        if self._requests is not None:
            return
        if self._redis_url:
            from limits.aio.storage import RedisStorage
            from redis.asyncio import ConnectionPool

            # Our own pool, so that closing the gateway closes its connections.
            self._redis_pool = ConnectionPool.from_url(self._redis_url)
            uri = "async+" + self._redis_url
            storage = RedisStorage(uri, implementation="redispy", connection_pool=self._redis_pool)
            self._requests = AsyncSlidingWindow(storage)
            self._tokens = AsyncFixedWindow(storage)
        else:
            self._memory = MemoryStorage()
            self._requests = SlidingWindowCounterRateLimiter(self._memory)
            self._tokens = FixedWindowRateLimiter(self._memory)

    async def admit(self, limits: RateLimits, subjects: Subjects, input_tokens: int) -> None:
        """Count one request, or raise a 429 `GatewayError` naming the limit and when to retry."""
        self._ensure()
        for scope, subject, limit in subjects.pairs(limits, "tpm"):
            item = RateLimitItemPerMinute(limit)
            ids = (_NAMESPACE, "tpm", subjects.org_id, scope, subject)
            if not await self._call(self._tokens, "test", item, ids, min(input_tokens, limit)):
                raise await self._refusal("tokens", scope, limit, self._tokens, item, ids)
        requests = subjects.pairs(limits, "rpm")
        for scope, subject, limit in requests:
            item = RateLimitItemPerMinute(limit)
            ids = (_NAMESPACE, "rpm", subjects.org_id, scope, subject)
            if not await self._call(self._requests, "test", item, ids, 1):
                raise await self._refusal("requests", scope, limit, self._requests, item, ids)
        for scope, subject, limit in requests:
            item = RateLimitItemPerMinute(limit)
            await self._call(
                self._requests, "hit", item, (_NAMESPACE, "rpm", subjects.org_id, scope, subject), 1
            )

    async def count_tokens(self, limits: RateLimits, subjects: Subjects, tokens: int) -> None:
        """Add the tokens a call used to the per-minute token counters."""
        if tokens <= 0:
            return
        self._ensure()
        for scope, subject, limit in subjects.pairs(limits, "tpm"):
            item = RateLimitItemPerMinute(limit)
            await self._call(
                self._tokens, "hit", item, (_NAMESPACE, "tpm", subjects.org_id, scope, subject), tokens
            )

    @staticmethod
    async def _call(
        limiter: object, method: str, item: RateLimitItem, ids: tuple[str, ...], cost: int
    ) -> bool:
        result = getattr(limiter, method)(item, *ids, cost=cost)
        if not isinstance(result, bool):
            result = await result
        return bool(result)

    @staticmethod
    async def _refusal(
        kind: str, scope: str, limit: int, limiter: object, item: RateLimitItem, ids: tuple[str, ...]
    ) -> GatewayError:
        stats = limiter.get_window_stats(item, *ids)  # type: ignore[attr-defined]
        if not isinstance(stats, tuple):
            stats = await stats
        retry_after = max(1, math.ceil(stats[0] - time.time()))
        unit = "requests" if kind == "requests" else "tokens"
        return GatewayError(
            429,
            f"Rate limit reached: {limit} {unit} per minute per {_SCOPE_WORDS[scope]}. "
            f"Retry in {retry_after} s.",
            kind,
            "rate_limit_exceeded",
            headers={
                "retry-after": str(retry_after),
                f"x-ratelimit-limit-{unit}": str(limit),
                f"x-ratelimit-remaining-{unit}": str(max(0, int(stats[1]))),
            },
            event_error="rate_limited",
        )

    async def aclose(self) -> None:
        """Stop the in-process storage's expiry timer, or close the Redis connections."""
        if self._memory is not None:
            self._memory.timer.cancel()
        if self._redis_pool is not None:
            await self._redis_pool.disconnect()
            self._redis_pool = None
        self._requests = self._tokens = self._memory = None
