"""The one settings object of the server and the CLI.

Every option reads an environment variable prefixed `TOKENOPTIMIZER_` (e.g. `TOKENOPTIMIZER_PORT`).
Defaults give a working single-machine install: SQLite for metadata and DuckDB for events, both in
the data directory. The secret key is generated on first use and kept in the data directory, so a
restart does not log everybody out; a placeholder secret is refused outside development.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "dev", ""})


class Settings(BaseSettings):
    """Server configuration, read from `TOKENOPTIMIZER_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TOKENOPTIMIZER_", extra="ignore")

    data_dir: Path = Field(default=Path("~/.tokenoptimizer"))
    """Where the default SQLite and DuckDB files and the generated secret key live."""

    database_url: str | None = None
    """SQLAlchemy URL of the metadata database; default: `sqlite:///<data_dir>/tokenoptimizer.db`.
    Use `postgresql+psycopg://user:pass@host/db` in production."""

    events_url: str | None = None
    """Where usage events are stored; default: `duckdb:///<data_dir>/events.duckdb`."""

    redis_url: str | None = None
    """Redis URL for counters, rate limits and reservations shared by several server processes."""

    host: str = "127.0.0.1"
    """Address the server listens on."""

    port: int = 8000
    """Port the server listens on."""

    secret_key: str | None = None
    """Signs sessions and encrypts stored secrets. Generated into `<data_dir>/secret_key` when unset."""

    environment: str = "production"
    """`development` allows placeholder secrets; anything else refuses them."""

    session_days: int = 14
    """How long a login session lasts."""

    cookie_secure: bool = False
    """Mark the session cookie `Secure` (set it when serving over HTTPS)."""

    api_key_cache_seconds: float = 5.0
    """How long a verified API key is trusted without asking the database again. Revoking a key
    in this process takes effect at once; other processes see it within twice this long."""

    ingest_max_batch: int = 10_000
    """Largest number of events accepted in one ingest request."""

    # -- gateway (docs/gateway.md) -------------------------------------------------------------

    openai_base_url: str = "https://api.openai.com/v1"
    """The gateway's server-wide OpenAI-compatible upstream (as the OpenAI SDK's `base_url`), used
    by organisations that configured none. Any OpenAI-compatible server works (vLLM, Ollama, Groq…)."""

    openai_api_key: str | None = None
    """Provider key for `openai_base_url`; unset: organisations need their own upstream (or key
    pass-through)."""

    anthropic_base_url: str = "https://api.anthropic.com"
    """The gateway's server-wide Anthropic upstream (as the Anthropic SDK's `base_url`)."""

    anthropic_api_key: str | None = None
    """Provider key for `anthropic_base_url`."""

    gateway_timeout_seconds: float = 600.0
    """Longest wait for an upstream's answer (or the next chunk of a stream)."""

    gateway_connect_timeout_seconds: float = 10.0
    """Longest wait to connect to an upstream; then the rule's fallback (if any) is tried."""

    gateway_max_connections: int = 1000
    """Connections kept open to upstreams, all of them together."""

    gateway_allow_key_passthrough: bool = False
    """Let callers send their own provider key (`x-tko-provider-key`) in organisations that did not
    decide themselves (`/api/v1/gateway/settings`)."""

    gateway_rpm_per_key: int | None = None
    """Default requests per minute per TokenOptimizer API key through the gateway (unset: no limit)."""

    gateway_tpm_per_key: int | None = None
    """Default tokens per minute per API key (input estimate before the call, actual after)."""

    gateway_rpm_per_project: int | None = None
    """Default requests per minute per project."""

    gateway_tpm_per_project: int | None = None
    """Default tokens per minute per project."""

    gateway_rpm_per_user: int | None = None
    """Default requests per minute per user (`x-tko-user`, else the end user)."""

    gateway_tpm_per_user: int | None = None
    """Default tokens per minute per user."""

    gateway_config_cache_seconds: float = 5.0
    """How long an organisation's upstreams and routing rules are used without reading them again.
    Changes through the API take effect at once in this process; in others after at most this."""

    gateway_record_interval_seconds: float = 0.5
    """How long the gateway gathers calls' events before storing them together (each store append
    is a commit whose cost does not depend on its size). Budget reservations are held until then."""

    # -- alerts and notifications (docs/alerts.md) ---------------------------------------------

    notify_attempts: int = Field(default=4, ge=1, le=20)
    """Tries per alert and channel (the first and its retries) before a delivery is given up."""

    notify_backoff_seconds: float = Field(default=0.5, ge=0)
    """Wait before the first retry of a failed delivery; doubled before each next one (0.5 s, 1 s, 2 s…)."""

    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    """Longest wait for a webhook, Slack or SMTP server to connect and answer, per attempt."""

    anomaly_check_seconds: float = 300.0
    """How often the server looks for spend spikes and error-rate surges (0: never)."""

    spike_min_hour_usd: float = 5.0
    """An hour's spend below this (USD) never raises a spend-spike alert, however unusual."""

    spike_min_day_usd: float = 25.0
    """A day's spend below this (USD) never raises a spend-spike alert."""

    anomaly_sensitivity: float = 4.0
    """How many robust standard deviations (1.4826 × median absolute deviation) above its median a
    value must be to be a spike (it must also be at least twice the median)."""

    error_rate_min_requests: int = 20
    """An hour with fewer calls never raises an error-rate alert."""

    error_rate_min: float = 0.10
    """An hourly error rate below this (0.10 = 10%) never raises an alert."""

    # -- wallets (docs/wallets.md) ---------------------------------------------------------------

    stripe_secret_key: str | None = None
    """Stripe secret key (`sk_live_…`/`sk_test_…`): enables `POST /api/v1/wallets/{id}/checkout`
    (card top-ups through Stripe Checkout). Unset: no call to Stripe is ever made."""

    stripe_webhook_secret: str | None = None
    """Signing secret (`whsec_…`) of the Stripe webhook endpoint `POST /api/v1/stripe/webhook`,
    which credits wallets once Checkout payments succeed. Unset: the endpoint answers 503."""

    stripe_api_base: str = "https://api.stripe.com"
    """Stripe's API address (change only for a Stripe mock in tests)."""

    # -- event store engine (docs/analytics.md, docs/deployment.md) ----------------------------

    duckdb_memory_limit: str = "1GB"
    """Most memory DuckDB (the default event store) may take for its buffers and queries (`1GB`,
    `4GB`…); DuckDB's own default is 80 % of the machine's RAM. Dashboards read the rollups and
    need little; raise it for large ad-hoc queries over the events."""

    duckdb_threads: int | None = Field(default=None, ge=1)
    """Worker threads DuckDB may use for one query (default: one per core)."""

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "TOKENOPTIMIZER_SECRET_KEY is a placeholder; set a long random value or unset it"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        """The metadata database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'tokenoptimizer.db'}"

    @property
    def resolved_events_url(self) -> str:
        """The event store URL, defaulting to a DuckDB file in the data directory."""
        return self.events_url or f"duckdb:///{self.data_dir / 'events.duckdb'}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured secret key, or one generated once and stored in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def get_settings() -> Settings:
    """Read settings from the environment."""
    return Settings()
