"""Meetings: scheduling, the batch of appeals raised, who sees which of them, the tally."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals import services as appeal_services
from appeals.models import Appeal, EventCode, Notification
from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord
from engagement import selectors, services
from engagement.actions import BATCH_MAX_ROWS
from engagement.models import Meeting, MeetingAppeal
from engagement.services import BatchRefused, MeetingRow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _rows(invited, category, dept_a, dept_b):
    return [
        MeetingRow(
            enterprise_id=invited[0].pk,
            category_id=category.pk,
            title="厂区道路破损",
            content="厂区门口市政道路破损严重，货车进出困难，希望尽快修复。",
            proposed_lead_id=dept_a.pk,
        ),
        MeetingRow(enterprise_id=None, content=""),  # a blank line of the table is skipped
        MeetingRow(
            enterprise_id=invited[1].pk,
            content="新厂房用地规划调整手续办理时间长，希望加快审批。",
            proposed_lead_id=dept_b.pk,
        ),
    ]


def test_the_office_schedules_a_meeting_with_its_history_and_an_audit_record(
    meeting, office, invited, dept_a
):
    first = meeting.history.earliest()
    assert first.history_user == office and first.history_change_reason == "scheduled"
    assert set(meeting.enterprises.all()) == set(invited)
    assert dept_a in meeting.departments.all()
    assert AuditRecord.objects.filter(event="meeting.scheduled", object_id=str(meeting.pk))


def test_a_county_government_schedules_in_its_own_county(county_staff, county_gov, city):
    meeting = services.meeting_schedule(
        actor=county_staff,
        kind="onsite",
        title="郎溪县现场办公会",
        held_on=dt.date(2026, 11, 25),
        place="郎溪经开区",
        presiding_leader="王县长",
        region=city,  # asked for the city: a county's meeting is in the county
        organiser=county_gov,
    )
    assert meeting.region == county_gov.region and meeting.organiser == county_gov


@pytest.mark.parametrize("who", ["county_staff", "handler_a", "commissioner"])
def test_others_may_not_schedule_for_the_office_or_another_organiser(request, who, city, dept_a):
    actor = request.getfixturevalue(who)
    with pytest.raises(ServiceForbidden):
        services.meeting_schedule(
            actor=actor,
            kind="forum",
            title="恳谈会",
            held_on=dt.date(2026, 11, 25),
            place="某地",
            presiding_leader="某领导",
            region=city,
            organiser=None if who != "handler_a" else dept_a,
        )
    assert not Meeting.objects.exists()


def test_a_batch_registers_each_row_as_a_meeting_appeal_through_the_filing_service(
    meeting, office, invited, category, dept_a, dept_b
):
    filed = services.meeting_appeals_enter(
        actor=office, meeting_id=meeting.pk, rows=_rows(invited, category, dept_a, dept_b)
    )
    assert len(filed) == 2
    links = list(MeetingAppeal.objects.filter(meeting=meeting).select_related("appeal"))
    assert [link.proposed_lead for link in links] == [dept_a, dept_b]
    first, second = (link.appeal for link in links)
    assert first.channel == second.channel == Appeal.Channel.MEETING
    assert first.number.startswith("XC-2026-") and first.number != second.number
    assert first.enterprise == invited[0] and first.category == category
    assert first.status == Appeal.Status.TRIAGE
    assert first.events.filter(code=EventCode.FILED).exists()  # the usual timeline and audit
    assert AuditRecord.objects.filter(event="appeal.filed", object_id=str(first.pk)).exists()
    assert links[0].history.get().history_user == office
    # Typed without a title: the title is the start of the text.
    assert second.title == "新厂房用地规划调整手续办理时间长，希望加快审批。"[:30]
    assert AuditRecord.objects.filter(event="meeting.appeals_entered").count() == 1


def test_the_filing_service_notifies_as_usual(meeting, office, invited, commissioner):
    invited[0].commissioner = commissioner
    invited[0].save()
    services.meeting_appeals_enter(
        actor=office,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=invited[0].pk, content="用电增容报装时间过长。")],
    )
    assert Notification.objects.filter(recipient=commissioner).exists()


def test_one_bad_row_refuses_the_whole_batch_and_names_every_bad_row(
    meeting, office, invited, category, dept_a, dept_b, enterprise
):
    rows = _rows(invited, category, dept_a, dept_b)
    rows[2] = MeetingRow(enterprise_id=enterprise.pk, content="")  # not invited, no text
    with pytest.raises(BatchRefused) as refused:
        services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows)
    assert set(refused.value.rows) == {2}
    fields = {field for field, _message in refused.value.rows[2]}
    assert fields == {"enterprise", "content"}
    assert "受邀企业" in dict(refused.value.rows[2])["enterprise"]
    assert not Appeal.objects.exists() and not MeetingAppeal.objects.exists()


def test_a_refusal_of_the_filing_service_itself_comes_back_on_its_row(
    meeting, office, invited, category, dept_a, dept_b
):
    invited[1].contact_phone = "12345"  # not a phone number: appeal_file refuses it
    invited[1].save()
    with pytest.raises(BatchRefused) as refused:
        services.meeting_appeals_enter(
            actor=office, meeting_id=meeting.pk, rows=_rows(invited, category, dept_a, dept_b)
        )
    assert list(refused.value.rows) == [2]
    assert not Appeal.objects.exists()  # the good first row rolled back with the batch


def test_an_enterprise_without_a_contact_is_refused_with_a_clear_message(meeting, office, invited):
    invited[0].contact_phone = ""
    invited[0].save()
    with pytest.raises(BatchRefused) as refused:
        services.meeting_appeals_enter(
            actor=office,
            meeting_id=meeting.pk,
            rows=[MeetingRow(enterprise_id=invited[0].pk, content="融资难。")],
        )
    assert "联系电话" in dict(refused.value.rows[0])["enterprise"]


def test_an_inactive_category_or_department_is_refused_on_its_row(
    meeting, office, invited, category, dept_b
):
    category.is_active = False
    category.save()
    dept_b.is_active = False
    dept_b.save()
    with pytest.raises(BatchRefused) as refused:
        services.meeting_appeals_enter(
            actor=office,
            meeting_id=meeting.pk,
            rows=[
                MeetingRow(
                    enterprise_id=invited[0].pk,
                    content="融资难。",
                    category_id=category.pk,
                    proposed_lead_id=dept_b.pk,
                )
            ],
        )
    assert {f for f, _m in refused.value.rows[0]} == {"category", "proposed_lead"}


def test_an_empty_or_oversized_batch_is_refused(meeting, office, invited):
    with pytest.raises(ServiceError) as empty:
        services.meeting_appeals_enter(
            actor=office, meeting_id=meeting.pk, rows=[MeetingRow(None, "")]
        )
    assert empty.value.code == "empty_batch"
    row = MeetingRow(enterprise_id=invited[0].pk, content="融资难。")
    with pytest.raises(ServiceError) as too_long:
        services.meeting_appeals_enter(
            actor=office, meeting_id=meeting.pk, rows=[row] * (BATCH_MAX_ROWS + 1)
        )
    assert too_long.value.code == "batch_too_long"


@pytest.mark.parametrize("who", ["handler_a", "head_a", "county_staff", "leader"])
def test_only_the_office_and_commissioners_enter_a_batch(request, who, meeting, invited):
    with pytest.raises(ServiceForbidden):
        services.meeting_appeals_enter(
            actor=request.getfixturevalue(who),
            meeting_id=meeting.pk,
            rows=[MeetingRow(enterprise_id=invited[0].pk, content="融资难。")],
        )
    assert not Appeal.objects.exists()


def test_a_commissioner_enters_a_batch(meeting, commissioner, invited):
    filed = services.meeting_appeals_enter(
        actor=commissioner,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=invited[0].pk, content="融资难。")],
    )
    assert filed[0].appeal.filed_by == commissioner


@pytest.fixture
def routed(meeting, office, commissioner, invited, category, dept_a, dept_b):
    """The meeting's two appeals, the first routed to dept_a, the second to dept_b."""
    filed = services.meeting_appeals_enter(
        actor=office, meeting_id=meeting.pk, rows=_rows(invited, category, dept_a, dept_b)
    )
    for one, dept in zip(filed, (dept_a, dept_b), strict=True):
        appeal_services.appeal_route(
            actor=commissioner, appeal_id=one.appeal.pk, lead=dept, category=category
        )
    return [f.appeal for f in filed]


def test_a_department_sees_only_the_meeting_appeals_routed_to_it(
    routed, meeting, handler_a, handler_b, office
):
    assert [r.appeal for r in selectors.meeting_appeals_for(handler_a, meeting)] == routed[:1]
    assert [r.appeal for r in selectors.meeting_appeals_for(handler_b, meeting)] == routed[1:]
    assert len(selectors.meeting_appeals_for(office, meeting)) == 2


def test_a_department_outside_the_meeting_does_not_see_it(meeting, city):
    from departments.models import Membership
    from departments.services import membership_add
    from tests.factories import DepartmentFactory, UserFactory

    outsider = UserFactory(username="outsider")
    membership_add(
        user=outsider,
        department=DepartmentFactory(code="dept-c", region=city),
        role=Membership.Role.HANDLER,
    )
    assert not selectors.meetings_visible_to(outsider).exists()


def test_an_enterprise_or_a_supervisor_sees_no_meeting(meeting, enterprise_user):
    from departments.roles import Role
    from tests.factories import UserFactory

    supervisor = UserFactory(username="supervisor", roles=[Role.SUPERVISOR])
    assert not selectors.meetings_visible_to(enterprise_user).exists()
    assert not selectors.meetings_visible_to(supervisor).exists()


def test_a_department_routed_an_appeal_sees_the_meeting_without_attending(
    meeting, office, commissioner, invited, city, category
):
    from departments.models import Membership
    from departments.services import membership_add
    from tests.factories import DepartmentFactory, UserFactory

    dept_c = DepartmentFactory(code="dept-c", region=city)
    handler_c = UserFactory(username="handler_c")
    membership_add(user=handler_c, department=dept_c, role=Membership.Role.HANDLER)
    filed = services.meeting_appeals_enter(
        actor=office,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=invited[0].pk, content="融资难。")],
    )
    assert not selectors.meetings_visible_to(handler_c).exists()
    appeal_services.appeal_route(
        actor=commissioner, appeal_id=filed[0].appeal.pk, lead=dept_c, category=category
    )
    assert list(selectors.meetings_visible_to(handler_c)) == [meeting]


def test_the_tally_counts_colours_of_open_appeals_and_closes_only_when_none_is_open(
    routed, meeting, office, walk_to
):
    rows = selectors.meeting_appeals_for(office, meeting)
    tally = selectors.meeting_tally(rows)
    assert tally.total == 2 and tally.open == 2 and not tally.all_closed
    assert sum(tally.by_colour.values()) == 2  # both routed and coloured
    walk_to(routed[0], Appeal.Status.CLOSED)
    tally = selectors.meeting_tally(selectors.meeting_appeals_for(office, meeting))
    assert tally.open == 1 and not tally.all_closed
    assert tally.by_status == {Appeal.Status.CLOSED: 1, Appeal.Status.ASSIGNED: 1}
    assert selectors.meeting_tally([]).all_closed is False


def test_a_meeting_whose_appeals_all_ended_is_all_closed(meeting, office, invited, walk_to):
    rows = [MeetingRow(enterprise_id=e.pk, content="融资难。") for e in invited]
    first, second = services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows)
    walk_to(first.appeal, Appeal.Status.CLOSED)
    walk_to(second.appeal, Appeal.Status.NOT_ACCEPTED)  # ended in triage, with an explanation
    tally = selectors.meeting_tally(selectors.meeting_appeals_for(office, meeting))
    assert tally.all_closed and tally.by_colour == {}
    report = selectors.report_rows(selectors.meeting_appeals_for(office, meeting))
    assert report[0].outcome == "已解决" and report[0].rating == "满意"
    assert report[0].working_days == 0
    assert report[1].status == "不予受理" and report[1].outcome == ""


def test_a_county_government_may_not_schedule_for_another_county(county_staff, city):
    from departments.models import Department
    from tests.factories import DepartmentFactory, RegionFactory

    other = DepartmentFactory(
        code="gd",
        name="广德市人民政府",
        kind=Department.Kind.COUNTY_GOV,
        region=RegionFactory(code="341822", name="广德市", level="county", parent=city),
    )
    with pytest.raises(ServiceForbidden):
        services.meeting_schedule(
            actor=county_staff,
            kind="forum",
            title="广德恳谈会",
            held_on=dt.date(2026, 11, 25),
            place="广德",
            presiding_leader="某领导",
            region=other.region,
            organiser=other,
        )


def test_the_same_batch_submitted_twice_registers_once(meeting, office, invited):
    rows = [MeetingRow(enterprise_id=invited[0].pk, content="融资难。")]
    services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows, batch_key="k1")
    with pytest.raises(ServiceError) as again:
        services.meeting_appeals_enter(
            actor=office, meeting_id=meeting.pk, rows=rows, batch_key="k1"
        )
    assert again.value.code == "batch_already_entered"
    services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows, batch_key="k2")
    assert Appeal.objects.count() == 2
