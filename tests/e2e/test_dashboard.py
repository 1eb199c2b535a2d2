"""The dashboard in a real browser against a real server, on a small data set whose figures are known.

Five events are sent through the public ingest API; their costs are worked out below by hand from
the list prices, so every figure the UI shows is checked against an independent number.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleErrors, LiveServer, assert_accessible
from tokenoptimizer.pricing.cost import CATALOGUE_SOURCE

# List prices in USD per million tokens (input, output), as the price catalogue has them.
PRICES = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
}
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Seed:
    model: str
    input_tokens: int
    output_tokens: int
    hours_ago: int
    feature: str
    user: str
    status: str = "ok"
    error_type: str | None = None

    @property
    def cost_input(self) -> Decimal:
        return self.input_tokens * PRICES[self.model][0] / MILLION

    @property
    def cost_output(self) -> Decimal:
        return self.output_tokens * PRICES[self.model][1] / MILLION

    @property
    def cost(self) -> Decimal:
        return self.cost_input + self.cost_output


SEEDS = [
    Seed("gpt-4o-mini", 1_200_000, 300_000, 2, "support-chat", "alice"),  # 0.18 + 0.18 = 0.36
    Seed("gpt-4o-mini", 2_000_000, 500_000, 26, "summarize", "bob"),  # 0.30 + 0.30 = 0.60
    Seed("gpt-4o-mini", 400_000, 100_000, 50, "classify", "alice"),  # 0.06 + 0.06 = 0.12
    Seed("gpt-4o", 800_000, 150_000, 5, "report-writer", "carol"),  # 2.00 + 1.50 = 3.50
    Seed("gpt-4o", 200_000, 50_000, 74, "report-draft", "carol", "error", "rate_limit"),  # 0.50 + 0.50 = 1.00
]
TOTAL_SPEND = Decimal("5.58")  # 0.36 + 0.60 + 0.12 + 3.50 + 1.00
MINI_SPEND = Decimal("1.08")  # 0.36 + 0.60 + 0.12


def usd(value: Decimal) -> str:
    """Money as the UI's formatMoney writes USD in en-US (frontend/src/lib/format.ts).

    At least one dollar: two decimals with grouping. Below: 2 to 3 significant digits.
    """
    if value == 0 or abs(value) >= 1:
        return f"${value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    exponent = value.adjusted()
    rounded = value.quantize(Decimal(1).scaleb(exponent - 2), ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    min_places = 1 - exponent  # two significant digits
    while len(fraction) > min_places and fraction.endswith("0"):
        fraction = fraction[:-1]
    return f"${whole}.{fraction}"


def test_usd_formatting_mirrors_the_ui() -> None:
    assert [usd(Decimal(v)) for v in ["5.58", "1234.5", "0.36", "0.6", "0.125", "0.0008", "1"]] == [
        "$5.58",
        "$1,234.50",
        "$0.36",
        "$0.60",
        "$0.125",
        "$0.00080",
        "$1.00",
    ]


def test_the_seed_adds_up() -> None:
    assert sum(seed.cost for seed in SEEDS) == TOTAL_SPEND
    assert sum(seed.cost for seed in SEEDS if seed.model == "gpt-4o-mini") == MINI_SPEND


@dataclass
class Seeded:
    server: LiveServer
    event_ids: dict[str, Seed]  # event_id → seed


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    now = datetime.now(UTC).replace(microsecond=0)
    events = {str(uuid.uuid4()): seed for seed in SEEDS}
    body = {
        "events": [
            {
                "event_id": event_id,
                "ts": (now - timedelta(hours=seed.hours_ago)).isoformat(),
                "provider": "openai",
                "model": seed.model,
                "input_tokens": seed.input_tokens,
                "output_tokens": seed.output_tokens,
                "latency_ms": 800,
                "status": seed.status,
                "error_type": seed.error_type,
                "feature": seed.feature,
                "user": seed.user,
            }
            for event_id, seed in events.items()
        ]
    }
    answer = httpx.post(
        f"{live_server.url}/api/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": len(SEEDS), "duplicates": 0}
    return Seeded(server=live_server, event_ids=events)


def log_in(page: Page, server: LiveServer) -> None:
    """Through the login form; /login itself does not call /api/v1/me, so no 401 is logged."""
    page.goto(f"{server.url}/login")
    page.get_by_label("E-mail").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def card_value(page: Page, label: str) -> Locator:
    """The figure of one headline card (Spend, Requests, …) of the overview."""
    cards = page.get_by_role("region", name="Headline figures").locator(":scope > div")
    return cards.filter(has=page.get_by_text(label, exact=True)).locator("p").nth(1)


def drawer_field(dialog: Locator, label: str) -> Locator:
    """The value next to a label of the event drawer's definition lists."""
    term = dialog.locator("dt").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd")


def test_login_then_overview_shows_the_seeded_totals(
    page: Page, seeded: Seeded, console_errors: ConsoleErrors
) -> None:
    server = seeded.server
    page.goto(f"{server.url}/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert_accessible(page, "login")
    page.get_by_label("E-mail").fill(server.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    # That attempt answers 401 on purpose and Chromium logs it as a console error: take exactly that
    # one message out; any other error still fails the test.
    console_errors.take_expected(
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)",
        f"{server.url}/api/v1/auth/login",
    )
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(card_value(page, "Spend")).to_have_text(usd(TOTAL_SPEND))
    expect(card_value(page, "Requests")).to_have_text(str(len(SEEDS)))
    expect(card_value(page, "Error rate")).to_have_text("20%")  # 1 error in 5
    expect(page.get_by_text("Last 30 days · all projects · UTC · USD")).to_be_visible()
    expect(page.locator('[aria-labelledby="trend-title"][data-ready="true"] svg')).to_be_visible()
    assert_accessible(page, "overview")


def test_model_filter_changes_the_spend(page: Page, seeded: Seeded) -> None:
    log_in(page, seeded.server)
    expect(card_value(page, "Spend")).to_have_text(usd(TOTAL_SPEND))

    page.get_by_label("Filter on").select_option("model")
    page.get_by_label("Value", exact=True).fill("gpt-4o-mini")
    page.get_by_role("button", name="Add filter").click()

    expect(page).to_have_url(re.compile(r"\?(.*&)?model=gpt-4o-mini(&|$)"))
    expect(page.get_by_role("button", name="Remove filter Model gpt-4o-mini")).to_be_visible()
    expect(card_value(page, "Spend")).to_have_text(usd(MINI_SPEND))
    expect(card_value(page, "Requests")).to_have_text("3")

    page.get_by_role("button", name="Remove filter Model gpt-4o-mini").click()
    expect(card_value(page, "Spend")).to_have_text(usd(TOTAL_SPEND))
    expect(card_value(page, "Requests")).to_have_text(str(len(SEEDS)))


def test_logs_row_opens_its_detail_drawer(page: Page, seeded: Seeded) -> None:
    log_in(page, seeded.server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    expect(page).to_have_url(f"{seeded.server.url}/logs")
    expect(page.get_by_text(f"{len(SEEDS)} events shown")).to_be_visible()
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(len(SEEDS))

    seed = next(s for s in SEEDS if s.feature == "report-writer")
    event_id = next(i for i, s in seeded.event_ids.items() if s is seed)
    row = rows.filter(has_text=seed.feature)
    expect(row).to_contain_text(usd(seed.cost))
    row.get_by_role("button", name=re.compile(rf"^Details of the {re.escape(seed.model)} call at ")).click()

    dialog = page.get_by_role("dialog", name=f"openai / {seed.model}")
    expect(dialog).to_be_visible()
    expect(drawer_field(dialog, "Cost")).to_have_text(usd(seed.cost))  # $3.50
    expect(drawer_field(dialog, "Input")).to_have_text(usd(seed.cost_input))  # $2.00
    expect(drawer_field(dialog, "Output")).to_have_text(usd(seed.cost_output))  # $1.50
    expect(drawer_field(dialog, "Price source")).to_have_text(CATALOGUE_SOURCE)
    expect(drawer_field(dialog, "Input tokens")).to_have_text(f"{seed.input_tokens:,}")
    expect(drawer_field(dialog, "Feature")).to_have_text(seed.feature)
    expect(drawer_field(dialog, "Project")).to_have_text("web-app")
    expect(drawer_field(dialog, "Event id")).to_have_text(event_id)
    assert_accessible(page, "logs with the event drawer open")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_logs_csv_export_matches_the_seeded_events(page: Page, seeded: Seeded) -> None:
    log_in(page, seeded.server)
    page.goto(f"{seeded.server.url}/logs")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(len(SEEDS))

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"events-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    expect(page.get_by_role("status").filter(has_text="Exported")).to_have_text(
        f"Exported {len(SEEDS)} events."
    )

    text = download.path().read_bytes().decode("utf-8")  # bytes: read_text would turn CRLF into LF
    assert text.endswith("\r\n")  # RFC 4180 line ends
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert {row["event_id"] for row in rows} == set(seeded.event_ids)
    assert len(rows) == len(SEEDS)
    for row in rows:
        seed = seeded.event_ids[row["event_id"]]
        assert row["provider"] == "openai"
        assert row["model"] == seed.model
        assert int(row["input_tokens"]) == seed.input_tokens
        assert int(row["output_tokens"]) == seed.output_tokens
        assert row["status"] == seed.status
        assert row["error_type"] == (seed.error_type or "")
        assert row["feature"] == seed.feature
        assert row["user"] == seed.user
        assert row["currency"] == "USD"
        assert row["price_source"] == CATALOGUE_SOURCE
        assert abs(Decimal(row["cost"]) - seed.cost) < Decimal("1e-9"), row
        assert abs(Decimal(row["cost_usd"]) - seed.cost) < Decimal("1e-9"), row
    assert abs(sum(Decimal(row["cost"]) for row in rows) - TOTAL_SPEND) < Decimal("1e-9")


def test_client_route_reloads_to_the_app(page: Page, seeded: Seeded) -> None:
    server = seeded.server
    log_in(page, server)
    response = page.goto(f"{server.url}/some/client/route")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    expect(page.get_by_text("No such page")).to_be_visible()  # the app's own not-found page
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.get_by_text("No such page")).to_be_visible()
    page.get_by_role("link", name="Back to the overview").click()
    expect(card_value(page, "Spend")).to_have_text(usd(TOTAL_SPEND))

    # API paths keep their 404 instead of falling back to the app.
    assert httpx.get(f"{server.url}/api/v1/no-such-route", timeout=10).status_code == 404


def test_screenshots_at_desktop_and_phone_widths(page: Page, seeded: Seeded) -> None:
    server = seeded.server
    log_in(page, server)
    SCREENSHOTS.mkdir(exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)

        page.goto(f"{server.url}/")
        expect(card_value(page, "Spend")).to_have_text(usd(TOTAL_SPEND))
        expect(page.locator('[aria-labelledby="trend-title"][data-ready="true"] svg')).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"overview-{name}.png", full_page=True)

        page.goto(f"{server.url}/logs")
        expect(page.get_by_role("table").locator("tbody tr")).to_have_count(len(SEEDS))
        page.screenshot(path=SCREENSHOTS / f"logs-{name}.png", full_page=True)
    for shot in ("overview-desktop", "overview-phone", "logs-desktop", "logs-phone"):
        assert (SCREENSHOTS / f"{shot}.png").stat().st_size > 10_000, shot
