"""What the gateway keeps for the life of the server.

The upstream HTTP client, configuration per organisation, rate limit counters and the calls
still being recorded:

* One pooled `aiohttp.ClientSession` for every upstream (`upstream.open_session`, created on
  first use in the serving event loop, closed with the server), so a call reuses an open
  connection instead of a new TCP/TLS handshake.
* Each organisation's configuration (`OrgGateway`) is read once and kept for
  `gateway_config_cache_seconds`; the API drops it at once after a change. A stale entry keeps
  serving while one background read refreshes it: calls never wait for the database once an
  organisation's configuration is known, and the calls in flight when it expires do not all read
  it at once (that was a 10–30 ms stall of the event loop every few seconds under load).
* Events are recorded after the response is sent, in batches (`recorder`); `drain` /
  `wait_idle` wait for them (server shutdown, tests).
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import anyio.to_thread

from tokenoptimizer.db.base import Database
from tokenoptimizer.gateway import service, upstream
from tokenoptimizer.gateway.config import OrgGateway, RateLimits, UpstreamTarget, guess_provider
from tokenoptimizer.gateway.ratelimit import RateLimiter
from tokenoptimizer.gateway.recorder import EventRecorder
from tokenoptimizer.server.settings import Settings
from tokenoptimizer.usage.pipeline import IngestPipeline

log = logging.getLogger(__name__)


class Gateway:
    """The gateway's long-lived state in one server process."""

    def __init__(self, settings: Settings, db: Database, pipeline: IngestPipeline) -> None:
        self.settings = settings
        self.db = db
        self.recorder = EventRecorder(pipeline, settings.gateway_record_interval_seconds)
        self.default_limits = RateLimits(
            rpm_per_key=settings.gateway_rpm_per_key,
            tpm_per_key=settings.gateway_tpm_per_key,
            rpm_per_project=settings.gateway_rpm_per_project,
            tpm_per_project=settings.gateway_tpm_per_project,
            rpm_per_user=settings.gateway_rpm_per_user,
            tpm_per_user=settings.gateway_tpm_per_user,
        )
        self.defaults: dict[str, UpstreamTarget] = {
            "openai": _default_upstream("openai", settings.openai_base_url, settings.openai_api_key),
            "anthropic": _default_upstream(
                "anthropic", settings.anthropic_base_url, settings.anthropic_api_key
            ),
        }
        self.rate_limiter = RateLimiter(settings.redis_url)
        self._configs: dict[str, tuple[float, OrgGateway]] = {}
        self._loading: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[OrgGateway]]] = {}
        self._generations: dict[str, int] = {}
        self._closing: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # -- upstream client -----------------------------------------------------------------------

    @property
    def client(self) -> aiohttp.ClientSession:
        """The pooled session of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = upstream.open_session(self.settings)
            self._client_loop = loop
        return self._client

    # -- configuration -------------------------------------------------------------------------

    async def org_config(self, org_id: str) -> OrgGateway:
        """The organisation's configuration (from memory; read from the database when unknown).

        An expired entry is still answered, while one background read replaces it.
        """
        cached = self._configs.get(org_id)
        if cached is not None:
            expires, config = cached
            if expires <= time.monotonic():
                self._reload(org_id)
            return config
        return await asyncio.shield(self._reload(org_id))

    def _reload(self, org_id: str) -> asyncio.Future[OrgGateway]:
        """The read of the organisation's configuration under way, or a new one."""
        loop = asyncio.get_running_loop()
        loading = self._loading.get(org_id)
        if loading is not None and loading[0] is loop and not loading[1].done():
            return loading[1]
        future = loop.create_task(self._read(org_id, self._generations.get(org_id, 0)))
        self._loading[org_id] = (loop, future)
        future.add_done_callback(_consume_error)
        return future

    async def _read(self, org_id: str, generation: int) -> OrgGateway:
        config = await anyio.to_thread.run_sync(self._load, org_id)
        if self._generations.get(org_id, 0) == generation:  # else it changed while being read
            self._configs[org_id] = (time.monotonic() + self.settings.gateway_config_cache_seconds, config)
        return config

    def _load(self, org_id: str) -> OrgGateway:
        with self.db.session() as session:
            return service.load_org_gateway(
                session,
                org_id,
                secret_key=self.settings.resolved_secret_key,
                defaults=self.defaults,
                default_limits=self.default_limits,
                default_passthrough=self.settings.gateway_allow_key_passthrough,
            )

    def invalidate(self, org_id: str) -> None:
        """Forget an organisation's configuration (after it changed); a read under way is not kept."""
        self._generations[org_id] = self._generations.get(org_id, 0) + 1
        self._configs.pop(org_id, None)
        self._loading.pop(org_id, None)

    # -- recording ------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Store every recorded call now (from the serving event loop)."""
        await self.recorder.flush()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every call is recorded (from any thread); False on timeout."""
        return self.recorder.wait_idle(timeout)

    # -- shutdown ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Record what is pending, then close the upstream connections."""
        await self.drain()
        await self._close_client()
        await self.rate_limiter.aclose()

    def close(self) -> None:
        """`aclose` for synchronous callers (the server context); queued events are stored first."""
        try:
            self._close()
        finally:
            self.recorder.close()

    def _close(self) -> None:
        loop = self._client_loop
        if loop is not None and not loop.is_closed():
            try:
                current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                current = None
            if not loop.is_running():
                loop.run_until_complete(self.aclose())
                return
            if current is not loop:
                asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout=30)
                return
            # Inside the serving loop (a shutdown the router's lifespan did not cover): store the
            # queued events now, and let the loop close the connections.
            self._closing = loop.create_task(self._close_client())
        self.recorder.flush_sync()

    async def _close_client(self) -> None:
        client, self._client, self._client_loop = self._client, None, None
        if client is not None:
            await client.close()


def _consume_error(future: asyncio.Future[OrgGateway]) -> None:
    """A background read that failed is logged here (the next call tries again), not by asyncio."""
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not read a gateway configuration", exc_info=future.exception())


def _default_upstream(api: str, base_url: str, api_key: str | None) -> UpstreamTarget:
    base = base_url.strip().rstrip("/")
    return UpstreamTarget(
        id=None,
        name=f"server default ({api})",
        api=api,  # type: ignore[arg-type]
        provider=guess_provider(base, api),
        base_url=base,
        api_key=api_key or None,
        auth_style="x-api-key" if api == "anthropic" else "bearer",
    )
