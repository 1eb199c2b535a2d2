"""`tokenoptimizer import FILE`: straight into the data directory, or through a running server."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from tests.servers import free_port
from tokenoptimizer.cli.main import app as cli
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.settings import Settings
from tokenoptimizer.usage.import_rows import ImportOptions, RowReader
from tokenoptimizer.usage.importer import chunks

CSV = (
    "timestamp,llm_model,prompt_tokens,completion_tokens,cached,user_email,note\n"
    "2025-03-01T10:00:00Z,gpt-4o,1000,200,400,ann@x.example,first\n"
    "2025-03-01T11:00:00Z,gpt-4o-mini,2000,100,0,bob@x.example,second\n"
    "2025-03-01T12:00:00Z,gpt-4o,abc,10,0,ann@x.example,bad tokens\n"
    "2025-03-01T13:00:00Z,gpt-4o,100,10,500,ann@x.example,cache above input\n"
    "2025-03-01T14:00:00Z,gpt-4o-mini,10,1,0,bob@x.example,third\n"
)
MAP = ["--map", "model=llm_model", "--map", "cache_read_tokens=cached", "--map", "user=user_email"]
# gpt-4o: $2.50 input, $1.25 cached input, $10 output; gpt-4o-mini: $0.15 input, $0.60 output (per MTok).
COSTS = {
    "2025-03-01T10": (600 * 2.50 + 400 * 1.25 + 200 * 10.0) / 1e6,
    "2025-03-01T11": (2000 * 0.15 + 100 * 0.60) / 1e6,
    "2025-03-01T14": (10 * 0.15 + 1 * 0.60) / 1e6,
}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TOKENOPTIMIZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOKENOPTIMIZER_SECRET_KEY", "cli-test-secret-key-long-enough")
    monkeypatch.delenv("TOKENOPTIMIZER_BASE_URL", raising=False)
    monkeypatch.delenv("TOKENOPTIMIZER_API_KEY", raising=False)
    monkeypatch.delenv("TOKENOPTIMIZER_EVENTS_URL", raising=False)
    monkeypatch.delenv("TOKENOPTIMIZER_DATABASE_URL", raising=False)
    return CliRunner()


@pytest.fixture
def usage_csv(tmp_path: Path) -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(CSV)
    return path


def create_key(runner: CliRunner, project: str = "web") -> str:
    result = runner.invoke(cli, ["keys", "create", "--project", project, "--scopes", "ingest,read"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def run_import(runner: CliRunner, *args: str) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(cli, ["import", *args, "--json"])
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {}
    return result.exit_code, report, result.output


def read_events(url: str, key: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/api/v1/events", params={"order": "asc"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def served(tmp_path: Path, runner: CliRunner) -> Iterator[str]:
    """`tokenoptimizer serve`'s app on the CLI's data directory, on a free port in a thread."""
    application = create_app(Settings(data_dir=tmp_path), serve_ui=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    application.state.context.close()


async def test_direct_import_report_rejects_file_and_idempotent_rerun(
    runner: CliRunner, usage_csv: Path, tmp_path: Path
) -> None:
    key = create_key(runner)
    rejects = tmp_path / "rejects.csv"
    args = [str(usage_csv), "--project", "web", "--provider", "openai", *MAP, "--rejects", str(rejects)]
    code, report, output = run_import(runner, *args)
    assert code == 2, output  # finished, with rejected rows
    assert (report["rows"], report["accepted"], report["duplicates"], report["rejected_count"]) == (
        5,
        3,
        0,
        2,
    )
    assert report["ignored_columns"] == ["note"]
    with rejects.open() as handle:
        assert list(csv.reader(handle)) == [
            ["line", "field", "message"],
            ["4", "input_tokens", "'abc' is not a whole number"],
            ["5", "cache_read_tokens", "cache_read_tokens + cache_write_tokens cannot exceed input_tokens"],
        ]

    code, report, output = run_import(runner, *args)
    assert (code, report["accepted"], report["duplicates"]) == (2, 0, 3), output

    human = runner.invoke(cli, ["import", *args])
    assert "5 rows read: 0 stored, 3 already stored (duplicates), 2 rejected." in human.stdout
    assert "'abc' is not a whole number" in human.stdout

    application = create_app(Settings(data_dir=tmp_path), serve_ui=False)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get(
                "/api/v1/events", params={"order": "asc"}, headers={"Authorization": f"Bearer {key}"}
            )
            stored = response.json()["items"]
    finally:
        application.state.context.close()
    assert len(stored) == 3
    for event in stored:
        assert event["cost_usd"] == pytest.approx(COSTS[event["ts"][:13]])
        assert event["source"] == "import" and event["provider"] == "openai"
    assert stored[0]["user"] == "ann@x.example" and stored[0]["cache_read_tokens"] == 400


def test_dry_run_stores_nothing(runner: CliRunner, usage_csv: Path) -> None:
    code, report, output = run_import(
        runner, str(usage_csv), "--project", "web", "--provider", "openai", "--dry-run", *MAP
    )
    assert code == 2, output
    assert report["dry_run"] is True and report["accepted"] == 3
    assert report["cost_usd"] == pytest.approx(sum(COSTS.values()))
    code, report, output = run_import(
        runner, str(usage_csv), "--project", "web", "--provider", "openai", *MAP
    )
    assert (report["accepted"], report["duplicates"]) == (3, 0), output  # the dry run stored nothing


def test_through_a_running_server_in_parts(
    runner: CliRunner, usage_csv: Path, tmp_path: Path, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(runner)
    rejects = tmp_path / "rejects.csv"
    args = [str(usage_csv), "--provider", "openai", *MAP, "--chunk-size", "2", "--rejects", str(rejects)]
    code, report, output = run_import(runner, *args, "--url", served, "--api-key", key)
    assert code == 2, output
    assert (report["accepted"], report["rejected_count"]) == (3, 2)
    # Line numbers are the file's, whichever part of it a row was sent in.
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [
        (4, "input_tokens"),
        (5, "cache_read_tokens"),
    ]
    assert [row[0] for row in csv.reader(rejects.read_text().splitlines())][1:] == ["4", "5"]
    stored = read_events(served, key)
    assert [e["cost_usd"] for e in stored] == pytest.approx([COSTS[e["ts"][:13]] for e in stored])

    # The same, configured by environment variables: nothing stored twice.
    monkeypatch.setenv("TOKENOPTIMIZER_BASE_URL", served)
    monkeypatch.setenv("TOKENOPTIMIZER_API_KEY", key)
    code, report, output = run_import(runner, *args)
    assert (report["accepted"], report["duplicates"]) == (0, 3), output
    assert len(read_events(served, key)) == 3

    monkeypatch.setenv("TOKENOPTIMIZER_API_KEY", "tko_wrong")
    refused = runner.invoke(cli, ["import", *args])
    assert refused.exit_code == 1 and "refused the API key" in refused.output


def test_server_holding_the_event_file_is_named(runner: CliRunner, usage_csv: Path, tmp_path: Path) -> None:
    create_key(runner)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.read()",
            str(tmp_path / "events.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = runner.invoke(
            cli, ["import", str(usage_csv), "--project", "web", "--provider", "openai", *MAP]
        )
    finally:
        holder.communicate(input="", timeout=30)
    assert result.exit_code == 1
    assert "held by another process" in result.output and "--url" in result.output


def test_gzipped_jsonl(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl.gz"
    rows = [
        {"ts": "2025-03-01T10:00:00Z", "provider": "openai", "model": "gpt-4o", "input_tokens": n}
        for n in range(1, 4)
    ]
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    code, report, output = run_import(runner, str(path), "--project", "web")
    assert (code, report["accepted"]) == (0, 3), output


def test_bad_options_are_explained(runner: CliRunner, usage_csv: Path, tmp_path: Path) -> None:
    def fails(*args: str) -> str:
        result = runner.invoke(cli, ["import", *args])
        assert result.exit_code == 1, result.output
        return " ".join(result.output.split())

    assert "--project NAME" in fails(str(usage_csv))
    assert "'tokens' is not an event field" in fails(
        str(usage_csv), "--project", "p", "--map", "tokens=prompt_tokens"
    )
    assert "'engine' (for model)" in fails(str(usage_csv), "--project", "p", "--map", "model=engine")
    assert "--api-key" in fails(str(usage_csv), "--url", "http://127.0.0.1:9")
    other = tmp_path / "usage.txt"
    other.write_text(CSV)
    assert "--format csv" in fails(str(other), "--project", "p")
    assert "cannot reach the server" in fails(
        str(usage_csv), "--url", "http://127.0.0.1:9", "--api-key", "tko_x"
    )


def test_rows_are_read_lazily() -> None:
    """An endless file yields its first chunk at once: files are streamed, never loaded whole."""

    def endless() -> Iterator[str]:
        yield "ts,provider,model,input_tokens\n"
        for n in itertools.count():
            yield f"2025-03-01T10:00:00Z,openai,gpt-4o,{n}\n"

    reader = RowReader(endless(), ImportOptions(format="csv"))
    parsed, rejected = next(chunks(reader, 1000))
    assert len(parsed) == 1000 and not rejected and reader.rows_read == 1000
