"""Budget counters and reservations: in this process, or in Redis shared by several processes.

Amounts are integers in micro-units of the organisation's currency, so adding never drifts.
A counter is keyed by budget and period (`"<budget id>:<period key>"`); the spend it holds is a
cache rebuilt from the event store, never the source of truth.

Check-and-reserve is atomic across every budget a call falls under: under one lock in process,
in one Lua script in Redis (which runs scripts one at a time). Reservations expire: each holds an
expiry time and expired ones stop counting the next time a counter is checked.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

MICROS = 1_000_000


def to_micros(amount: float) -> int:
    """An amount in currency units as integer micro-units (rounded half up)."""
    return int(amount * MICROS + 0.5) if amount >= 0 else -int(-amount * MICROS + 0.5)


@dataclass(frozen=True, slots=True)
class Check:
    """One budget a reservation must fit in: its counter key and limit (micro-units)."""

    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the first budget it would overshoot, with its figures."""

    key: str
    spent: int
    reserved: int


class BudgetState(Protocol):
    """Where counters and reservations live."""

    shared: bool
    """True when other processes share it (budgets may change elsewhere)."""

    def has(self, key: str) -> bool:
        """Whether the counter exists (was initialised from the event store)."""

    def init_spend(self, key: str, value: int) -> None:
        """Set a counter's spend unless it already exists (several processes may race)."""

    def add_spend(self, increments: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        """Add to existing counters; return each counter's spend (before, after)."""

    def spent(self, key: str) -> int:
        """A counter's spend."""

    def reserved(self, key: str) -> int:
        """What unexpired reservations hold against a counter."""

    def reserve(
        self, reservation_id: str, checks: Sequence[Check], amount: int, ttl: float
    ) -> Refusal | None:
        """Hold `amount` against every check if each has room, atomically; else the refusal."""

    def release(self, reservation_id: str) -> bool:
        """Drop a reservation; False if it was unknown (released, expired or never made)."""

    def await_event(self, reservation_id: str, event_id: str) -> bool:
        """Keep a reservation until the event `event_id` is accounted; False if unknown."""

    def pop_awaited(self, event_ids: Iterable[str]) -> list[str]:
        """Reservations waiting for any of these events (which are now accounted), forgotten."""

    def rules_version(self, org_id: str) -> int:
        """Changes whenever the organisation's budgets change (in any process sharing the state)."""

    def bump_rules_version(self, org_id: str) -> int:
        """Note that the organisation's budgets changed; the new version."""


@dataclass
class _Held:
    keys: tuple[str, ...]
    amount: int
    expires: float


class MemoryState:
    """Counters and reservations in this process (the default: one server process)."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._held: dict[str, _Held] = {}
        self._expiries: list[tuple[float, str]] = []
        self._awaiting: dict[str, str] = {}  # event id -> reservation id
        self._versions: dict[str, int] = {}

    def has(self, key: str) -> bool:
        """Whether the counter exists."""
        return key in self._spent

    def init_spend(self, key: str, value: int) -> None:
        """Set a counter unless it exists."""
        with self._lock:
            self._spent.setdefault(key, value)

    def add_spend(self, increments: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        """Add to counters; (before, after) per counter."""
        changes = {}
        with self._lock:
            for key, amount in increments.items():
                before = self._spent.get(key, 0)
                self._spent[key] = before + amount
                changes[key] = (before, before + amount)
        return changes

    def spent(self, key: str) -> int:
        """A counter's spend."""
        return self._spent.get(key, 0)

    def reserved(self, key: str) -> int:
        """Unexpired reservations against a counter."""
        with self._lock:
            self._expire(time.monotonic())
            return self._reserved.get(key, 0)

    def _expire(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, reservation_id = heapq.heappop(self._expiries)
            held = self._held.get(reservation_id)
            if held is not None and held.expires <= now:
                self._drop(reservation_id)

    def _drop(self, reservation_id: str) -> bool:
        held = self._held.pop(reservation_id, None)
        if held is None:
            return False
        for key in held.keys:
            self._reserved[key] -= held.amount
        return True

    def reserve(
        self, reservation_id: str, checks: Sequence[Check], amount: int, ttl: float
    ) -> Refusal | None:
        """Check every budget and hold the amount against all of them, or none."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            for check in checks:
                spent = self._spent.get(check.key, 0)
                reserved = self._reserved.get(check.key, 0)
                if spent + reserved + amount > check.limit:
                    return Refusal(check.key, spent, reserved)
            keys = tuple(check.key for check in checks)
            for key in keys:
                self._reserved[key] = self._reserved.get(key, 0) + amount
            self._held[reservation_id] = _Held(keys, amount, now + ttl)
            heapq.heappush(self._expiries, (now + ttl, reservation_id))
        return None

    def release(self, reservation_id: str) -> bool:
        """Drop a reservation."""
        with self._lock:
            return self._drop(reservation_id)

    def await_event(self, reservation_id: str, event_id: str) -> bool:
        """Keep the reservation until the event is accounted (or it expires)."""
        with self._lock:
            if reservation_id not in self._held:
                return False
            self._awaiting[event_id] = reservation_id
            return True

    def pop_awaited(self, event_ids: Iterable[str]) -> list[str]:
        """Reservations waiting for these events."""
        if not self._awaiting:
            return []
        with self._lock:
            return [r for e in event_ids if (r := self._awaiting.pop(e, None)) is not None]

    def rules_version(self, org_id: str) -> int:
        """The organisation's budgets version."""
        return self._versions.get(org_id, 0)

    def bump_rules_version(self, org_id: str) -> int:
        """Next version of the organisation's budgets."""
        with self._lock:
            self._versions[org_id] = self._versions.get(org_id, 0) + 1
            return self._versions[org_id]


# KEYS: counter keys of the budgets to check (n), then their reservation sets (n), then the
# reservation's own key. ARGV: now (ms), expiry (ms), amount, reservation id, n, limits (n).
_RESERVE = """
local n = tonumber(ARGV[5])
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[3])
for i = 1, n do
  local held = KEYS[n + i]
  redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
  local reserved = 0
  for _, member in ipairs(redis.call('ZRANGE', held, 0, -1)) do
    reserved = reserved + tonumber(string.match(member, ':(%-?%d+)$'))
  end
  local spent = tonumber(redis.call('GET', KEYS[i]) or '0')
  if spent + reserved + amount > tonumber(ARGV[5 + i]) then
    return {KEYS[i], spent, reserved}
  end
end
local member = ARGV[4] .. ':' .. ARGV[3]
for i = 1, n do
  redis.call('ZADD', KEYS[n + i], ARGV[2], member)
  redis.call('PEXPIREAT', KEYS[n + i], ARGV[2] + 60000)
end
local sets = {}
for i = 1, n do sets[i] = KEYS[n + i] end
redis.call('SET', KEYS[2 * n + 1], member .. '\\n' .. table.concat(sets, '\\n'), 'PXAT', ARGV[2])
return false
"""

# KEYS: the reservation's key. Removes it from every set it is held in.
_RELEASE = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local lines = {}
for line in string.gmatch(value, '[^\\n]+') do lines[#lines + 1] = line end
for i = 2, #lines do redis.call('ZREM', lines[i], lines[1]) end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS: counter keys. ARGV: increments. Only existing counters move (a missing one is rebuilt
# from the event store, which already holds these events).
_ADD = """
local out = {}
for i = 1, #KEYS do
  local before = redis.call('GET', KEYS[i])
  if before then
    local after = redis.call('INCRBY', KEYS[i], ARGV[i])
    out[#out + 1] = tonumber(before)
    out[#out + 1] = after
  else
    out[#out + 1] = -1
    out[#out + 1] = -1
  end
end
return out
"""


class RedisState:
    """Counters and reservations in Redis, shared by every server process using it."""

    shared = True

    def __init__(self, url: str, *, prefix: str = "tko:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)
        self._add = self._redis.register_script(_ADD)

    def _spent_key(self, key: str) -> str:
        return f"{self._prefix}spent:{key}"

    def _held_key(self, key: str) -> str:
        return f"{self._prefix}held:{key}"

    def _reservation_key(self, reservation_id: str) -> str:
        return f"{self._prefix}res:{reservation_id}"

    def _awaiting_key(self) -> str:
        return f"{self._prefix}awaiting"

    def has(self, key: str) -> bool:
        """Whether the counter exists."""
        return bool(self._redis.exists(self._spent_key(key)))

    def init_spend(self, key: str, value: int) -> None:
        """Set a counter unless another process already did."""
        self._redis.set(self._spent_key(key), value, nx=True)

    def add_spend(self, increments: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        """Add to counters atomically; (before, after) per counter that exists."""
        keys = list(increments)
        if not keys:
            return {}
        out = self._add(keys=[self._spent_key(k) for k in keys], args=[increments[k] for k in keys])
        changes = {}
        for index, key in enumerate(keys):
            before, after = int(out[2 * index]), int(out[2 * index + 1])
            if before >= 0 or after >= 0:
                changes[key] = (before, after)
        return changes

    def spent(self, key: str) -> int:
        """A counter's spend."""
        value = self._redis.get(self._spent_key(key))
        return int(value) if value is not None else 0

    def reserved(self, key: str) -> int:
        """Unexpired reservations against a counter."""
        held = self._held_key(key)
        now = int(time.time() * 1000)
        members: list[bytes] = self._redis.zrangebyscore(held, now, "+inf")  # type: ignore[assignment]
        return sum(int(member.rsplit(b":", 1)[1]) for member in members)

    def reserve(
        self, reservation_id: str, checks: Sequence[Check], amount: int, ttl: float
    ) -> Refusal | None:
        """Check and hold atomically, in one script."""
        now = int(time.time() * 1000)
        keys = [self._spent_key(c.key) for c in checks]
        keys += [self._held_key(c.key) for c in checks]
        keys.append(self._reservation_key(reservation_id))
        args: list[int | str] = [now, now + int(ttl * 1000), amount, reservation_id, len(checks)]
        args += [c.limit for c in checks]
        refused = self._reserve(keys=keys, args=args)
        if not refused:
            return None
        key = refused[0].decode().removeprefix(self._prefix + "spent:")
        return Refusal(key, int(refused[1]), int(refused[2]))

    def release(self, reservation_id: str) -> bool:
        """Drop a reservation."""
        return bool(self._release(keys=[self._reservation_key(reservation_id)]))

    def await_event(self, reservation_id: str, event_id: str) -> bool:
        """Keep the reservation until the event is accounted (or it expires)."""
        ttl = self._redis.pttl(self._reservation_key(reservation_id))
        if not isinstance(ttl, int) or ttl <= 0:
            return False
        self._redis.hset(self._awaiting_key(), event_id, reservation_id)
        return True

    def pop_awaited(self, event_ids: Iterable[str]) -> list[str]:
        """Reservations waiting for these events."""
        if not self._redis.hlen(self._awaiting_key()):
            return []
        ids = list(event_ids)
        found: list[bytes | None] = self._redis.hmget(self._awaiting_key(), ids)  # type: ignore[assignment]
        waiting = [(e, r.decode()) for e, r in zip(ids, found, strict=True) if r is not None]
        if waiting:
            self._redis.hdel(self._awaiting_key(), *[e for e, _ in waiting])
        return [r for _, r in waiting]

    def rules_version(self, org_id: str) -> int:
        """The organisation's budgets version, shared by every process."""
        value = self._redis.get(f"{self._prefix}rules:{org_id}")
        return int(value) if value is not None else 0

    def bump_rules_version(self, org_id: str) -> int:
        """Next version of the organisation's budgets."""
        return int(self._redis.incr(f"{self._prefix}rules:{org_id}"))

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()
