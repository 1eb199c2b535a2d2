"""The SDK's settings: what `tokenoptimizer.configure(...)` accepts, with the environment as fallback.

Every option has a keyword in `configure` and most have an environment variable, so an app can be
configured without code changes (`TOKENOPTIMIZER_API_KEY=tko_… python app.py`). Explicit keywords
win over the environment. The SDK reads no other settings file and never talks to anything but
`base_url`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

ENV_API_KEY = "TOKENOPTIMIZER_API_KEY"
ENV_BASE_URL = "TOKENOPTIMIZER_BASE_URL"
ENV_SPOOL_DIR = "TOKENOPTIMIZER_SPOOL_DIR"
ENV_PROJECT = "TOKENOPTIMIZER_PROJECT"
ENV_FEATURE = "TOKENOPTIMIZER_FEATURE"
ENV_GUARD = "TOKENOPTIMIZER_GUARD"


@dataclass(frozen=True, slots=True)
class SdkConfig:
    """The SDK's settings (see `tokenoptimizer.configure` for what each one does)."""

    api_key: str | None = None
    """Project API key with the `ingest` scope (`tko_…`). Without one nothing is sent."""

    base_url: str = DEFAULT_BASE_URL
    """Where the TokenOptimizer server listens."""

    project: str | None = None
    """Project name used to scope budget reservations; events always go to the key's project."""

    default_feature: str | None = None
    """Feature recorded on events that no `context(feature=...)` names."""

    default_tags: dict[str, str] = field(default_factory=dict)
    """Tags added to every event (a context's tags win on the same key)."""

    guard: bool = False
    """Reserve each wrapped call's worst-case cost first, raising `BudgetExceeded` over a hard budget."""

    spool_dir: Path | None = None
    """Where unsent events wait while the server is unreachable; default: the user's cache dir."""

    max_spool_bytes: int = 64 * 1024 * 1024
    """Bound of the on-disk spool; the oldest batches are dropped (and logged) beyond it."""

    batch_size: int = 200
    """Events per request; a full batch is sent at once."""

    flush_interval: float = 1.0
    """Seconds after which a partial batch is sent."""

    max_queue: int = 100_000
    """Events held in memory before new ones are dropped (and counted): never blocks the caller."""

    timeout: float = 10.0
    """Seconds for one request to the server."""

    max_retries: int = 3
    """Retries of a failed batch (with exponential backoff) before it goes to the spool."""

    retry_backoff: float = 0.5
    """First backoff in seconds; doubled at each retry, with jitter."""

    gzip: bool = True
    """Compress batches larger than 1 KiB (`Content-Encoding: gzip`)."""

    guard_timeout: float = 2.0
    """Seconds a budget reservation may take before the call proceeds unguarded (fail open)."""

    @property
    def enabled(self) -> bool:
        """Whether events can be sent (an API key is set)."""
        return bool(self.api_key)

    def resolved_spool_dir(self) -> Path:
        """This destination's spool directory: one per server and key, so batches go where they belong."""
        root = self.spool_dir
        if root is None:
            import platformdirs  # imported here: only needed once a batch cannot be sent

            root = Path(platformdirs.user_cache_dir("tokenoptimizer")) / "spool"
        digest = hashlib.sha256(f"{self.base_url}\n{self.api_key}".encode()).hexdigest()[:16]
        return Path(root).expanduser() / digest


def _env_bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(base: SdkConfig | None = None) -> SdkConfig:
    """The settings the environment gives, on top of `base` (or the defaults)."""
    config = base or SdkConfig()
    env = os.environ
    changes: dict[str, Any] = {}
    if env.get(ENV_API_KEY):
        changes["api_key"] = env[ENV_API_KEY]
    if env.get(ENV_BASE_URL):
        changes["base_url"] = env[ENV_BASE_URL].rstrip("/")
    if env.get(ENV_SPOOL_DIR):
        changes["spool_dir"] = Path(env[ENV_SPOOL_DIR])
    if env.get(ENV_PROJECT):
        changes["project"] = env[ENV_PROJECT]
    if env.get(ENV_FEATURE):
        changes["default_feature"] = env[ENV_FEATURE]
    guard = _env_bool(env.get(ENV_GUARD))
    if guard is not None:
        changes["guard"] = guard
    return replace(config, **changes)


def build_config(**options: Any) -> SdkConfig:
    """Environment first, then the explicit options that are not None."""
    config = from_environment()
    given = {name: value for name, value in options.items() if value is not None}
    if "base_url" in given:
        given["base_url"] = str(given["base_url"]).rstrip("/")
    if "spool_dir" in given:
        given["spool_dir"] = Path(given["spool_dir"])
    if "default_tags" in given:
        given["default_tags"] = {str(k): str(v) for k, v in given["default_tags"].items()}
    for name in ("batch_size", "max_queue", "max_spool_bytes"):
        if name in given and (type(given[name]) is not int or given[name] < 1):
            raise ValueError(f"{name} must be a positive integer, got {given[name]!r}")
    for name in ("flush_interval", "timeout", "guard_timeout"):
        if name in given and not given[name] > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {given[name]!r}")
    return replace(config, **given)
