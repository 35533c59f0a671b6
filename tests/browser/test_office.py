"""The office opens the battle map, follows the red number to its list, opens the lobby screen,
gives it a kiosk link, and downloads the full list as Excel; in Chinese and in English, where
the top bar still fits one line at 1366 px and the charts' legends are English.

The charts are drawn by ECharts from our own static files; the journey waits until each chart
has its series, so a broken chart script fails it (the guard sees the error too)."""

import openpyxl
import pytest
from django.contrib.auth import get_user_model

from appeals import services
from appeals.models import Appeal
from reports.boards import board_freeze, board_publish
from sla.services import clocks_sweep
from tests.browser.support import expect, t, tn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# ECharts animates bars in for about a second after the canvas appears.
ANIMATION_MS = 1200
KIOSK = "政务服务中心一楼大厅"


@pytest.fixture
def board(demo_city):
    """The demo city with one appeal flagged blocked (red for sure), its colours brought up to
    date by the sweep, one frozen day for the trend chart and a live snapshot. Returns the
    snapshot's totals and the blocked appeal's number. (How many are yellow or green depends
    on the day the demo is replayed; the journey does not count on it.)"""
    office = get_user_model().objects.get(username="office")
    blocked = Appeal.objects.filter(status=Appeal.Status.IN_PROGRESS).order_by("pk").first()
    services.appeal_flag_blocked(
        actor=office, appeal_id=blocked.pk, blocked=True, reason="企业用地手续卡在省级审批。"
    )
    clocks_sweep()
    board_freeze()
    totals = board_publish().data["totals"]
    assert totals["red"] > 0, totals
    return {**totals, "blocked": blocked.number}


def test_the_office_follows_the_red_number_opens_the_lobby_and_downloads_excel(
    journey, board, authenticators, tmp_path
):
    # -- the battle map ----------------------------------------------------------------------
    page = journey.login("office")
    expect(page.get_by_role("heading", name=t("挂图作战 · 企业诉求办理"))).to_be_visible()
    wait_for_charts(page, ["department", "category", "region", "trend"])
    expect(page.locator("#total-open")).to_have_text(str(board["open"]))
    assert legend(page) == [t("红灯"), t("黄灯"), t("绿灯")]
    journey.shot(page, "dashboard")

    # -- the red number opens the list of red appeals --------------------------------------
    red_card = page.get_by_role("link", name=t("红灯（受阻）"))
    expect(red_card).to_contain_text(str(board["red"]))
    red_card.click()
    expect(page.get_by_role("heading", name=t("诉求清单"))).to_contain_text(str(board["red"]))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(board["red"])
    expect(rows.locator("td:first-child .colour-dot.colour-red")).to_have_count(board["red"])
    journey.shot(page, "red-list")
    numbers = rows.locator("td:first-child a").all_inner_texts()
    assert board["blocked"] in numbers
    assert set(numbers) == set(
        Appeal.objects.filter(colour="red", closed_at__isnull=True).values_list("number", flat=True)
    )

    # -- the lobby screen ------------------------------------------------------------------
    page.get_by_role("link", name=t("返回看板")).click()
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_role("link", name=t("大屏模式"), exact=True).click()
    wait_for_charts(page, ["department", "region"])
    expect(page.locator("#lobby-red")).to_have_text(str(board["red"]))
    expect(page.locator("#lobby-open")).to_have_text(str(board["open"]))
    journey.shot(page, "lobby")

    # -- a kiosk link for the lobby screen: no session, the board only, revocable ------------
    page.go_back()
    page.get_by_role("link", name=t("大屏链接")).click()
    page.get_by_label(t("大屏名称")).fill(KIOSK)
    page.get_by_role("button", name=t("创建链接")).click()
    expect_message_text = page.get_by_role("alert").filter(
        has_text=t("已创建大屏链接：%(label)s。", label=KIOSK)
    )
    expect(expect_message_text).to_be_visible()
    kiosk_url = page.locator("tbody tr input").first.input_value()
    journey.shot(page, "kiosk-links")
    screen = journey.page()  # another browser: no session
    screen.set_viewport_size({"width": 1920, "height": 1080})
    screen.goto(kiosk_url)
    wait_for_charts(screen, ["department", "category", "region"])
    expect(screen.locator("#lobby-red")).to_have_text(str(board["red"]))
    expect(screen.locator("#lobby-updated")).not_to_have_class("lobby-small lobby-stale")
    # It fills the 1080p screen: the charts reach down to its bottom edge.
    bottom = screen.evaluate(
        "document.querySelector('.lobby-charts').getBoundingClientRect().bottom"
    )
    assert 1000 < bottom <= 1080, bottom
    # Tooltips render on the canvas under the CSP: hovering draws one, with no console error.
    box = screen.locator("#chart-department canvas").first.bounding_box()
    screen.mouse.move(box["x"] + box["width"] / 2, box["y"] + 60)
    screen.wait_for_timeout(500)
    option = screen.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("chart-department"))
            .getOption()"""
    )
    assert option["tooltip"][0]["renderMode"] == "richText"
    assert option["yAxis"][0]["axisLabel"]["interval"] == 0
    journey.shot(screen, "kiosk-screen")
    page.get_by_role("button", name=t("停用")).first.click()
    expect(page.get_by_text(t("已停用大屏链接：%(label)s。", label=KIOSK))).to_be_visible()
    screen.reload()
    expect(screen.get_by_role("heading", name=t("没有权限"))).to_be_visible()
    screen.close()

    # -- the full list as Excel -------------------------------------------------------------
    page.get_by_role("link", name=t("挂图作战"), exact=True).click()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name=t("导出清单")).click()
    full = page.locator("section.card", has_text=t("全量问题清单"))
    total = Appeal.objects.count()
    expect(full).to_contain_text(tn("符合条件 %(n)s 条", "符合条件 %(n)s 条", total, n=total))
    journey.shot(page, "exports")
    with page.expect_download() as download_info:
        full.get_by_role("link", name=t("下载 Excel（.xlsx）")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    header, *body = list(sheet.iter_rows(values_only=True))
    assert header[0] == t("登记号")  # in the language of the office user who asked for it
    assert sorted(row[0] for row in body) == sorted(Appeal.objects.values_list("number", flat=True))

    # -- the top bar stays on one line at 1366 px (in English, its longest) -------------------
    # Measured once the page's style sheets have loaded: a loaded CI machine showed the bar
    # unstyled (its links one under the other) in the moment after the link appeared.
    page.wait_for_load_state("load")
    # One line: every item of the bar (links, buttons, the user's name) at the same height.
    middles = page.evaluate(
        """() => [...document.querySelectorAll(
                "nav.navbar .nav-link, nav.navbar .btn, nav.navbar .navbar-user")]
            .map(el => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; })"""
    )
    assert max(middles) - min(middles) < 6, middles
    bar = page.evaluate(
        """() => { const c = document.querySelector("nav.navbar > .container");
            return [c.scrollWidth, c.clientWidth,
              [...c.querySelectorAll(".nav-link,.btn,.navbar-brand,.navbar-user")].map(
                e => e.textContent.trim() + ":" + Math.round(e.getBoundingClientRect().width))]; }"""
    )
    assert bar[0] <= bar[1], bar  # nothing sticks out of the bar


def legend(page) -> list[str]:
    """The department chart's legend: the colours' names."""
    return page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("chart-department"))
            .getOption().legend[0].data"""
    )


def wait_for_charts(page, kinds: list[str]) -> None:
    """Each chart's canvas is in the page and ECharts has drawn its series into it."""
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
