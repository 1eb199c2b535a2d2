"""Dashboard speed in a real browser: the overview's cold load and its redraw after a filter change.

Uses the demo events of `bench/analytics.py` (`bench/.data/analytics-<n>/`, loaded first if
missing), copied to `bench/.data/ui-<n>/` because the server holds its DuckDB file exclusively and
another benchmark may be serving the original. Starts a real `tokenoptimizer serve` on the copy
(`bench/common.py`), logs in as a dashboard user, and drives Debian's Chromium with Playwright:

1. cold load: a new browser context (empty cache, fresh JS heap), `GET /` until every panel of
   the overview is drawn — the headline cards, the trend and the four breakdowns each carry
   `data-ready="true"` once their query answered for the current view and rendered, and the
   charts among them must have drawn their SVG. Timed inside the page (`performance.now()` from
   the navigation start), by a MutationObserver installed before the app's scripts;
2. filter redraw: in that page, add a model filter through the filter bar and time from the click
   until every panel is ready again with the filtered figures (each run in a new context, so no
   answer comes from the query cache);
3. the JavaScript the first page loads, raw and gzipped (what a compressing proxy would send).

Prints the medians of `--runs` runs after one warm-up run.

    .venv/bin/python -m bench.ui --events 10000000 [--runs 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from bench.common import BIN, env_for, running_server

DATA = Path(__file__).parent / ".data"
STATIC = Path(__file__).resolve().parents[1] / "src" / "tokenoptimizer" / "server" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
EMAIL = "bench@ui.example"
PASSWORD = "bench ui password, not a secret"
# Headline cards, the trend, and the four breakdowns (model, provider, feature, project).
OVERVIEW_PANELS = 6
TARGETS = {"cold load ms": 1500.0, "filter redraw ms": 500.0, "first page JS KB gzipped": 400.0}

# Runs before the app's scripts: records when every `[data-ready]` panel is ready (charts drawn),
# and, after a click while armed, when the panels went busy and then all ready again.
PROBE = """
(() => {
  const expected = __PANELS__;
  const bench = { readyAt: null, armed: false, clickAt: null, busyAt: null, redrawnAt: null };
  window.__bench = bench;
  const drawn = (panel) =>
    panel.getAttribute("data-ready") === "true" &&
    (!panel.querySelector(".recharts-responsive-container") || panel.querySelector("svg.recharts-surface"));
  const check = () => {
    const panels = document.querySelectorAll("[data-ready]");
    const ready = panels.length >= expected && Array.from(panels).every(drawn);
    const now = performance.now();
    if (ready && bench.readyAt === null) bench.readyAt = now;
    if (bench.clickAt !== null && bench.redrawnAt === null) {
      if (!ready && bench.busyAt === null) bench.busyAt = now;
      else if (ready && bench.busyAt !== null) bench.redrawnAt = now;
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-ready"],
  });
  document.addEventListener("click", () => {
    if (bench.armed) { bench.armed = false; bench.clickAt = performance.now(); check(); }
  }, true);
})();
""".replace("__PANELS__", str(OVERVIEW_PANELS))


# -- the data --------------------------------------------------------------------------------------


def prepare(events: int) -> Path:
    """`bench/.data/ui-<events>/`: a copy of the analytics benchmark's data set (loaded if missing)."""
    target = DATA / f"ui-{events}"
    if (target / "manifest.json").exists():
        return target
    source = DATA / f"analytics-{events}"
    if not (source / "manifest.json").exists():
        from bench.analytics import load

        load(events)
    if target.exists():
        shutil.rmtree(target)
    started = time.perf_counter()
    # The manifest last: a copy cut short is not mistaken for a whole one next time.
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("manifest.json", "READY"))
    shutil.copy2(source / "manifest.json", target / "manifest.json")
    print(f"copied {source.name} to {target.name} in {time.perf_counter() - started:.0f} s")
    return target


def ensure_user(data_dir: Path) -> None:
    """A dashboard login in the data set's organisation (kept between runs)."""
    done = subprocess.run(
        [str(BIN), "users", "create", "--email", EMAIL, "--password", PASSWORD, "--role", "owner"],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "exist" not in (done.stdout + done.stderr).lower():
        raise RuntimeError(f"`tokenoptimizer users create` failed:\n{done.stdout}{done.stderr}")


def top_models(url: str, key: str, count: int) -> list[str]:
    """The most used models of the overview's range (the values the filter bar suggests)."""
    answer = httpx.get(
        f"{url}/api/v1/usage/breakdown",
        params={"by": "model", "sort": "requests", "limit": count},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    answer.raise_for_status()
    return [row["key"] for row in answer.json()["rows"] if row["key"]]


# -- one run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    cold_ms: float
    redraw_ms: float
    scripts: list[str] = field(default_factory=list)


@contextmanager
def logged_in_page(browser: Browser, url: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(60_000)
    try:
        answer = context.request.post(f"{url}/api/v1/auth/login", data={"email": EMAIL, "password": PASSWORD})
        if not answer.ok:
            raise RuntimeError(f"login failed: {answer.status} {answer.text()}")
        page = context.new_page()
        page.add_init_script(PROBE)
        yield page
    finally:
        context.close()


def one_run(browser: Browser, url: str, model: str) -> Run:
    with logged_in_page(browser, url) as page:
        scripts: list[str] = []
        page.on(
            "request",
            lambda request: scripts.append(request.url) if request.resource_type == "script" else None,
        )
        page.goto(f"{url}/")
        page.wait_for_function("window.__bench.readyAt !== null", polling=50)
        cold = float(page.evaluate("window.__bench.readyAt"))

        page.get_by_label("Filter on").select_option("model")
        page.get_by_label("Value", exact=True).fill(model)
        page.evaluate("window.__bench.armed = true")
        page.get_by_role("button", name="Add filter").click()
        page.wait_for_function("window.__bench.redrawnAt !== null", polling=50)
        bench: dict[str, Any] = page.evaluate("window.__bench")
        if f"model={model}" not in page.url.replace("%2F", "/"):
            raise RuntimeError(f"the filter did not reach the URL: {page.url}")
        return Run(cold_ms=cold, redraw_ms=bench["redrawnAt"] - bench["clickAt"], scripts=scripts)


def script_sizes(urls: list[str]) -> tuple[int, int]:
    """Raw and gzipped bytes of the app's scripts the page loaded (read from the built files)."""
    raw = packed = 0
    for path in sorted({urlparse(u).path for u in urls}):
        file = STATIC / path.lstrip("/")
        if file.is_file():
            data = file.read_bytes()
            raw += len(data)
            packed += len(gzip.compress(data, compresslevel=9))
    return raw, packed


# -- main ------------------------------------------------------------------------------------------


def bench(events: int, runs: int) -> dict[str, float]:
    if not (STATIC / "index.html").is_file():
        raise SystemExit("the dashboard is not built: run `make ui` first")
    data_dir = prepare(events)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    ensure_user(data_dir)
    with running_server(data_dir) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            models = top_models(server.url, server.key, 8)
            one_run(browser, server.url, models[0])  # warm-up: server caches, Chromium's first start
            results = [one_run(browser, server.url, models[i % len(models)]) for i in range(runs)]
        finally:
            browser.close()
    raw, packed = script_sizes(results[0].scripts)
    cold = [r.cold_ms for r in results]
    redraw = [r.redraw_ms for r in results]
    figures = {
        "cold load ms": statistics.median(cold),
        "filter redraw ms": statistics.median(redraw),
        "first page JS KB gzipped": packed / 1000,
    }
    print(
        f"\n{manifest['events']:,} events over {manifest['days']} days; overview of the last 30 days; "
        f"median of {runs} runs (each a new browser context) after one warm-up"
    )
    print(f"{'what':20} {'median':>8} {'min':>8} {'max':>8} {'target':>8}")
    for name, samples in (("cold load ms", cold), ("filter redraw ms", redraw)):
        row = f"{name:20} {figures[name]:8.0f} {min(samples):8.0f} {max(samples):8.0f}"
        print(f"{row} {'< ' + format(TARGETS[name], '.0f'):>8}")
    print(
        f"first page JS: {len(set(results[0].scripts))} files, {raw / 1000:.0f} KB raw, "
        f"{packed / 1000:.0f} KB gzipped (target < 400 KB gzipped)"
    )
    for name, value in figures.items():
        if value >= TARGETS[name]:
            print(f"  MISSED: {name} {value:.0f} ≥ {TARGETS[name]:.0f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[10_000_000], help="data set sizes (events)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per size")
    args = parser.parse_args()
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{platform.machine()}, Python {platform.python_version()}, {version}")
    for events in args.events:
        bench(events, args.runs)


if __name__ == "__main__":
    main()
