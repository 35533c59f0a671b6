"""A fresh demo's 30-day trend: the demo writes a month of daily snapshots, rebuilt from the
appeals' dates and clocks; a day already frozen is never rewritten."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from reports.backfill import board_backfill
from reports.boards import board_freeze, board_publish, board_trend
from reports.models import BoardSnapshot

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)  # a Friday, 18 days later


def test_a_fresh_demo_has_a_month_of_daily_snapshots_for_the_trend(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_data", "--appeals", "40", stdout=out)

    trend = board_trend()
    assert len(trend) == 30
    assert "已补建 30 份日终看板快照" in out.getvalue()
    assert any(day["open"] for day in trend)
    assert all(day["open"] == day["red"] + day["yellow"] + day["green"] for day in trend)
    board_publish()
    client = Client()
    client.force_login(_office())
    assert 'id="chart-trend"' in client.get(reverse("dashboard")).content.decode()


def _office():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="office")


def test_a_rebuilt_day_counts_what_was_open_then_by_its_colour_then(file_appeal):
    with time_machine.travel(FILED, tick=False):
        file_appeal()  # waits for triage from today on: its triage clock starts
    with time_machine.travel(NOW, tick=False):
        assert board_backfill(days=20) == 20

    days = {row["day"]: row for row in board_trend()}
    assert days["2026-03-01"]["open"] == 0  # not yet filed
    assert days["2026-03-02"] == {**days["2026-03-02"], "open": 1, "green": 1, "red": 0}
    assert days["2026-03-19"] == {**days["2026-03-19"], "open": 1, "red": 1}  # long overdue
    assert BoardSnapshot.objects.get(day="2026-03-19").data["rebuilt"] is True


def test_a_day_already_frozen_is_never_rewritten(file_appeal):
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        file_appeal()
        frozen = board_freeze(day=(NOW - timedelta(days=2)).date(), now=NOW - timedelta(days=1))

    with time_machine.travel(NOW, tick=False):
        written = board_backfill(days=5)

    assert written == 4
    frozen_again = BoardSnapshot.objects.get(kind="daily", day=frozen.day)
    assert frozen_again.data == frozen.data and "rebuilt" not in frozen_again.data
