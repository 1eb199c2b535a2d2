"""The API key cache: one caller refreshes an expired key while the others keep going."""

from __future__ import annotations

import pytest

from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.service import KeyCache, KeyIdentity

IDENTITY = KeyIdentity(api_key_id="k1", org_id="o1", project_id="p1", scopes=frozenset({"ingest"}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(service.time, "monotonic", clock)
    return clock


def test_only_the_first_caller_after_expiry_asks_the_database(clock: Clock) -> None:
    cache = KeyCache(ttl=5.0)
    assert cache.get("tko_a") is None  # unknown: ask
    cache.put("tko_a", IDENTITY)
    assert cache.get("tko_a") == IDENTITY
    clock.now += 5.5
    assert cache.get("tko_a") is None  # the first to notice asks the database…
    assert [cache.get("tko_a") for _ in range(31)] == [IDENTITY] * 31  # …the others keep going
    cache.put("tko_a", IDENTITY)  # its answer
    clock.now += 4.9
    assert cache.get("tko_a") == IDENTITY


def test_a_revoked_key_is_dropped(clock: Clock) -> None:
    cache = KeyCache(ttl=5.0)
    cache.put("tko_a", IDENTITY)
    clock.now += 6
    assert cache.get("tko_a") is None
    cache.drop("tko_a")  # the database said no
    assert cache.get("tko_a") is None
    assert cache.get("tko_a") is None  # every caller asks again


def test_a_refresh_that_never_answers_is_retried_and_the_entry_not_trusted_forever(clock: Clock) -> None:
    cache = KeyCache(ttl=5.0)
    cache.put("tko_a", IDENTITY)
    clock.now += 6
    assert cache.get("tko_a") is None  # this caller's database call fails: no put, no drop
    clock.now += 3
    assert cache.get("tko_a") == IDENTITY  # meanwhile, the entry still serves…
    clock.now += 1.5
    assert cache.get("tko_a") is None  # …but not beyond a ttl past its expiry: everyone asks
    assert cache.get("tko_a") is None
