"""交办意见: the commissioner's internal note stays with staff; the enterprise reads only the
text written for it, on its tracking page and through the API."""

import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import services
from appeals.events import event_text
from appeals.models import EventCode, TimelineEvent

pytestmark = pytest.mark.django_db

INTERNAL = "重点企业，请住建局务必在三日内约谈，注意该企业曾多次信访。"
FOR_ENTERPRISE = "已请市住建局牵头办理，请留意电话联系。"


@pytest.fixture
def routed(file_appeal, commissioner, dept_a, dept_b, category):
    filed = file_appeal()
    services.appeal_route(
        actor=commissioner,
        appeal_id=filed.appeal.pk,
        lead=dept_a,
        co_handlers=[dept_b],
        category=category,
        note=INTERNAL,
        enterprise_note=FOR_ENTERPRISE,
    )
    return filed


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def _tracking_page(filed) -> str:
    tracker = Client()
    tracker.post(reverse("track"), {"number": filed.appeal.number, "code": filed.query_code})
    response = tracker.get(reverse("track_detail", args=[filed.appeal.number]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_enterprise_reads_the_routing_and_its_own_text_but_never_the_internal_note(routed):
    page = _tracking_page(routed)

    assert "市住建局" in page and FOR_ENTERPRISE in page
    assert INTERNAL not in page


def test_the_enterprise_api_carries_no_internal_note(routed):
    answer = api().post(
        "/api/v1/track/", {"number": routed.appeal.number, "code": routed.query_code}
    )

    assert answer.status_code == 200
    assert INTERNAL not in answer.content.decode()
    routed_event = next(e for e in answer.json()["events"] if e["code"] == "routed")
    assert FOR_ENTERPRISE in routed_event["note"]
    assert "internal_note" not in routed_event


def test_an_enterprise_account_reads_its_appeal_through_the_api_without_the_internal_note(
    routed, enterprise_user
):
    answer = api(enterprise_user).get(f"/api/v1/appeals/{routed.appeal.number}/")

    assert answer.status_code == 200
    assert FOR_ENTERPRISE in answer.content.decode()
    assert INTERNAL not in answer.content.decode()


def test_staff_read_both_notes_labelled_on_the_appeal_page_and_in_the_api(routed, commissioner):
    client = Client()
    client.force_login(commissioner)
    page = client.get(reverse("appeal_detail", args=[routed.appeal.number])).content.decode()
    assert INTERNAL in page and FOR_ENTERPRISE in page
    assert "内部意见" in page

    answer = api(commissioner).get(f"/api/v1/appeals/{routed.appeal.number}/").json()
    routed_event = next(e for e in answer["events"] if e["code"] == "routed")
    assert routed_event["internal_note"] == INTERNAL


def test_the_routing_form_labels_which_note_the_enterprise_sees(
    file_appeal, commissioner, dept_a, category
):
    appeal = file_appeal(category=category).appeal
    client = Client()
    client.force_login(commissioner)

    page = client.get(reverse("appeal_detail", args=[appeal.number])).content.decode()

    assert "内部交办意见（仅承办单位和工作人员可见）" in page
    assert "给企业的说明（企业在进度查询中可见）" in page


def test_the_routing_form_keeps_the_two_notes_apart(file_appeal, commissioner, dept_a, category):
    appeal = file_appeal(category=category).appeal
    client = Client()
    client.force_login(commissioner)

    client.post(
        reverse("appeal_route", args=[appeal.number]),
        {
            "category": category.pk,
            "lead": dept_a.pk,
            "note": INTERNAL,
            "enterprise_note": FOR_ENTERPRISE,
        },
    )

    event = appeal.events.get(code=EventCode.ROUTED)
    assert event.internal_note == INTERNAL
    shown = event_text(event)  # what the timeline shows the enterprise
    assert FOR_ENTERPRISE in shown and INTERNAL not in shown


def test_old_routing_notes_become_internal(routed):
    """appeals 0019: before the split the whole text was the note; it may hold anything."""
    event = routed.appeal.events.get(code=EventCode.ROUTED)
    TimelineEvent.objects.filter(pk=event.pk).update(note="已交办：市住建局（牵头）。" + INTERNAL)
    TimelineEvent.objects.filter(pk=event.pk).update(internal_note="")
    migration = importlib.import_module("appeals.migrations.0019_routed_notes_internal")

    migration.to_internal(apps, None)

    event.refresh_from_db()
    assert event.note == ""
    assert event.internal_note == "已交办：市住建局（牵头）。" + INTERNAL
    assert INTERNAL not in _tracking_page(routed)
