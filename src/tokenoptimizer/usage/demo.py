"""Synthetic but realistic LLM usage, for `tokenoptimizer demo`, `make run` and the benchmarks.

The model, in the order it is applied:

* **Volume** is an intensity over (UTC hour, feature) cells: European (peak ~12:00 UTC) and American
  (peak ~18:30 UTC) working hours over a night floor, weekends at 30 %, 80 % linear growth over the
  window and a little day-to-day noise. Three incidents sit on top: a runaway agent loop (the agent
  feature makes ~2.5 ordinary days of calls in nine hours, some of them rate-limited), an embeddings
  backfill (~5x that feature for a day, flat through the night) and a support-bot surge (~4x for six
  hours). One multinomial draw puts exactly `n` events in the cells; each lands uniformly in its hour.
* **Each feature** has an owner team and project, a model mix, lognormal input and output token
  counts, and a few dozen prompt templates (chosen Zipf-wise, giving `prompt_hash`).
* **Each model** has a provider, an endpoint, a speed (time to first token, ms per output token),
  whether it reasons (reasoning tokens are counted inside `output_tokens` and delay the first token)
  and how it caches (Anthropic: explicit cache reads and writes; OpenAI and Google: automatic cache
  reads on long prompts). Cached tokens are counted inside `input_tokens`.
* **Errors**: ~1.1 % baseline (rate_limit, timeout, server_error, context_length), 40 % of Anthropic
  calls during a 2.5-hour outage, 8 % rate limits in the runaway loop. Failed calls carry no tokens.
* **People**: 150 users with Zipf-distributed activity; 3,000 end users on customer-facing features.

`ft:gpt-4o-mini:acme:support:abc123` is deliberately absent from the price catalogue, at tiny volume,
so the "unpriced model" warning has something to show.

Events are generated one block of hour cells (~20k events) at a time, with a generator seeded from
`(seed, block)`: memory stays bounded, the output does not depend on `chunk_size`, and the same seed
gives the same events. Everything is vectorised with numpy except building the final dicts, which
is most of the cost (~300k events/s on one core). `event_id` is a `uuid.UUID` and `ts` an aware
`datetime`, as the strict `EventIn` wants them.
"""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

DEMO_PROJECTS: tuple[str, ...] = ("customer-app", "support-desk", "internal-tools")
TEAMS = ("product", "support", "search", "data", "platform")
UNPRICED_MODEL = "ft:gpt-4o-mini:acme:support:abc123"
ERROR_TYPES = ("rate_limit", "timeout", "server_error", "context_length")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")
N_USERS, N_END_USERS = 150, 3000
HOUR_US = 3_600_000_000
SAMPLER_SIZE = 1 << 16
BLOCK_EVENTS = 20_000  # generated at a time: bounds memory, amortises numpy's per-call cost
_OPENAI_CHAT = "/v1/chat/completions"


class _Model(NamedTuple):
    provider: str
    name: str
    endpoint: str
    ttft_ms: float
    ms_per_token: float  # 0 for embeddings, which stream nothing
    reasoning: float  # reasoning tokens per visible output token when the model thinks
    think_p: float  # probability that a call thinks at all
    cache: str  # "explicit" (reads and writes), "auto" (reads on long prompts) or "none"


def _gemini(name: str, ttft: float, ms: float, reasoning: float, think_p: float) -> _Model:
    endpoint = f"/v1beta/models/{name}:generateContent"
    return _Model("google", name, endpoint, ttft, ms, reasoning, think_p, "auto")


MODELS = (
    _Model("openai", "gpt-4o", _OPENAI_CHAT, 450, 11, 0, 0, "auto"),
    _Model("openai", "gpt-4o-mini", _OPENAI_CHAT, 350, 7, 0, 0, "auto"),
    _Model("openai", "gpt-4.1", _OPENAI_CHAT, 500, 12, 0, 0, "auto"),
    _Model("openai", "gpt-4.1-mini", _OPENAI_CHAT, 380, 8, 0, 0, "auto"),
    _Model("openai", "o4-mini", "/v1/responses", 600, 6, 3.0, 1.0, "auto"),
    _Model("openai", "text-embedding-3-small", "/v1/embeddings", 60, 0, 0, 0, "none"),
    _Model("anthropic", "claude-sonnet-4-20250514", "/v1/messages", 900, 14, 0, 0, "explicit"),
    _Model("anthropic", "claude-3-5-haiku-20241022", "/v1/messages", 550, 8, 0, 0, "explicit"),
    _gemini("gemini-2.5-flash", 400, 4, 1.2, 0.6),
    _gemini("gemini-2.5-pro", 900, 10, 2.5, 1.0),
    _Model("mistral", "mistral-large-latest", _OPENAI_CHAT, 500, 16, 0, 0, "none"),
    _Model("mistral", "mistral-small-latest", _OPENAI_CHAT, 300, 7, 0, 0, "none"),
    _Model("openai", UNPRICED_MODEL, _OPENAI_CHAT, 300, 7, 0, 0, "none"),
)
_MODEL_INDEX = {m.name: i for i, m in enumerate(MODELS)}


class _Feature(NamedTuple):
    name: str
    share: float  # of ordinary traffic
    team: int  # owner, index into TEAMS
    project: int  # home project, index into the projects (modulo their number)
    mix: dict[str, float]  # model name -> probability
    input_median: float
    input_sigma: float
    output_median: float  # 0 for embeddings
    output_sigma: float
    templates: int
    customer_facing: bool  # carries end users


FEATURES = (
    _Feature("chat-assistant", 0.22, 0, 0,
             {"gpt-4o": 0.35, "gpt-4.1-mini": 0.25, "claude-sonnet-4-20250514": 0.25,
              "gemini-2.5-flash": 0.15},
             1800, 0.8, 350, 0.7, 40, True),
    _Feature("summarise", 0.08, 3, 2,
             {"gpt-4o-mini": 0.5, "claude-3-5-haiku-20241022": 0.3, "gemini-2.5-flash": 0.2},
             6000, 0.9, 250, 0.5, 24, False),
    _Feature("search-rerank", 0.10, 2, 0, {"gpt-4.1-mini": 0.6, "mistral-small-latest": 0.4},
             2500, 0.5, 40, 0.4, 12, True),
    _Feature("code-review", 0.03, 4, 2, {"claude-sonnet-4-20250514": 0.55, "gpt-4.1": 0.3, "o4-mini": 0.15},
             12000, 0.8, 900, 0.6, 30, False),
    _Feature("support-bot", 0.18, 1, 1,
             {"gpt-4o-mini": 0.55, "claude-3-5-haiku-20241022": 0.25, "mistral-large-latest": 0.19,
              UNPRICED_MODEL: 0.01},
             2200, 0.7, 220, 0.6, 48, True),
    _Feature("embeddings-index", 0.14, 2, 0, {"text-embedding-3-small": 1.0}, 800, 0.6, 0, 0, 8, False),
    _Feature("classify", 0.12, 3, 1,
             {"gpt-4o-mini": 0.6, "mistral-small-latest": 0.3, "gemini-2.5-flash": 0.1},
             600, 0.5, 8, 0.4, 20, False),
    _Feature("extract", 0.06, 3, 2,
             {"gpt-4.1-mini": 0.5, "gemini-2.5-flash": 0.3, "claude-3-5-haiku-20241022": 0.2},
             3500, 0.7, 300, 0.5, 36, False),
    _Feature("translate", 0.04, 0, 0,
             {"gpt-4o-mini": 0.4, "mistral-large-latest": 0.3, "gemini-2.5-flash": 0.3},
             700, 0.6, 700, 0.6, 16, True),
    _Feature("agent", 0.03, 4, 2,
             {"claude-sonnet-4-20250514": 0.4, "o4-mini": 0.25, "gemini-2.5-pro": 0.2, "gpt-4.1": 0.15},
             9000, 0.9, 600, 0.8, 30, False),
)  # fmt: skip
_AGENT, _EMBED, _SUPPORT = (next(i for i, f in enumerate(FEATURES) if f.name == n)
                            for n in ("agent", "embeddings-index", "support-bot"))  # fmt: skip


def _table(values: Sequence[Any]) -> ObjArray:
    table = np.empty(len(values), dtype=object)
    table[:] = list(values)
    return table


def _sampler(weights: FloatArray) -> IntArray:
    """A table whose uniformly drawn entry is `i` with probability ~`weights[i]` (to 1/65536).

    A random index into it is ~5x faster than `Generator.choice(p=...)` or a `searchsorted`.
    """
    cdf = np.cumsum(weights) / weights.sum()
    return np.searchsorted(cdf, (np.arange(SAMPLER_SIZE) + 0.5) / SAMPLER_SIZE).clip(max=len(weights) - 1)


# Lookup arrays, indexed by model or by feature number.
_M_TTFT, _M_MS_PER_TOKEN, _M_REASONING, _M_THINK_P = (np.array([m[i] for m in MODELS]) for i in range(3, 7))
_M_EXPLICIT_CACHE, _M_AUTO_CACHE = (
    np.array([m.cache == kind for m in MODELS]) for kind in ("explicit", "auto")
)
_M_EMBEDDING, _M_ANTHROPIC = _M_MS_PER_TOKEN == 0, np.array([m.provider == "anthropic" for m in MODELS])
_M_PROVIDER, _M_NAME, _M_ENDPOINT = (_table([m[i] for m in MODELS]) for i in range(3))
_M_REQUEST_TYPE = _table(["embedding" if e else "chat" for e in _M_EMBEDDING])
_F_MODEL_SAMPLER = np.stack([_sampler(np.array([f.mix.get(m.name, 0.0) for m in MODELS])) for f in FEATURES])
_F_IN_MEDIAN, _F_IN_SIGMA, _F_OUT_MEDIAN, _F_OUT_SIGMA = (
    np.array([f[i] for f in FEATURES]) for i in range(5, 9)
)
_F_TEMPLATES = np.array([f.templates for f in FEATURES])
_F_TEMPLATE_OFFSET = np.cumsum(_F_TEMPLATES) - _F_TEMPLATES
_F_CUSTOMER_FACING, _F_TEAM = (
    np.array([f.customer_facing for f in FEATURES]),
    np.array([f.team for f in FEATURES]),
)
_F_NAME = _table([f.name for f in FEATURES])
_PROMPT_HASHES = _table([hashlib.sha256(f"{f.name}/{k}".encode()).hexdigest()[:16]
                         for f in FEATURES for k in range(f.templates)])  # fmt: skip
_TEAM_NAMES, _USER_NAMES = _table(TEAMS), _table([f"user-{i:04d}" for i in range(1, N_USERS + 1)])
_END_USER_NAMES = _table([f"cust-{i:05d}" for i in range(1, N_END_USERS + 1)])
_STATUS, _ERROR_TYPES = _table(["ok", "error"]), _table([None, *ERROR_TYPES])
_ENVS, _REGIONS = _table(["prod", "staging"]), _table(REGIONS)
# Latency of failed calls by error type: (median ms, sigma).
_ERROR_LATENCY = np.array([(120.0, 0.6), (60_000.0, 0.3), (1_500.0, 0.9), (150.0, 0.5)])


class _Plan(NamedTuple):
    """Where the events go (per hour cell: span and events per feature) and who makes them."""

    lo_us: IntArray  # start of the cell's span (epoch µs); the span is < 1 h only at the window's edges
    width_us: IntArray
    counts: IntArray  # shape (cells, features)
    runaway: tuple[int, int]  # µs window of the runaway agent loop
    outage: tuple[int, int]  # µs window of the Anthropic outage
    eu_share: FloatArray  # of the traffic in each cell that comes from Europe
    user_sampler: IntArray  # Zipf over users, in a seeded order
    end_user_sampler: IntArray


def _diurnal(hour: IntArray) -> tuple[FloatArray, FloatArray]:
    """Europe's and America's working-hours activity at a UTC hour of day."""
    eu = np.exp(-(((hour - 12.0) / 3.5) ** 2))
    us = np.exp(-((((hour - 18.5 + 12) % 24 - 12) / 4.0) ** 2))
    return 0.6 * eu, 0.5 * us


def _zipf_sampler(rng: np.random.Generator, count: int, a: float) -> IntArray:
    return _sampler(rng.permutation(1.0 / np.arange(1, count + 1) ** a))


def _plan(n: int, start_us: int, end_us: int, seed: int) -> _Plan:
    rng = np.random.default_rng([seed, 0])
    cells = np.arange(start_us // HOUR_US, -(-end_us // HOUR_US), dtype=np.int64)  # epoch hours
    lo = np.maximum(cells * HOUR_US, start_us)
    width = np.minimum((cells + 1) * HOUR_US, end_us) - lo
    hour, day = cells % 24, cells // 24 - cells[0] // 24
    ndays = int(day[-1]) + 1
    eu, us = _diurnal(hour)
    daily = (1.0 + 0.8 * day / max(ndays - 1, 1)) * rng.lognormal(0.0, 0.08, ndays)[day] * width / HOUR_US
    weekend = (cells // 24 + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    shares = np.array([f.share for f in FEATURES])
    weights = np.outer(daily * np.where(weekend, 0.3, 1.0) * (0.06 + eu + us), shares)
    day_eu, day_us = _diurnal(np.arange(24, dtype=np.int64))
    day_total = float((0.06 + day_eu + day_us).sum())

    def pick_day(lo_frac: float, hi_frac: float) -> int:
        return int(rng.integers(int(lo_frac * ndays), max(int(hi_frac * ndays), int(lo_frac * ndays) + 1)))

    # The runaway loop comes late enough that growth makes its day the biggest, whatever the weekday.
    runaway_day, runaway_h0 = pick_day(0.6, 0.9), int(rng.integers(0, 15))
    loop = (day == runaway_day) & (hour >= runaway_h0) & (hour < runaway_h0 + 9)
    weights[loop, _AGENT] += 2.6 * day_total / 9 * daily[loop]
    backfill = day == pick_day(0.1, 0.5)
    weights[backfill, _EMBED] += 4 * shares[_EMBED] * day_total / 24 * daily[backfill]
    weights[(day == pick_day(0.2, 0.6)) & (hour >= 13) & (hour < 19), _SUPPORT] *= 4
    outage_start = ((cells[0] // 24 + pick_day(0.3, 0.7)) * 24 + int(rng.integers(8, 17))) * HOUR_US

    counts = rng.multinomial(n, (weights / weights.sum()).ravel()).reshape(weights.shape)
    loop_us = cells[loop] * HOUR_US
    runaway = (int(loop_us.min()), int(loop_us.max()) + HOUR_US) if loop.any() else (0, 0)
    outage = (outage_start, outage_start + 5 * HOUR_US // 2)
    users, end_users = _zipf_sampler(rng, N_USERS, 1.1), _zipf_sampler(rng, N_END_USERS, 1.0)
    return _Plan(lo, width, counts, runaway, outage, 0.97 * eu / (eu + us + 0.05), users, end_users)


def _uuid4s(rng: np.random.Generator, m: int) -> list[uuid.UUID]:
    raw = rng.integers(0, 256, (m, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    # msgspec builds UUIDs from 16 bytes in C, 7x faster than uuid.UUID(bytes=...).
    ids: list[uuid.UUID] = msgspec.convert(raw.view("V16").ravel().tolist(), list[uuid.UUID])
    return ids


def _datetime_states(ts_us: IntArray) -> npt.NDArray[np.void]:
    """The pickle states of the UTC datetimes at `ts_us`: `datetime(state, UTC)` is 3x `fromtimestamp`."""
    stamp = ts_us.astype("datetime64[us]")
    day, month, year = (stamp.astype(f"datetime64[{unit}]") for unit in "DMY")
    yyyy, micro = year.astype(np.int64) + 1970, (stamp - day).astype(np.int64)
    second, micro = micro // 1_000_000, micro % 1_000_000
    state = np.empty((len(ts_us), 10), dtype=np.uint8)
    state[:, 0], state[:, 1] = yyyy >> 8, yyyy & 0xFF
    state[:, 2], state[:, 3] = (month - year).astype(np.int64) + 1, (day - month).astype(np.int64) + 1
    state[:, 4], state[:, 5], state[:, 6] = second // 3600, second // 60 % 60, second % 60
    state[:, 7], state[:, 8], state[:, 9] = micro >> 16, (micro >> 8) & 0xFF, micro & 0xFF
    return state.view("V10").ravel()  # "V", unlike "S", keeps trailing zero bytes


def _lognormal_int(rng: np.random.Generator, median: FloatArray, sigma: FloatArray) -> IntArray:
    return np.maximum(np.rint(median * np.exp(sigma * rng.standard_normal(len(median)))), 1).astype(np.int64)


def _tokens(rng: np.random.Generator, feat: IntArray, model: IntArray) -> list[IntArray]:
    """Input, visible output, reasoning, cache-read and cache-write tokens of successful calls."""
    m = len(feat)
    input_tokens = _lognormal_int(rng, _F_IN_MEDIAN[feat], _F_IN_SIGMA[feat])
    visible = np.where(_M_EMBEDDING[model], 0, _lognormal_int(rng, _F_OUT_MEDIAN[feat], _F_OUT_SIGMA[feat]))
    thinks = rng.random(m) < _M_THINK_P[model]
    reasoning = np.where(thinks, np.rint(visible * _M_REASONING[model] * rng.lognormal(0, 0.5, m)), 0)
    explicit = _M_EXPLICIT_CACHE[model] & (rng.random(m) < 0.55)
    auto = _M_AUTO_CACHE[model] & (input_tokens >= 1024) & (rng.random(m) < 0.35)
    cache_read = np.where(explicit, input_tokens * (0.35 + 0.6 * rng.random(m)), 0)
    cache_read = np.where(auto, (input_tokens * (0.2 + 0.7 * rng.random(m))) // 128 * 128, cache_read)
    writes = _M_EXPLICIT_CACHE[model] & (rng.random(m) < 0.12)
    cache_write = np.where(writes, (input_tokens - cache_read.astype(np.int64)) * rng.random(m), 0)
    return [c.astype(np.int64) for c in (input_tokens, visible, reasoning, cache_read, cache_write)]


def _errors(rng: np.random.Generator, plan: _Plan, ts: IntArray, feat: IntArray, model: IntArray) -> IntArray:
    """Per call, 0 if it succeeded, else 1 + its index in ERROR_TYPES."""
    m = len(ts)
    in_outage = (ts >= plan.outage[0]) & (ts < plan.outage[1]) & _M_ANTHROPIC[model]
    in_loop = (ts >= plan.runaway[0]) & (ts < plan.runaway[1]) & (feat == _AGENT)
    error = np.searchsorted([0.35, 0.55, 0.85], rng.random(m))  # rate_limit, timeout, server_error, context
    error[in_outage], error[in_loop] = 2, 0
    error_p = np.where(in_outage, 0.4, np.where(in_loop, 0.08, 0.011))
    return np.where(rng.random(m) < error_p, error + 1, 0)


def _block_events(
    rng: np.random.Generator, plan: _Plan, cells: slice, projects: ObjArray, feature_project: IntArray
) -> list[dict[str, Any]]:
    """The events of a range of hour cells, in time order."""
    counts = plan.counts[cells]
    n_cells, n_features = counts.shape
    cell = np.repeat(np.repeat(np.arange(n_cells), n_features), counts.ravel())
    feat = np.repeat(np.tile(np.arange(n_features), n_cells), counts.ravel())
    ts = plan.lo_us[cells][cell] + (rng.random(len(cell)) * plan.width_us[cells][cell]).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    ts, cell, feat = ts[order], cell[order], feat[order]
    m = len(ts)
    model = _F_MODEL_SAMPLER[feat, rng.integers(0, SAMPLER_SIZE, m)]

    error = _errors(rng, plan, ts, feat, model)
    failed = error > 0
    tokens = _tokens(rng, feat, model)
    for column in tokens:
        column[failed] = 0  # failed calls are not billed
    input_tokens, visible, reasoning, cache_read, cache_write = tokens
    speed = _M_MS_PER_TOKEN[model] * rng.lognormal(0, 0.2, m)
    ttft = _M_TTFT[model] * rng.lognormal(0, 0.3, m) + 0.02 * input_tokens + reasoning * speed
    error_latency = _ERROR_LATENCY[error - 1, 0] * np.exp(
        _ERROR_LATENCY[error - 1, 1] * rng.standard_normal(m)
    )
    latency = np.round(np.where(failed, error_latency, ttft + visible * speed), 1)
    ttft_out = np.round(ttft, 1).astype(object)
    ttft_out[failed | _M_EMBEDDING[model]] = None

    end_user = _END_USER_NAMES[plan.end_user_sampler[rng.integers(0, SAMPLER_SIZE, m)]]
    end_user[~_F_CUSTOMER_FACING[feat] | (rng.random(m) >= 0.9)] = None
    team = np.where(rng.random(m) < 0.85, _F_TEAM[feat], rng.integers(0, len(TEAMS), m))
    project = np.where(rng.random(m) < 0.9, feature_project[feat], rng.integers(0, len(projects), m))
    template = (_F_TEMPLATES[feat] * rng.random(m) ** 3).astype(np.int64) + _F_TEMPLATE_OFFSET[feat]
    u = rng.random(m)
    region = np.where(u < plan.eu_share[cells][cell], 0, np.where(u < 0.97, 1, 2))
    return _as_dicts(
        _uuid4s(rng, m), _datetime_states(ts), _M_PROVIDER[model], _M_NAME[model], _M_ENDPOINT[model],
        _M_REQUEST_TYPE[model], input_tokens, visible + reasoning, cache_read, cache_write, reasoning,
        latency, ttft_out, _STATUS[failed.view(np.int8)], _ERROR_TYPES[error],
        _USER_NAMES[plan.user_sampler[rng.integers(0, SAMPLER_SIZE, m)]], end_user, _TEAM_NAMES[team],
        _F_NAME[feat],
        _ENVS[(rng.random(m) >= 0.88).view(np.int8)], _REGIONS[region], _PROMPT_HASHES[template],
        projects[project],
    )  # fmt: skip


def _as_dicts(event_ids: list[uuid.UUID], *columns: npt.NDArray[Any]) -> list[dict[str, Any]]:
    """Event dicts from the columns; a dict literal over zipped lists is CPython's fastest way."""
    new_datetime: Callable[..., datetime] = datetime
    return [
        {
            "event_id": event_id, "ts": new_datetime(stamp, UTC), "provider": provider, "model": model_name,
            "endpoint": endpoint, "request_type": request_type, "input_tokens": n_in, "output_tokens": n_out,
            "cache_read_tokens": n_read, "cache_write_tokens": n_write, "reasoning_tokens": n_reasoning,
            "latency_ms": latency_ms, "time_to_first_token_ms": ttft_ms, "status": status,
            "error_type": error_type, "user": user_name, "end_user": end_user_name, "team": team,
            "feature": feature, "tags": {"env": env, "region": region},
            "prompt_hash": prompt_hash, "project": project_name,
        }
        for (
            event_id, stamp, provider, model_name, endpoint, request_type, n_in, n_out, n_read, n_write,
            n_reasoning, latency_ms, ttft_ms, status, error_type, user_name, end_user_name, team, feature,
            env, region, prompt_hash, project_name,
        ) in zip(event_ids, *(column.tolist() for column in columns), strict=True)
    ]  # fmt: skip


def generate_demo_events(
    n: int,
    *,
    days: int = 90,
    end: datetime | None = None,
    seed: int = 0,
    chunk_size: int = 50_000,
    projects: Sequence[str] = DEMO_PROJECTS,
) -> Iterator[list[dict[str, Any]]]:
    """Generate `n` synthetic usage events over the `days` before `end`, in time order.

    Args:
        n: How many events, exactly.
        days: Length of the window `[end - days, end)`.
        end: End of the window (exclusive); a naive datetime is taken as UTC. Defaults to now,
            truncated to the minute.
        seed: Same seed, same events (ids included), whatever the `chunk_size`.
        chunk_size: Events per yielded list (the last one may be shorter).
        projects: Project names to attribute events to; each feature mostly lives in one of them.

    Yields:
        Lists of event dicts shaped like `EventIn`, plus a `"project"` key naming the project.

    Raises:
        ValueError: If `n` or `seed` is negative, `days` or `chunk_size` is not positive, or there is no
            project.
    """
    if n < 0 or seed < 0 or days <= 0 or chunk_size <= 0 or not projects:
        raise ValueError("need n >= 0, seed >= 0, days > 0, chunk_size > 0 and at least one project")
    if end is None:
        end = datetime.now(UTC).replace(second=0, microsecond=0)
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    end_us = (end - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    plan = _plan(n, end_us - days * 86_400_000_000, end_us, seed)
    project_names = _table(list(projects))
    feature_project = np.array([f.project % len(projects) for f in FEATURES])
    pending: list[dict[str, Any]] = []
    # Blocks of consecutive hour cells holding ~BLOCK_EVENTS events (more only in a spike hour).
    block_of_cell = np.cumsum(plan.counts.sum(axis=1)) // BLOCK_EVENTS
    edges = [0, *(np.flatnonzero(np.diff(block_of_cell)) + 1).tolist(), len(block_of_cell)]
    for block, (first, last) in enumerate(zip(edges, edges[1:], strict=False)):
        rng = np.random.default_rng([seed, 2, block])
        # The cyclic GC would scan the fresh dicts every few hundred allocations (~12 % of the time
        # here); they cannot form cycles, so it pauses while a block is built, never across a yield.
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            pending.extend(_block_events(rng, plan, slice(first, last), project_names, feature_project))
        finally:
            if gc_enabled:
                gc.enable()
        while len(pending) >= chunk_size:
            yield pending[:chunk_size]
            del pending[:chunk_size]
    if pending:
        yield pending
