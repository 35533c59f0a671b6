"""The admin tells the calendar about every change it writes."""

from datetime import date

import pytest
from django.urls import reverse

from sla.calendar import is_confirmed, is_working_day
from sla.models import CalendarOverride, CalendarYear

pytestmark = pytest.mark.django_db


def test_an_override_added_in_the_admin_is_seen_at_once_and_records_who(admin_client, admin_user):
    assert is_working_day(date(2027, 1, 4)) is True

    response = admin_client.post(
        reverse("admin:sla_calendaroverride_add"),
        {"date": "2027-01-04", "is_working_day": "", "name": "测试", "notice": "国办发明电"},
    )

    assert response.status_code == 302
    assert CalendarOverride.objects.get().created_by == admin_user
    assert is_working_day(date(2027, 1, 4)) is False


def test_an_override_edited_in_the_admin_is_seen_at_once(admin_client):
    row = CalendarOverride.objects.create(date=date(2027, 1, 4), is_working_day=False, notice="X")
    assert is_working_day(date(2027, 1, 4)) is False

    admin_client.post(
        reverse("admin:sla_calendaroverride_change", args=[row.pk]),
        {"date": "2027-01-04", "is_working_day": "on", "name": "", "notice": "X"},
    )

    assert is_working_day(date(2027, 1, 4)) is True


def test_an_override_deleted_in_the_admin_is_forgotten_at_once(admin_client):
    row = CalendarOverride.objects.create(date=date(2027, 1, 4), is_working_day=False, notice="X")
    assert is_working_day(date(2027, 1, 4)) is False

    admin_client.post(reverse("admin:sla_calendaroverride_delete", args=[row.pk]), {"post": "yes"})

    assert is_working_day(date(2027, 1, 4)) is True


def test_overrides_deleted_in_bulk_in_the_admin_are_forgotten_at_once(admin_client):
    rows = [
        CalendarOverride.objects.create(date=date(2027, 1, day), is_working_day=False, notice="X")
        for day in (4, 5)
    ]
    assert is_working_day(date(2027, 1, 4)) is False

    admin_client.post(
        reverse("admin:sla_calendaroverride_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in rows], "post": "yes"},
    )

    assert not CalendarOverride.objects.exists()
    assert is_working_day(date(2027, 1, 4)) is True


def test_a_year_confirmed_in_the_admin_is_seen_at_once(admin_client):
    assert is_confirmed(2027) is False

    admin_client.post(
        reverse("admin:sla_calendaryear_add"), {"year": "2027", "confirmed": "on", "notice": "X"}
    )

    assert CalendarYear.objects.get().confirmed is True
    assert is_confirmed(2027) is True


def test_the_override_list_filters_by_year_and_searches(admin_client):
    CalendarOverride.objects.create(date=date(2026, 10, 8), is_working_day=False, notice="X")
    CalendarOverride.objects.create(date=date(2027, 1, 1), is_working_day=False, name="元旦")
    url = reverse("admin:sla_calendaroverride_changelist")

    by_year = admin_client.get(url, {"year": "2027"})
    searched = admin_client.get(url, {"q": "元旦"})

    assert by_year.status_code == searched.status_code == 200
    assert [o.date for o in by_year.context["cl"].result_list] == [date(2027, 1, 1)]
    assert [o.date for o in searched.context["cl"].result_list] == [date(2027, 1, 1)]
