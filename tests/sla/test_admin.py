"""The admin tells the calendar about every change it writes, and offers an escalation step
only the targets the sweep knows."""

import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sla.calendar import is_confirmed, is_working_day
from sla.models import CalendarOverride, CalendarYear, EscalationStep

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


# --- Escalation steps: a closed set of targets ----------------------------------------------

STEP = {"code": "notice", "name": "受阻通报", "colour": "red", "after_working_days": "0"}


def test_the_admin_edits_escalation_targets_as_checkboxes_stored_as_the_comma_string(
    admin_client,
):
    page = admin_client.get(reverse("admin:sla_escalationstep_add")).content.decode()
    for target in EscalationStep.Target:
        assert f'type="checkbox" name="targets" value="{target.value}"' in page

    response = admin_client.post(
        reverse("admin:sla_escalationstep_add"),
        {**STEP, "targets": ["leaders", "office"], "is_active": "on"},
    )

    assert response.status_code == 302
    step = EscalationStep.objects.get(code="notice")
    assert step.targets == "office,leaders"  # the sweep's order, whatever the order ticked
    change = admin_client.get(reverse("admin:sla_escalationstep_change", args=[step.pk]))
    checked = re.findall(
        r'<input type="checkbox" name="targets" value="(\w+)"[^>]* checked', change.content.decode()
    )
    assert checked == ["office", "leaders"]
    listed = admin_client.get(reverse("admin:sla_escalationstep_changelist")).content.decode()
    assert "营商办、市领导" in listed


def test_a_misspelt_target_is_refused_in_the_admin_so_a_step_cannot_notify_nobody(admin_client):
    response = admin_client.post(
        reverse("admin:sla_escalationstep_add"),
        {**STEP, "targets": ["offfice"], "is_active": "on"},
    )

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["targets"]
    assert "offfice" in error  # Django's own "not one of the available choices", in Chinese
    assert not EscalationStep.objects.filter(code="notice").exists()


def test_a_step_naming_an_unknown_target_is_refused_with_the_known_ones_listed():
    step = EscalationStep(**{**STEP, "targets": "office,offfice"})

    with pytest.raises(ValidationError) as refused:
        step.full_clean()

    assert refused.value.message_dict["targets"] == [
        "未知的通知对象：offfice。可选：handlers, heads, office, commissioner, leaders。"
    ]


def test_a_step_naming_no_target_is_refused():
    step = EscalationStep(**{**STEP, "targets": " , "})

    with pytest.raises(ValidationError) as refused:
        step.full_clean()

    assert refused.value.message_dict["targets"] == ["请至少选择一个通知对象。"]
