"""The module-level functions of the public surface: `configure`, `flush`, `shutdown`, `estimate`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenoptimizer.sdk import runtime

if TYPE_CHECKING:
    from tokenoptimizer.tokens import Estimate


def configure(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    project: str | None = None,
    default_feature: str | None = None,
    default_tags: Mapping[str, Any] | None = None,
    guard: bool | None = None,
    spool_dir: str | Path | None = None,
    max_spool_bytes: int | None = None,
    batch_size: int | None = None,
    flush_interval: float | None = None,
    max_queue: int | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    retry_backoff: float | None = None,
    gzip: bool | None = None,
    guard_timeout: float | None = None,
) -> None:
    """Configure the SDK; options left out come from the environment, then the defaults.

    Args:
        api_key: A project API key with the `ingest` scope (env `TOKENOPTIMIZER_API_KEY`).
            Without one, nothing is recorded.
        base_url: The TokenOptimizer server (env `TOKENOPTIMIZER_BASE_URL`, default
            `http://127.0.0.1:8000`).
        project: Project name that budget reservations are scoped to (env `TOKENOPTIMIZER_PROJECT`);
            events always belong to the API key's project.
        default_feature: Feature of calls no `context(feature=...)` names (env `TOKENOPTIMIZER_FEATURE`).
        default_tags: Tags added to every event.
        guard: Reserve each wrapped call's worst-case cost before making it and raise
            `BudgetExceeded` when a hard budget would be broken (env `TOKENOPTIMIZER_GUARD=1`).
        spool_dir: Where events wait while the server is unreachable (env
            `TOKENOPTIMIZER_SPOOL_DIR`, default: the user's cache directory).
        max_spool_bytes: Bound of the spool (default 64 MiB); the oldest batches go first.
        batch_size: Events per request (default 200).
        flush_interval: Seconds before a partial batch is sent (default 1).
        max_queue: Events held in memory before new ones are dropped (default 100,000).
        timeout: Seconds per request to the server (default 10).
        max_retries: Retries of a batch before it is spooled (default 3).
        retry_backoff: First retry delay in seconds, doubled each time (default 0.5).
        gzip: Compress batches over 1 KiB (default True).
        guard_timeout: Seconds a reservation may take before the call proceeds unguarded (default 2).

    Raises:
        ValueError: An option is out of range (e.g. a batch size of 0).
    """
    runtime.configure(
        api_key=api_key,
        base_url=base_url,
        project=project,
        default_feature=default_feature,
        default_tags=default_tags,
        guard=guard,
        spool_dir=spool_dir,
        max_spool_bytes=max_spool_bytes,
        batch_size=batch_size,
        flush_interval=flush_interval,
        max_queue=max_queue,
        timeout=timeout,
        max_retries=max_retries,
        retry_backoff=retry_backoff,
        gzip=gzip,
        guard_timeout=guard_timeout,
    )


def flush(timeout: float | None = 30.0) -> bool:
    """Send every queued and spooled event now; wait at most `timeout` seconds.

    Runs by itself at exit. Returns True when nothing is left waiting (in memory or on disk):
    False means the server could not be reached and the events are on disk for later.
    """
    return runtime.get().flush(timeout)


async def aflush(timeout: float | None = 30.0) -> bool:
    """`flush` for async code: waits in a worker thread, not on the event loop."""
    return await asyncio.to_thread(flush, timeout)


def shutdown(timeout: float = 5.0) -> None:
    """Flush within `timeout`, keep what is left on disk, and stop the sender thread."""
    runtime.get().close(timeout)


def estimate(
    *,
    model: str,
    provider: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    prompt: str | None = None,
    max_output_tokens: int | None = None,
    ts: datetime | None = None,
) -> Estimate:
    """Estimate a call's tokens and cost locally, before making it (no network).

    Input tokens are counted with the model's tokenizer (exact for OpenAI models, a documented
    ratio for others) and priced with the offline catalogue; the worst case adds
    `max_output_tokens` of output. `alternatives` lists cheaper comparable models.

    Args:
        model: Model name.
        provider: Provider; None lets the catalogue infer it from the model.
        messages: Chat messages (OpenAI shape); give either `messages` or `prompt`.
        prompt: Plain text.
        max_output_tokens: Output bound for the worst case.
        ts: Pricing time (default: now).

    Returns:
        The `tokenoptimizer.tokens.Estimate`.
    """
    from tokenoptimizer.tokens import estimate as estimate_tokens  # heavy: tokenizers and prices

    return estimate_tokens(
        model=model,
        provider=provider,
        messages=messages,
        prompt=prompt,
        max_output_tokens=max_output_tokens,
        ts=ts,
    )
