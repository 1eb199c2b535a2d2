"""What the Python SDK adds to the caller: `track()` alone, and a wrapped call vs the unwrapped one.

Starts a real `tokenoptimizer serve` (the SDK's sender delivers to it, as in production) and the
fake upstream in its own process (`python -m tests.fake_upstream`), so neither shares the GIL with
the caller being measured. Then:

1. `track()` on the caller's thread: 50,000 calls timed one by one while the sender thread sends
   them in the background; then how long the sender takes to deliver them all.
2. Wrapped vs unwrapped official clients against the local upstream: pairs of calls in random
   order (so drift and noise hit both alike); p50 of each and the difference.
3. The SDK's own work per call, timed directly: recording a real parsed response, and observing
   the chunks of a real stream.

Run: .venv/bin/python bench/sdk.py [--calls 1500] [--track 50000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from anthropic import Anthropic
from openai import OpenAI

import tokenoptimizer
from bench.common import free_port, running_server
from tokenoptimizer.sdk import runtime
from tokenoptimizer.sdk.calls import Call

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [{"role": "user", "content": "Say hello to me in a few words please"}]


@contextmanager
def fake_upstream() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/v1/models", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the fake upstream did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    """p50, p95, p99 in microseconds."""
    ordered = sorted(samples_ns)
    n = len(ordered)
    return tuple(ordered[min(n - 1, int(n * q))] / 1000 for q in (0.5, 0.95, 0.99))


def bench_track(count: int) -> None:
    track = tokenoptimizer.track
    samples: list[int] = []
    clock = time.perf_counter_ns
    started = time.perf_counter()
    for i in range(count):
        t0 = clock()
        track(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=100 + i % 50,
            output_tokens=20,
            latency_ms=800,
        )
        samples.append(clock() - t0)
    queued = time.perf_counter() - started
    assert tokenoptimizer.flush(120)
    delivered = time.perf_counter() - started
    sender = runtime.get().sender
    assert sender is not None and sender.stats.accepted >= count
    p50, p95, p99 = percentiles(samples)
    print(f"track(), caller's thread, {count:,} calls: p50 {p50:.1f} µs, p95 {p95:.1f} µs, p99 {p99:.1f} µs")
    print(
        f"  all delivered to the server in {delivered:.2f} s ({count / delivered:,.0f} events/s; "
        f"queueing took {queued:.2f} s), {sender.stats.requests} requests"
    )


def paired(name: str, plain: Callable[[], Any], wrapped: Callable[[], Any], calls: int) -> None:
    for _ in range(50):  # warm connections, lazy imports, caches
        plain()
        wrapped()
    times: dict[str, list[int]] = {"plain": [], "wrapped": []}
    clock = time.perf_counter_ns
    for _ in range(calls):
        order = [("plain", plain), ("wrapped", wrapped)]
        random.shuffle(order)
        for label, fn in order:
            t0 = clock()
            fn()
            times[label].append(clock() - t0)
    p_plain = percentiles(times["plain"])
    p_wrapped = percentiles(times["wrapped"])
    deltas = sorted(w - p for w, p in zip(times["wrapped"], times["plain"], strict=True))
    print(
        f"{name}: unwrapped p50 {p_plain[0] / 1000:.3f} ms, wrapped p50 {p_wrapped[0] / 1000:.3f} ms, "
        f"added p50 {(p_wrapped[0] - p_plain[0]) / 1000:+.3f} ms "
        f"(median of pair differences {statistics.median(deltas) / 1e6:+.3f} ms)"
    )


def bench_wrapped(upstream: str, calls: int) -> None:
    plain_openai = OpenAI(base_url=upstream + "/v1", api_key="sk", max_retries=0)
    wrapped_openai = tokenoptimizer.wrap(OpenAI(base_url=upstream + "/v1", api_key="sk", max_retries=0))
    plain_anthropic = Anthropic(base_url=upstream, api_key="sk", max_retries=0)
    wrapped_anthropic = tokenoptimizer.wrap(Anthropic(base_url=upstream, api_key="sk", max_retries=0))

    def chat(client: OpenAI) -> Callable[[], Any]:
        return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    def chat_stream(client: OpenAI) -> Callable[[], Any]:
        def run() -> None:
            for _ in client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            ):
                pass

        return run

    def messages(client: Anthropic) -> Callable[[], Any]:
        return lambda: client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES)

    paired("openai chat.completions.create", chat(plain_openai), chat(wrapped_openai), calls)
    paired("openai chat stream (12 chunks)", chat_stream(plain_openai), chat_stream(wrapped_openai), calls)
    paired("anthropic messages.create", messages(plain_anthropic), messages(wrapped_anthropic), calls)
    assert tokenoptimizer.flush(60)
    for client in (plain_openai, wrapped_openai, plain_anthropic, wrapped_anthropic):
        client.close()


def bench_own_work(upstream: str) -> None:
    client = OpenAI(base_url=upstream + "/v1", api_key="sk", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    client.close()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    clock = time.perf_counter_ns

    def record_parsed() -> None:
        Call("openai", "chat", "chat", "/chat/completions", body).result(reply)

    def observe_stream() -> None:
        call = Call("openai", "chat", "chat", "/chat/completions", body)
        for _ in call._observe(iter(chunks)):
            pass

    for label, fn in (
        ("a parsed response", record_parsed),
        (f"a {len(chunks)}-chunk stream", observe_stream),
    ):
        samples = []
        for _ in range(20_000):
            t0 = clock()
            fn()
            samples.append(clock() - t0)
        p50, p95, _ = percentiles(samples)
        print(f"SDK work per wrapped call, {label}: p50 {p50:.1f} µs, p95 {p95:.1f} µs")
    assert tokenoptimizer.flush(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=1500, help="pairs of wrapped/unwrapped calls per kind")
    parser.add_argument("--track", type=int, default=50_000, help="track() calls")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with running_server() as server, fake_upstream() as upstream, tempfile.TemporaryDirectory() as spool:
        tokenoptimizer.configure(api_key=server.key, base_url=server.url, spool_dir=spool)
        bench_track(args.track)
        bench_own_work(upstream)
        bench_wrapped(upstream, args.calls)
        tokenoptimizer.shutdown()


if __name__ == "__main__":
    main()
