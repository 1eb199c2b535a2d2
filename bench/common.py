"""Shared helpers of the benchmarks: a real server in a subprocess, on a throwaway data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "tokenoptimizer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    key: str
    pid: int


def env_for(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOKENOPTIMIZER_DATA_DIR": str(data_dir),
        "TOKENOPTIMIZER_SECRET_KEY": "bench-" + "x" * 40,
    }


def create_key(data_dir: Path, project: str = "bench", scopes: str = "ingest,read,admin") -> str:
    out = subprocess.run(
        [str(BIN), "keys", "create", "--project", project, "--scopes", scopes],
        env=env_for(data_dir),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


@contextmanager
def running_server(data_dir: Path | None = None) -> Iterator[RunningServer]:
    """Start `tokenoptimizer serve` on a free port and wait until it is healthy."""
    with tempfile.TemporaryDirectory(prefix="tko-bench-") as tmp:
        directory = data_dir or Path(tmp)
        key = create_key(directory)
        port = free_port()
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port)],
            env=env_for(directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            yield RunningServer(url=url, data_dir=directory, key=key, pid=process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
