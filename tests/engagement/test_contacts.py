"""Grids and contacts: who logs a contact with whom, raising an appeal from one, who sees
which grid, and the coverage of key enterprises in working days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals.models import Appeal, EnterpriseTag
from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord
from engagement import selectors, services
from engagement.models import Contact
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _log(actor, enterprise, *, on=TODAY, kind="visit", summary="了解企业扩产用地需求。"):
    return services.contact_log(
        actor=actor, enterprise_id=enterprise.pk, kind=kind, contacted_on=on, summary=summary
    )


def test_a_commissioner_logs_a_contact_with_an_enterprise_of_their_grid(
    commissioner, grid_enterprise
):
    contact = _log(commissioner, grid_enterprise)
    assert contact.commissioner == commissioner and contact.appeal is None
    assert contact.history.get().history_user == commissioner
    assert AuditRecord.objects.filter(event="contact.logged", object_id=str(contact.pk))


def test_a_commissioner_logs_a_contact_with_their_key_enterprise_outside_their_grids(
    commissioner, enterprise
):
    enterprise.commissioner = commissioner
    enterprise.save()
    assert _log(commissioner, enterprise).enterprise == enterprise


def test_a_commissioner_may_not_log_a_contact_with_an_enterprise_not_theirs(
    second_commissioner, grid_enterprise, enterprise, commissioner
):
    with pytest.raises(ServiceForbidden):
        _log(second_commissioner, grid_enterprise)
    with pytest.raises(ServiceForbidden):
        _log(commissioner, enterprise)  # neither in their grid nor their key enterprise
    assert not Contact.objects.exists()


@pytest.mark.parametrize("who", ["office", "handler_a"])
def test_only_commissioners_log_contacts(request, who, grid_enterprise):
    with pytest.raises(ServiceForbidden):
        _log(request.getfixturevalue(who), grid_enterprise)


def test_a_contact_cannot_be_dated_in_the_future(commissioner, grid_enterprise):
    with pytest.raises(ServiceError) as refused:
        _log(commissioner, grid_enterprise, on=TODAY + dt.timedelta(days=1))
    assert refused.value.code == "future_date"


def test_a_contact_needs_what_was_discussed_and_a_known_kind(commissioner, grid_enterprise):
    with pytest.raises(ServiceError) as empty:
        _log(commissioner, grid_enterprise, summary="  ")
    assert empty.value.code == "required"
    with pytest.raises(ServiceError) as kind:
        _log(commissioner, grid_enterprise, kind="letter")
    assert kind.value.code == "invalid_kind"


def test_an_appeal_is_raised_from_a_contact_in_one_step_and_once(commissioner, grid_enterprise):
    contact = _log(commissioner, grid_enterprise)
    filed = services.contact_raise_appeal(
        actor=commissioner,
        contact_id=contact.pk,
        title="扩产用地指标不足",
        content="企业计划扩产，需新增用地约20亩，希望协调用地指标。",
    )
    contact.refresh_from_db()
    assert contact.appeal == filed.appeal
    assert filed.appeal.channel == Appeal.Channel.VISIT
    assert filed.appeal.enterprise == grid_enterprise and filed.appeal.status == "triage"
    assert contact.history.latest().history_change_reason == "appeal_raised"
    with pytest.raises(ServiceError) as again:
        services.contact_raise_appeal(
            actor=commissioner, contact_id=contact.pk, title="再次", content="再次提交。"
        )
    assert again.value.code == "already_raised"
    assert Appeal.objects.count() == 1


def test_only_the_commissioner_who_logged_it_raises_an_appeal_from_a_contact(
    commissioner, second_commissioner, office, grid_enterprise, grid
):
    grid.commissioners.add(second_commissioner)
    contact = _log(commissioner, grid_enterprise)
    for actor in (second_commissioner, office):
        with pytest.raises(ServiceForbidden):
            services.contact_raise_appeal(
                actor=actor, contact_id=contact.pk, title="用地", content="用地指标不足。"
            )
    assert not Appeal.objects.exists()


def test_a_refused_filing_leaves_the_contact_without_an_appeal(commissioner, grid_enterprise):
    contact = _log(commissioner, grid_enterprise)
    with pytest.raises(ServiceError):
        services.contact_raise_appeal(
            actor=commissioner, contact_id=contact.pk, title="", content="用地指标不足。"
        )
    contact.refresh_from_db()
    assert contact.appeal is None


def test_a_commissioner_sees_their_grids_and_the_office_all(
    grid, commissioner, second_commissioner, office, handler_a, county, leader
):
    from engagement.models import Grid

    other = Grid.objects.create(name="宣州城区网格", region=county)
    other.commissioners.add(second_commissioner)
    assert list(selectors.grids_visible_to(commissioner)) == [grid]
    assert set(selectors.grids_visible_to(office)) == {grid, other}
    assert set(selectors.grids_visible_to(leader)) == {grid, other}
    assert not selectors.grids_visible_to(handler_a).exists()


def test_a_commissioner_sees_the_contacts_of_their_grids_only(
    commissioner, second_commissioner, grid_enterprise, enterprise
):
    mine = _log(commissioner, grid_enterprise)
    enterprise.commissioner = second_commissioner
    enterprise.save()
    theirs = _log(second_commissioner, enterprise)
    assert list(selectors.contacts_visible_to(commissioner)) == [mine]
    assert list(selectors.contacts_visible_to(second_commissioner)) == [theirs]


# --- Coverage ----------------------------------------------------------------------------


def test_the_window_counts_working_days_back_from_today():
    # Monday 2026-11-23 and the Friday before: the weekend is not counted.
    assert selectors.coverage_window_start(TODAY, 1) == TODAY
    assert selectors.coverage_window_start(TODAY, 2) == dt.date(2026, 11, 20)
    assert selectors.coverage_window_start(TODAY, 6) == dt.date(2026, 11, 16)
    # National Day (1–7 October 2026) is not counted: from Friday the 9th, three working
    # days reach back to 30 September.
    assert selectors.coverage_window_start(dt.date(2026, 10, 9), 3) == dt.date(2026, 9, 30)


@pytest.fixture
def tagged(db):
    return EnterpriseTag.objects.create(code="zjtx", name="专精特新")


def test_coverage_lists_key_enterprises_not_contacted_in_the_window(
    commissioner, second_commissioner, grid, grid_enterprise, county, office, tagged
):
    grid_enterprise.tags.add(tagged)  # key by tag, in the grid
    recent = EnterpriseFactory(name="近期对接企业", region=county, commissioner=commissioner)
    stale = EnterpriseFactory(name="久未对接企业", region=county, commissioner=commissioner)
    EnterpriseFactory(name="一般企业", region=county)  # not key: never listed
    _log(commissioner, recent, on=dt.date(2026, 11, 20))  # the Friday: inside 2 working days
    _log(commissioner, stale, on=dt.date(2026, 11, 19))  # the Thursday: outside
    result = selectors.coverage(office, days=2, today=TODAY)
    assert result.since == dt.date(2026, 11, 20)
    names = {e.name for e in result.uncovered}
    assert names == {"久未对接企业", grid_enterprise.name}
    assert result.key_total == 3
    assert dict(result.by_grid) == {grid.name: 1, "": 1}
    assert dict(result.by_commissioner) == {"专员": 1, "": 1}
    stale_row = next(e for e in result.uncovered if e.name == "久未对接企业")
    assert stale_row.last_contact == dt.date(2026, 11, 19)


def test_a_contact_by_another_commissioner_covers_the_enterprise_too(
    commissioner, second_commissioner, grid, grid_enterprise, office, tagged
):
    grid_enterprise.tags.add(tagged)
    grid.commissioners.add(second_commissioner)
    _log(second_commissioner, grid_enterprise)
    assert selectors.coverage(office, days=5, today=TODAY).uncovered == []


def test_a_commissioner_reads_the_coverage_of_their_own_grids_and_key_enterprises(
    commissioner, second_commissioner, grid_enterprise, county, tagged, handler_a
):
    grid_enterprise.tags.add(tagged)
    EnterpriseFactory(name="他人的重点企业", region=county, commissioner=second_commissioner)
    mine = selectors.coverage(commissioner, days=5, today=TODAY)
    assert [e.name for e in mine.uncovered] == [grid_enterprise.name]
    theirs = selectors.coverage(second_commissioner, days=5, today=TODAY)
    assert [e.name for e in theirs.uncovered] == ["他人的重点企业"]
    assert selectors.coverage(handler_a, days=5, today=TODAY).uncovered == []


def test_the_window_must_be_between_one_and_the_maximum():
    with pytest.raises(ValueError):
        selectors.coverage_window_start(TODAY, 0)
    with pytest.raises(ValueError):
        selectors.coverage_window_start(TODAY, selectors.COVERAGE_MAX_DAYS + 1)


def test_a_commissioner_whose_role_was_taken_away_logs_no_more_contacts(
    commissioner, grid_enterprise
):
    from django.contrib.auth import get_user_model

    commissioner.groups.clear()  # still on the grid until the office reassigns it
    former = get_user_model().objects.get(pk=commissioner.pk)
    with pytest.raises(ServiceForbidden):
        _log(former, grid_enterprise)
