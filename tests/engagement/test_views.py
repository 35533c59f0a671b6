"""The pages: a meeting's batch table (nothing typed is lost), the meeting page's colours and
scope, the closing report, grids, contacts and coverage as each role sees them."""

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from appeals.models import Appeal
from engagement import services
from engagement.models import MeetingAppeal
from engagement.services import MeetingRow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _batch_post(rows: list[dict], total: int | None = None) -> dict:
    total = total if total is not None else len(rows)
    data = {
        "rows-TOTAL_FORMS": str(total),
        "rows-INITIAL_FORMS": str(total),
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "50",
    }
    for i in range(total):
        row = rows[i] if i < len(rows) else {}
        for key in ("enterprise", "category", "title", "content", "proposed_lead"):
            data[f"rows-{i}-{key}"] = row.get(key, "")
    return data


def test_the_batch_table_offers_blank_rows_of_the_invited_enterprises(meeting, office, invited):
    html = _client(office).get(f"/meetings/{meeting.pk}/appeals/").content.decode()
    assert html.count('name="rows-') >= 8 * 5
    assert invited[0].name in html


def test_a_batch_with_a_bad_row_comes_back_with_everything_typed_and_the_error(
    meeting, office, invited, dept_a
):
    good = {"enterprise": invited[0].pk, "content": "厂区门口道路破损，请尽快修复。"}
    bad = {"title": "没有选企业的一行", "content": "用地指标不足。", "proposed_lead": dept_a.pk}
    response = _client(office).post(
        f"/meetings/{meeting.pk}/appeals/", _batch_post([good, bad], total=4)
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "厂区门口道路破损，请尽快修复。" in html and "没有选企业的一行" in html
    assert "请选择企业。" in html and "本批诉求均未登记" in html
    assert not Appeal.objects.exists()


def test_a_good_batch_registers_and_goes_to_the_meeting_page(meeting, office, invited):
    rows = [{"enterprise": e.pk, "content": f"{e.name}反映融资难。"} for e in invited]
    response = _client(office).post(f"/meetings/{meeting.pk}/appeals/", _batch_post(rows, 8))
    assert response.status_code == 302 and response.url == f"/meetings/{meeting.pk}/"
    assert MeetingAppeal.objects.filter(meeting=meeting).count() == 2


def test_a_department_may_not_open_the_batch_table(meeting, handler_a):
    assert _client(handler_a).get(f"/meetings/{meeting.pk}/appeals/").status_code == 403


@pytest.fixture
def entered(meeting, office, invited):
    return services.meeting_appeals_enter(
        actor=office,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=e.pk, content=f"{e.name}反映融资难。") for e in invited],
    )


def test_the_meeting_page_lists_the_appeals_with_their_colour(entered, meeting, office):
    html = _client(office).get(f"/meetings/{meeting.pk}/").content.decode()
    for filed in entered:
        assert filed.appeal.number in html
    assert "办结报告" not in html  # not all closed yet


def test_a_department_sees_the_meeting_page_with_only_its_routed_appeals(
    entered, meeting, handler_a, commissioner, dept_a, category
):
    from appeals import services as appeal_services

    appeal_services.appeal_route(
        actor=commissioner, appeal_id=entered[0].appeal.pk, lead=dept_a, category=category
    )
    html = _client(handler_a).get(f"/meetings/{meeting.pk}/").content.decode()
    assert entered[0].appeal.number in html and entered[1].appeal.number not in html
    assert "录入会上诉求" not in html


def test_the_meeting_page_is_not_found_for_an_enterprise_user(meeting, enterprise_user):
    assert _client(enterprise_user).get(f"/meetings/{meeting.pk}/").status_code == 403


def test_the_closing_report_waits_until_every_appeal_is_closed(entered, meeting, office, walk_to):
    response = _client(office).get(f"/meetings/{meeting.pk}/report/")
    assert response.status_code == 302
    for filed in entered:
        walk_to(filed.appeal, Appeal.Status.CLOSED)
    page = _client(office).get(f"/meetings/{meeting.pk}/report/")
    assert page.status_code == 200 and "李市长" in page.content.decode()
    xlsx = _client(office).get(f"/meetings/{meeting.pk}/report.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    numbers = [row[0].value for row in sheet.iter_rows(min_row=4)]
    assert numbers == [f.appeal.number for f in entered]
    assert sheet.cell(row=4, column=8).value == "已解决"


def test_a_department_may_not_read_the_closing_report(entered, meeting, handler_a):
    assert _client(handler_a).get(f"/meetings/{meeting.pk}/report/").status_code == 403


def test_the_office_schedules_a_meeting_from_the_page(office, county, invited, dept_a):
    response = _client(office).post(
        "/meetings/new/",
        {
            "kind": "onsite",
            "title": "经开区现场办公会",
            "held_on": "2026-11-30",
            "place": "经开区管委会",
            "presiding_leader": "张副市长",
            "region": county.pk,
            "departments": [dept_a.pk],
            "enterprises": [e.pk for e in invited],
        },
    )
    assert response.status_code == 302


def test_a_commissioner_logs_a_contact_and_raises_an_appeal_from_it(commissioner, grid_enterprise):
    client = _client(commissioner)
    response = client.post(
        "/contacts/new/",
        {
            "enterprise": grid_enterprise.pk,
            "kind": "call",
            "contacted_on": "2026-11-23",
            "summary": "企业反映用电增容报装慢。",
        },
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "企业反映用电增容报装慢。" in page and "据此登记诉求" in page
    raised = client.post(response.url, {"title": "用电增容报装慢", "content": "报装慢。"})
    assert raised.status_code == 302 and raised.url.startswith("/appeals/")
    assert Appeal.objects.get().channel == Appeal.Channel.VISIT


def test_another_commissioner_cannot_open_a_grid_that_is_not_theirs(grid, second_commissioner):
    assert _client(second_commissioner).get(f"/grids/{grid.pk}/").status_code == 404


def test_the_office_reads_coverage_and_a_bad_window_is_refused(office, grid_enterprise):
    ok = _client(office).get("/grids/coverage/?days=5")
    assert ok.status_code == 200
    assert _client(office).get("/grids/coverage/?days=0").status_code == 400


def test_a_department_cannot_see_grids(handler_a):
    assert _client(handler_a).get("/grids/").status_code == 403


def test_a_table_submitted_twice_is_registered_once(meeting, office, invited):
    client = _client(office)
    page = client.get(f"/meetings/{meeting.pk}/appeals/").content.decode()
    key = re.search(r'name="batch_key" value="(\w+)"', page)[1]
    data = {**_batch_post([{"enterprise": invited[0].pk, "content": "融资难。"}]), "batch_key": key}
    assert client.post(f"/meetings/{meeting.pk}/appeals/", data).status_code == 302
    again = client.post(f"/meetings/{meeting.pk}/appeals/", data, follow=True)
    assert "这批诉求已经登记过了" in again.content.decode()
    assert Appeal.objects.count() == 1


def test_downloading_the_closing_report_is_audited(entered, meeting, office, walk_to):
    from departments.models import AuditRecord

    for filed in entered:
        walk_to(filed.appeal, Appeal.Status.CLOSED)
    _client(office).get(f"/meetings/{meeting.pk}/report.xlsx")
    assert AuditRecord.objects.filter(event="export.meeting_report", actor=office).count() == 1


def test_the_meeting_page_reads_as_many_queries_for_four_appeals_as_for_two(
    meeting, office, invited, walk_to
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(office)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/meetings/{meeting.pk}/").status_code == 200
        return len(queries)

    def enter_two():
        rows = [MeetingRow(enterprise_id=e.pk, content="融资难。") for e in invited]
        for one in services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows):
            walk_to(one.appeal, Appeal.Status.REPLIED)

    enter_two()
    count()  # the first request loads what a process keeps (the calendar's confirmed years)
    two = count()
    enter_two()
    assert count() == two


def test_a_county_schedules_its_own_meeting_from_the_page(county_staff, county_gov, city):
    client = _client(county_staff)
    form = client.get("/meetings/new/").content.decode()
    assert "郎溪县人民政府" in form and 'value="">营商环境办' not in form
    response = client.post(
        "/meetings/new/",
        {
            "kind": "onsite",
            "title": "郎溪县现场办公会",
            "held_on": "2026-11-30",
            "place": "郎溪经开区",
            "presiding_leader": "王县长",
            "region": city.pk,
            "organiser": county_gov.pk,
        },
    )
    assert response.status_code == 302
    from engagement.models import Meeting

    assert Meeting.objects.get().region == county_gov.region


def test_a_municipal_department_cannot_open_the_schedule_form(handler_a):
    assert _client(handler_a).get("/meetings/new/").status_code == 403
