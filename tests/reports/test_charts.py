"""The battle map's charts under the CSP: tooltips on the canvas, not in HTML with style
attributes; every department named; the legend in the page's language. (The office's
browser journey hovers a chart with a guard that fails on any console error.)"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.reports.test_dashboard_views import published, travel  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

BOARD_JS = (Path(settings.BASE_DIR) / "static" / "js" / "board.js").read_text(encoding="utf-8")


def _labels(page: str) -> dict[str, str]:
    tag = re.search(r'<div id="chart-labels"[^>]*>', page).group(0)
    return dict(re.findall(r'data-(\w+)="([^"]*)"', tag))


def test_every_chart_tooltip_renders_on_the_canvas():
    tooltips = re.findall(r"tooltip: (.*)", BOARD_JS)
    assert len(tooltips) == 2  # the bar charts and the trend
    assert all("TOOLTIP" in t for t in tooltips)
    assert 'renderMode: "richText"' in BOARD_JS


def test_every_department_bar_is_named():
    assert "axisLabel: { interval: 0," in BOARD_JS


@pytest.mark.parametrize("page_name", ["dashboard", "lobby"])
def test_the_chart_legend_is_in_english_on_english_pages(published, office, page_name):
    client = Client()
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse(page_name)).content.decode()

    assert _labels(page) == {
        "red": "Red",
        "yellow": "Yellow",
        "green": "Green",
        "resolution": "Resolution rate",
        "none": "(uncategorised)",
    }
    assert "红灯" not in page and "黄灯" not in page and "绿灯" not in page


def test_the_chart_legend_is_chinese_by_default(published, office):
    client = Client()
    client.force_login(office)

    page = client.get(reverse("dashboard")).content.decode()

    assert _labels(page)["red"] == "红灯"
    assert not re.search(r"LABELS = \{ red: ", BOARD_JS)  # no words fixed in the script
