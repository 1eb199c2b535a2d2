"""Browser tests of the built dashboard: a real `tokenoptimizer serve` and a real headless Chromium.

The server runs in a subprocess on a free port with a throwaway data directory (as bench/common.py
does); the browser is Debian's Chromium driven by Playwright (`playwright install` is not used).
`make test` installs Chromium (scripts/system-deps.sh) and builds the UI (`make ui`) first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
UI_INDEX = ROOT / "src" / "tokenoptimizer" / "server" / "static" / "index.html"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BIN = Path(sys.executable).parent / "tokenoptimizer"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

AXE_SCRIPT = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_FAILING_IMPACTS = ("serious", "critical")

OWNER_EMAIL = "owner@e2e.example"
OWNER_PASSWORD = "correct horse battery staple"


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    ingest_key: str
    email: str = OWNER_EMAIL
    password: str = OWNER_PASSWORD


def _server_env(data_dir: Path) -> dict[str, str]:
    # Settings come from TOKENOPTIMIZER_* variables: drop any of the caller's so the server only
    # sees the throwaway data directory (SQLite + DuckDB files in it).
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENOPTIMIZER_")}
    env["TOKENOPTIMIZER_DATA_DIR"] = str(data_dir)
    env["TOKENOPTIMIZER_SECRET_KEY"] = "e2e-" + "x" * 44
    return env


def _cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN), *args], env=_server_env(data_dir), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        pytest.fail(f"`tokenoptimizer {' '.join(args[:2])}` failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`tokenoptimizer serve` with the built UI, an organisation, its owner and an ingest key."""
    if not UI_INDEX.is_file():
        pytest.fail(f"the dashboard is not built ({UI_INDEX} is missing): run `make test`, which builds it")
    data_dir = tmp_path_factory.mktemp("e2e-data")
    # `keys create` creates the default organisation, which `users create` then joins.
    key = _cli(data_dir, "keys", "create", "--project", "web-app", "--scopes", "ingest,read")
    key = key.strip().splitlines()[-1]
    _cli(data_dir, "users", "create", "--email", OWNER_EMAIL, "--password", OWNER_PASSWORD, "--role", "owner")

    port = free_port()
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_server_env(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`tokenoptimizer serve` did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield LiveServer(url=url, data_dir=data_dir, ingest_key=key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (Playwright's own browser download does not work here).

    Module-scoped, Playwright included: the sync API keeps an asyncio loop running in this thread
    while it is started, which would break the pytest-asyncio tests that run after this module.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs it (scripts/system-deps.sh)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@dataclass
class ConsoleErrors:
    """Console errors and uncaught exceptions of the page, as (text, url) pairs."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append((f"console.error: {message.text}", message.location.get("url", "")))

    def on_page_error(self, error: Error) -> None:
        self.messages.append((f"uncaught {error.name}: {error.message}", ""))

    def take_expected(self, text: str, url: str) -> None:
        """Remove one error a test caused on purpose, matched exactly; fail when it is not there."""
        wanted = (f"console.error: {text}", url)
        assert wanted in self.messages, f"expected console error {wanted} not in {self.messages}"
        self.messages.remove(wanted)


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size; fails the test on any console error.

    No message is filtered out: the tests log in on /login first, which does not call /api/v1/me,
    so the expected 401 of a logged-out visit to a protected page never happens.
    """
    context = browser.new_context(
        viewport=DESKTOP,
        locale="en-US",
        timezone_id="UTC",
        accept_downloads=True,
        reduced_motion="reduce",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", console_errors.on_console)
    page.on("pageerror", console_errors.on_page_error)
    try:
        yield page
    finally:
        context.close()
    if console_errors.messages:
        lines = [f"{text} [{url}]" if url else text for text, url in console_errors.messages]
        pytest.fail("the browser reported errors:\n" + "\n".join(lines))


def assert_accessible(page: Page, name: str) -> None:
    """Run axe-core on the page as drawn; fail on any "serious" or "critical" violation.

    axe-core is a devDependency of frontend/ (installed by `make test`), injected from node_modules.
    """
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"axe-core is missing ({AXE_SCRIPT}): run `make test`, which installs the frontend deps")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
                summary: v.nodes.length ? v.nodes[0].failureSummary : "",
                count: v.nodes.length,
            }));
        }"""
    )
    failing = [v for v in violations if v["impact"] in AXE_FAILING_IMPACTS]
    if failing:
        lines = [
            f"- {v['id']} ({v['impact']}, {v['count']} nodes): {v['help']}\n"
            f"    targets: {json.dumps(v['targets'])}\n    {v['summary']}".rstrip()
            for v in failing
        ]
        pytest.fail(f"accessibility violations on {name} ({page.url}):\n" + "\n".join(lines))
