"""What the gateway adds to a call: the same load sent straight to a provider and through the gateway.

Starts the fake provider (`tests/fake_upstream.py`, a real HTTP server answering at once) and a
real `tokenoptimizer serve` whose server-wide OpenAI upstream is that provider. Then, for each
scenario (non-streaming chat, streaming chat) and concurrency (1, 32), `wrk` sends the same number
of requests straight to the provider and through the gateway, and the difference of the latency
percentiles is what the gateway adds. Every call through the gateway is priced and stored. Each
pair of runs is repeated (`--rounds`, 3), interleaved; the table shows the medians, as the p99 of
a 2,000-call run moves by ±10 ms from run to run on a shared VM, direct calls included.

    .venv/bin/python -m bench.gateway [--requests 2000] [--stream-requests 500] [--delay-ms 0 20]
        [--concurrency 1 32] [--rounds 3] [--jitter-ms 0] [--no-pin]

`wrk` (a C load generator, `make bench` installs it) stops each run after the given number of
requests; a Python client would measure itself.

On a machine with two or more CPUs the gateway runs on one half of them and the load (`wrk` and
the fake provider) on the other (`--no-pin` to share them), as a gateway in front of remote
providers and remote clients would. Shared, the gateway's own work slows the provider it is
measured against, and `wrk` and the provider slow the gateway: on the 2-vCPU benchmark machine
that alone added ~1.5 ms to the provider's answers at concurrency 32 (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from bench.common import BIN, create_key, env_for, free_port, rss_mib

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Write one sentence about the sea and the sky at dawn."},
    ],
    "max_tokens": 64,
}

LUA = """
local counter = 0
local limit = tonumber(os.getenv("BENCH_PER_CONNECTION_LIMIT"))
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
wrk.headers["x-tko-feature"] = "bench"
response = function(status, headers, body)
  counter = counter + 1
  if counter == limit then
    io.write("THREAD_DONE\\n")
    io.flush()
    wrk.thread:stop()
  end
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d errors=%d status_errors=%d p50=%d p90=%d p99=%d\\n",
    summary.requests, errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{url} did not start")
        time.sleep(0.2)


@dataclass(frozen=True)
class Cpus:
    """Which CPUs the gateway and the load (wrk, the fake provider) run on; None: any."""

    gateway: frozenset[int] | None = None
    load: frozenset[int] | None = None

    @classmethod
    def split(cls) -> Cpus:
        """The gateway on the first half of this process's CPUs, the load on the rest."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls()
        half = len(cpus) // 2
        return cls(frozenset(cpus[:half]), frozenset(cpus[half:]))

    def describe(self) -> str:
        if self.gateway is None or self.load is None:
            return "gateway and load share every CPU"
        return f"gateway on CPU {_listed(self.gateway)}, wrk and fake provider on CPU {_listed(self.load)}"


def _listed(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def pinned(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A `preexec_fn` keeping a child (and every thread it starts) on `cpus`."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


@contextmanager
def fake_provider(
    delay_ms: float, cpus: frozenset[int] | None = None, jitter_ms: float = 0.0
) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_upstream",
            "--port",
            str(port),
            "--delay-ms",
            str(delay_ms),
            "--jitter-ms",
            str(jitter_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(cpus),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/v1/models", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def gateway(upstream: str, cpus: frozenset[int] | None = None) -> Iterator[tuple[str, str, int]]:
    with tempfile.TemporaryDirectory(prefix="tko-bench-gw-") as tmp:
        data_dir = Path(tmp)
        key = create_key(data_dir, scopes="ingest,read")
        port = free_port()
        env = {
            **env_for(data_dir),
            "TOKENOPTIMIZER_OPENAI_BASE_URL": upstream + "/v1",
            "TOKENOPTIMIZER_OPENAI_API_KEY": "sk-bench-upstream",
        }
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned(cpus),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url + "/api/health", process)
            yield url, key, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def run_wrk(
    url: str, key: str, body: bytes, requests: int, concurrency: int, cpus: frozenset[int] | None = None
) -> Result:
    threads = 1 if concurrency == 1 else 2
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    env = {
        **os.environ,
        "BENCH_BODY": body.decode(),
        "BENCH_KEY": key,
        "BENCH_PER_CONNECTION_LIMIT": str(max(1, requests // threads)),
    }
    # wrk runs for its whole duration even after every thread stopped: stop it (SIGINT makes it
    # print its summary) once each thread reports its share done, and time the run here.
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            "600s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=pinned(cpus),
    )
    assert process.stdout is not None
    lines: list[str] = []
    done = 0
    elapsed = 0.0
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("THREAD_DONE"):
                done += 1
                if done == threads:
                    elapsed = time.perf_counter() - started
                    process.send_signal(signal.SIGINT)
                    break
        lines.extend(process.stdout)
        process.wait(timeout=60)
        elapsed = elapsed or time.perf_counter() - started
    finally:
        os.unlink(script.name)
    out = "".join(lines)
    match = re.search(r"RESULT (.*)", out)
    if match is None:
        raise RuntimeError(out)
    values = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
    return Result(
        requests=values["requests"],
        seconds=elapsed,
        errors=values["errors"] + values["status_errors"],
        p50_ms=values["p50"] / 1000,
        p90_ms=values["p90"] / 1000,
        p99_ms=values["p99"] / 1000,
    )


def count_events(url: str, key: str) -> int:
    total, cursor = 0, None
    while True:
        params: dict[str, str | int] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            url + "/api/v1/events", params=params, headers={"Authorization": f"Bearer {key}"}
        ).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


def run_delay(args: argparse.Namespace, delay_ms: float, cpus: Cpus) -> list[str]:
    """Every scenario at one provider delay; the table rows."""
    scenarios = [
        ("non-streaming", orjson.dumps(BODY), args.requests),
        ("streaming", orjson.dumps({**BODY, "stream": True}), args.stream_requests),
    ]
    rows: list[str] = []
    answered = 0
    with (
        fake_provider(delay_ms, cpus.load, args.jitter_ms) as provider,
        gateway(provider, cpus.gateway) as (gw_url, key, pid),
    ):
        direct_url = provider + "/v1/chat/completions"
        proxied_url = gw_url + "/gateway/openai/v1/chat/completions"
        # Warm up both paths (connections, caches, the tokenizer, DuckDB) at the highest
        # concurrency, so that no measured run opens the connections of its first calls.
        warm = max(args.concurrency)
        run_wrk(direct_url, key, scenarios[0][1], 500, warm, cpus.load)
        answered += run_wrk(proxied_url, key, scenarios[0][1], 500, warm, cpus.load).requests
        for name, body, requests in scenarios:
            for concurrency in args.concurrency:
                directs: list[Result] = []
                proxieds: list[Result] = []
                for _ in range(args.rounds):  # interleaved, so that a slow minute hits both
                    directs.append(run_wrk(direct_url, key, body, requests, concurrency, cpus.load))
                    proxieds.append(run_wrk(proxied_url, key, body, requests, concurrency, cpus.load))
                    answered += proxieds[-1].requests
                pairs = zip(directs, proxieds, strict=True)
                added = [(p.p50_ms - d.p50_ms, p.p99_ms - d.p99_ms) for d, p in pairs]
                rows.append(
                    f"| {delay_ms:g} | {name} | {concurrency} | {requests} "
                    f"| {_percentiles(directs)} | {_percentiles(proxieds)} "
                    f"| **{_median(a for a, _ in added):+.2f}** / **{_median(b for _, b in added):+.2f}** "
                    f"| {_median(r.throughput for r in directs):,.0f} "
                    f"/ {_median(r.throughput for r in proxieds):,.0f} "
                    f"| {sum(r.errors for r in directs)} / {sum(r.errors for r in proxieds)} |"
                )
                print(rows[-1], flush=True)
                if args.rounds > 1:
                    each = ", ".join(f"{a:+.2f} / {b:+.2f}" for a, b in added)
                    print(f"    added p50 / p99 in each round: {each}", flush=True)
        rss = rss_mib(pid)
        time.sleep(1.5)  # the gateway stores events in batches, every 0.5 s
        stored = count_events(gw_url, key)
    print(
        f"provider delay {delay_ms:g} ms: {stored} events stored, {answered} calls answered; "
        f"gateway RSS {rss:.0f} MiB"
    )
    return rows


def _median(values: Iterable[float]) -> float:
    return statistics.median(values)


def _percentiles(results: list[Result]) -> str:
    return f"{_median(r.p50_ms for r in results):.2f} / {_median(r.p99_ms for r in results):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="non-streaming requests per run")
    parser.add_argument("--stream-requests", type=int, default=500, help="streaming requests per run")
    parser.add_argument(
        "--delay-ms", type=float, nargs="+", default=[0.0, 20.0], help="the fake provider's answer delays"
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 32], help="connections of each run (default: 1 32)"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="vary each provider delay uniformly by up to this much"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="direct/gateway run pairs per row; the table shows medians"
    )
    parser.add_argument("--no-pin", action="store_true", help="let the gateway and the load share every CPU")
    args = parser.parse_args()

    cpus = Cpus() if args.no_pin else Cpus.split()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs; {cpus.describe()})")
    rows = [row for delay in args.delay_ms for row in run_delay(args, delay, cpus)]
    print()
    print(
        "| provider delay ms | load | concurrency | requests | direct p50 / p99 ms | gateway p50 / p99 ms "
        "| added p50 / p99 ms | throughput direct / gateway req/s | errors direct / gateway |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
