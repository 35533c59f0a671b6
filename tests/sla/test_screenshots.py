"""Screenshots of the battle map in a real browser: the office's dashboard and the lobby screen,
drawn by ECharts from a snapshot of the demo city, saved as PNGs under artifacts/screenshots/.

Debian's Chromium (/usr/bin/chromium) driven by Playwright for Python; skipped when either is
missing, unless REQUIRE_SERVICES=1 (CI), where a missing browser is a failure. The browser
must draw every chart without a console error and ask nothing of any host but the test server
(every asset is served from our own static files)."""

import os
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from sla.boards import board_freeze, board_publish
from sla.services import clocks_sweep

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # git-ignored
DEMO_APPEALS = "40"  # about 12 s of demo replay: every state, a handful of each colour
PASSWORD = "screenshot-Pass-2026"
# ECharts animates bars in for about a second after the canvas appears.
ANIMATION_MS = 1500


def _playwright_or_skip():
    """sync_playwright, or skip (fail when REQUIRE_SERVICES=1) if the browser stack is absent."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed"
    else:
        if not CHROMIUM.exists():
            missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is None:
        return sync_playwright
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {missing}")
    pytest.skip(f"screenshots need a browser: {missing}")


@pytest.fixture(scope="session", autouse=True)
def _media_url_the_live_server_can_parse():
    """settings.MEDIA_URL is None on purpose (uploads are served only through a view that
    checks access), but Django's LiveServerThread wraps every request in a media-files handler
    that calls urlparse(MEDIA_URL): None gives a bytes path and every request a 500. The server
    builds that handler when it starts (once per session), so the URL is set before then, to a
    path nothing links to."""
    with override_settings(MEDIA_URL="/media-never-served/"):
        yield


@pytest.fixture
def demo_board(settings):
    """The demo city (`manage.py demo_data`), its colours brought up to date by the sweep, one
    frozen day for the trend chart and a live snapshot; returns the office login."""
    settings.SESSION_COOKIE_SECURE = False  # the live server speaks plain HTTP
    settings.CSRF_COOKIE_SECURE = False
    call_command("demo_data", "--appeals", DEMO_APPEALS, "--force", stdout=StringIO())
    clocks_sweep()
    board_freeze()
    snapshot = board_publish()
    totals = snapshot.data["totals"]
    assert totals["open"] > 0 and totals["green"] > 0 and totals["yellow"] > 0, totals
    office = get_user_model().objects.get(username="office")
    office.set_password(PASSWORD)
    office.save(update_fields=["password"])
    return office


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_dashboard_and_the_lobby_draw_their_charts_in_chromium(live_server, demo_board):
    sync_playwright = _playwright_or_skip()
    started = time.perf_counter()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    server = urlsplit(live_server.url)
    requested: list[str] = []
    errors: list[str] = []

    # All database work is done: the browser session below only talks to the live server.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1440, "height": 900}, locale="zh-CN", device_scale_factor=1
            )
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: errors.append(str(error)))

            page.goto(f"{live_server.url}/accounts/login/?next=/board/")
            page.fill("#id_username", demo_board.username)
            page.fill("#id_password", PASSWORD)
            with page.expect_navigation():
                page.click("main form button")  # the top bar's form switches the language
            assert urlsplit(page.url).path == "/board/"

            _wait_for_charts(page, ["department", "category", "region", "trend"])
            assert page.locator("#total-open").inner_text().strip() != "0"
            page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

            page.set_viewport_size({"width": 1920, "height": 1080})
            page.goto(f"{live_server.url}/board/lobby/")
            _wait_for_charts(page, ["department", "region"])
            page.screenshot(path=str(SCREENSHOTS / "lobby.png"))
        finally:
            browser.close()

    assert errors == []
    strangers = [
        url
        for url in requested
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != server.netloc
    ]
    assert strangers == []
    for name in ("dashboard.png", "lobby.png"):
        assert (SCREENSHOTS / name).stat().st_size > 20_000  # a drawn page, not a blank one
    print(f"screenshots in {time.perf_counter() - started:.1f} s: {SCREENSHOTS}")


def _wait_for_charts(page, kinds: list[str]) -> None:
    """Each chart's canvas is in the page and ECharts has drawn into it."""
    page.wait_for_selector(".chart canvas", timeout=15_000)
    for kind in kinds:
        page.wait_for_selector(f"#chart-{kind} canvas", timeout=15_000)
    page.wait_for_function(
        """kinds => kinds.every(kind => {
            const el = document.getElementById("chart-" + kind);
            const chart = el && window.echarts && window.echarts.getInstanceByDom(el);
            return chart && chart.getOption().series.length > 0;
        })""",
        arg=kinds,
        timeout=15_000,
    )
    page.wait_for_timeout(ANIMATION_MS)
