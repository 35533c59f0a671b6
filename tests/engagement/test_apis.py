"""The read-only API: meetings (scoped as the pages are) and coverage, with exact query
counts for the lists."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from appeals import services as appeal_services
from appeals.models import EnterpriseTag
from engagement import services
from engagement.services import MeetingRow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


@pytest.fixture
def entered(meeting, office, invited, commissioner, dept_a, category):
    filed = services.meeting_appeals_enter(
        actor=office,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=e.pk, content=f"{e.name}反映融资难。") for e in invited],
    )
    appeal_services.appeal_route(
        actor=commissioner, appeal_id=filed[0].appeal.pk, lead=dept_a, category=category
    )
    return [f.appeal for f in filed]


def test_the_office_reads_a_meeting_with_every_appeal_and_its_colour(entered, meeting, office):
    body = _api(office).get(f"/api/v1/meetings/{meeting.pk}/").json()
    assert [a["number"] for a in body["appeals"]] == [a.number for a in entered]
    assert body["appeals"][0]["colour"] == "green" and body["appeals"][0]["status"] == "assigned"
    assert body["tally"]["total"] == 2 and body["tally"]["all_closed"] is False
    assert body["presiding_leader"] == "李市长"


def test_a_department_reads_only_the_meeting_appeals_routed_to_it(entered, meeting, handler_a):
    body = _api(handler_a).get(f"/api/v1/meetings/{meeting.pk}/").json()
    assert [a["number"] for a in body["appeals"]] == [entered[0].number]
    assert body["tally"]["total"] == 1


def test_a_meeting_out_of_scope_is_not_found_and_others_are_refused(meeting, enterprise_user, city):
    from departments.models import Membership
    from departments.services import membership_add
    from tests.factories import DepartmentFactory, UserFactory

    outsider = UserFactory(username="outsider")
    membership_add(
        user=outsider,
        department=DepartmentFactory(code="dept-c", region=city),
        role=Membership.Role.HANDLER,
    )
    assert _api(outsider).get(f"/api/v1/meetings/{meeting.pk}/").status_code == 404
    assert _api(outsider).get("/api/v1/meetings/").json()["count"] == 0
    assert _api(enterprise_user).get("/api/v1/meetings/").status_code == 403
    assert _api().get("/api/v1/meetings/").status_code in (401, 403)


def test_the_meeting_list_takes_a_fixed_number_of_queries(meeting, office, county, invited):
    for n in range(3):
        services.meeting_schedule(
            actor=office,
            kind="forum",
            title=f"恳谈会{n}",
            held_on=dt.date(2026, 11, 1 + n),
            place="会议室",
            presiding_leader="李市长",
            region=county,
        )
    client = _api(office)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/meetings/").json()
    assert body["count"] == 4
    # The count; the page with region and organiser joined (the roles are cached on the user).
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_coverage_through_the_api(office, commissioner, grid_enterprise, handler_a):
    grid_enterprise.tags.add(EnterpriseTag.objects.create(code="gx", name="高新技术"))
    body = _api(office).get("/api/v1/coverage/?days=5").json()
    assert body["since"] == "2026-11-17" and body["key_total"] == 1
    assert body["uncovered"][0]["name"] == grid_enterprise.name
    assert body["by_grid"] == [{"name": "郎溪经开区网格", "count": 1}]
    assert _api(commissioner).get("/api/v1/coverage/").json()["days"] == 20
    assert _api(office).get("/api/v1/coverage/?days=0").status_code == 400
    assert _api(handler_a).get("/api/v1/coverage/").status_code == 403


def test_the_meeting_detail_reads_a_fixed_number_of_queries_however_many_appeals(
    meeting, office, invited, commissioner, dept_a, category, walk_to
):
    client = _api(office)

    def queries_for_detail() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/meetings/{meeting.pk}/").status_code == 200
        return len(queries)

    def enter_two():
        for one in services.meeting_appeals_enter(
            actor=office,
            meeting_id=meeting.pk,
            rows=[MeetingRow(enterprise_id=e.pk, content="融资难。") for e in invited],
        ):
            walk_to(one.appeal, "closed")  # a lead, a published reply and its rating each

    enter_two()
    few = queries_for_detail()
    enter_two()
    # The meeting; its departments; its enterprises; the visible rows with appeal, category,
    # enterprise and proposed lead; their lead assignments; their published replies (with
    # ratings) — the same count for 2 appeals as for 4.
    assert queries_for_detail() == few == 6
