"""The bimonthly / quarterly bulletin."""

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from reports.bulletin import period_bounds
from reports.models import ExportJob

pytestmark = pytest.mark.django_db

IN_Q4 = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_periods_are_quarters_or_two_month_spans():
    start, end, title = period_bounds("2026B5")
    assert (start.isoformat(), end.isoformat()) == ("2026-09-01", "2026-10-31")
    assert "9" in title and "10" in title
    start, end, _title = period_bounds("2026B6")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01", "2026-12-31")


@time_machine.travel(IN_Q4, tick=False)
def test_the_bulletin_page_and_spreadsheet_show_the_departments(
    client, office, appeal_at, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    appeal_at("closed")
    client.force_login(office)
    page = client.get(reverse("bulletin") + "?period=2026Q4")
    assert page.status_code == 200 and "市住建局" in page.content.decode()
    # The spreadsheet is built by a task (reports.jobs); the job's page then offers it.
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(reverse("bulletin_xlsx"), {"period": "2026Q4"})
    job = ExportJob.objects.get()
    assert asked["Location"] == reverse("export_job", args=[job.pk])
    assert (job.kind, job.filters, job.status) == ("bulletin", {"period": "2026Q4"}, "done")
    sheet = client.get(reverse("export_job_file", args=[job.pk]))
    assert "2026Q4" in sheet["Content-Disposition"]
    workbook = load_workbook(BytesIO(b"".join(sheet.streaming_content)))
    sheet = workbook["分单位"]
    rows = list(sheet.values)
    # A title, the period, then the table, with the city's total last.
    assert rows[0][0] == "关于2026年第4季度企业诉求办理情况的通报"
    assert rows[1][0] == "统计期：2026-10-01 至 2026-12-31"
    assert rows[2][0] == "单位" and rows[3][0] == "市住建局" and rows[3][1] == 1
    assert rows[-1][0] == "全市合计" and rows[-1][1] == 1
    assert sheet.freeze_panes == "A4"
    # Rates are numbers shown as percentages, not 0.9333 shown as such.
    department = sheet[4]
    assert department[2].value == 1 and department[2].number_format == "0.0%"
    assert all(cell.number_format == "0.0%" for cell in department[2:6])
    assert department[1].number_format == "General"  # a count stays a count


def test_a_wrong_period_is_answered_in_chinese(client, office):
    client.force_login(office)
    response = client.get(reverse("bulletin") + "?period=2026-13")
    asked = client.post(reverse("bulletin_xlsx"), {"period": "2026-13"})
    assert response.status_code == 400 and "通报期应为季度" in response.content.decode()
    assert asked.status_code == 400 and "通报期应为季度" in asked.content.decode()
    assert not ExportJob.objects.exists()


def test_a_handler_cannot_read_the_bulletin(client, handler_a):
    client.force_login(handler_a)
    assert client.get(reverse("bulletin")).status_code == 403
