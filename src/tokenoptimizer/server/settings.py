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
    in this process takes effect at once; other processes see it after at most this long."""

    ingest_max_batch: int = 10_000
    """Largest number of events accepted in one ingest request."""

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
