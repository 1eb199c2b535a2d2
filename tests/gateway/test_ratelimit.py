"""Rate limits with the `limits` library: in-process, and shared by two limiters through Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import redis_server
from tokenoptimizer.gateway.config import RateLimits
from tokenoptimizer.gateway.errors import GatewayError
from tokenoptimizer.gateway.ratelimit import RateLimiter, Subjects

ALICE = Subjects("org-1", "key-1", "project-1", "alice")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def test_requests_per_minute_in_process() -> None:
    limiter = RateLimiter()
    limits = RateLimits(rpm_per_project=2)
    await limiter.admit(limits, ALICE, 10)
    await limiter.admit(limits, Subjects("org-1", "key-2", "project-1", None), 10)  # same project
    with pytest.raises(GatewayError) as info:
        await limiter.admit(limits, ALICE, 10)
    assert info.value.status == 429
    assert "2 requests per minute per project" in info.value.message
    assert 1 <= int(info.value.headers["retry-after"]) <= 60
    # Another organisation's project of the same id is counted apart.
    await limiter.admit(limits, Subjects("org-2", "key-1", "project-1", "alice"), 10)
    await limiter.aclose()


async def test_tokens_per_minute_count_what_calls_used() -> None:
    limiter = RateLimiter()
    limits = RateLimits(tpm_per_user=100)
    await limiter.admit(limits, ALICE, 30)
    await limiter.count_tokens(limits, ALICE, 90)
    with pytest.raises(GatewayError, match="100 tokens per minute per user"):
        await limiter.admit(limits, ALICE, 30)  # 90 used + 30 estimated > 100
    await limiter.admit(limits, Subjects("org-1", "key-1", "project-1", "bob"), 30)
    await limiter.aclose()


async def test_two_processes_share_the_counters_through_redis(redis_url: str) -> None:
    first, second = RateLimiter(redis_url), RateLimiter(redis_url)
    limits = RateLimits(rpm_per_key=3)
    admitted = 0
    for limiter in (first, second, first, second, first):
        try:
            await limiter.admit(limits, ALICE, 1)
            admitted += 1
        except GatewayError as exc:
            assert exc.status == 429
    assert admitted == 3
    await first.aclose()
    await second.aclose()
