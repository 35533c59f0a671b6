"""core.snapshots, as the deadlines (sla.selectors.DEADLINES) and a filing's categories and
regions (departments.selectors.CHOICES) use it: kept per process, and a change is never missed —
at once in the process that made it, within a second in the others, and a change rolled back
is not kept."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal
from core import snapshots
from sla.models import Clock, Policy
from sla.selectors import DEADLINES, active_steps, policy_for
from tests import workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def held():
    """The deadlines as a process holds them that did not change them itself."""
    snapshots.snapshots_forget()
    DEADLINES.get()
    return DEADLINES


@pytest.fixture
def clock(monkeypatch):
    """The snapshot's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(snapshots.time, "monotonic", lambda: now[0])
    return now


def _promise_days(filed) -> int:
    return Clock.objects.get(appeal=filed.appeal, obligation=Clock.Obligation.PROMISE).limit_days


def test_held_deadlines_cost_no_query(held):
    with CaptureQueriesContext(connection) as ctx:
        active_steps()
        policy_for(Appeal(priority=Appeal.Priority.NORMAL))
    assert ctx.captured_queries == []


def test_a_policy_changed_here_applies_to_the_next_filing_at_once(held, enterprise_user):
    default = Policy.objects.get(category__isnull=True, priority="")
    default.reply_days = 7
    default.save()

    filed = workflow.file_appeal(actor=enterprise_user)

    assert _promise_days(filed) == 7


def test_another_process_change_is_seen_within_a_second(clock, held):
    Policy.objects.filter(category__isnull=True, priority="").update(reply_days=8)
    cache.set(DEADLINES.key, "bumped by another process")  # what its changed() does here
    appeal = Appeal(priority=Appeal.Priority.NORMAL)

    clock[0] += 0.5
    assert policy_for(appeal).reply_days != 8  # not read yet: the stamp is read once a second
    clock[0] += 0.6
    assert policy_for(appeal).reply_days == 8


def test_without_a_shared_cache_a_copy_lives_five_minutes_at_most(clock, held):
    Policy.objects.filter(category__isnull=True, priority="").update(reply_days=9)
    appeal = Appeal(priority=Appeal.Priority.NORMAL)

    clock[0] += snapshots.MAX_AGE_SECONDS - 1
    assert policy_for(appeal).reply_days != 9
    clock[0] += 2
    assert policy_for(appeal).reply_days == 9


def test_a_change_rolled_back_is_not_kept(held):
    appeal = Appeal(priority=Appeal.Priority.NORMAL)
    before = policy_for(appeal).reply_days

    with pytest.raises(RuntimeError), transaction.atomic():
        default = Policy.objects.get(category__isnull=True, priority="")
        default.reply_days = before + 20
        default.save()
        assert policy_for(appeal).reply_days == before + 20  # its own change, at once
        raise RuntimeError("the office's edit fails")

    assert policy_for(appeal).reply_days == before


# The categories and regions a filing names (departments.selectors.CHOICES): the form and the
# API check them in memory, and a change made here is seen by the next filing.

API_BODY = {
    "title": "厂区门前道路破损",
    "content": "园区三号路多处塌陷，请尽快安排修复。",
    "enterprise_name": "宣城示范科技有限公司",
    "contact_name": "张三",
    "contact_phone": "13805630001",
}


def test_an_api_filing_finds_its_category_and_region_without_a_query(client, category, city):
    snapshots.snapshots_forget()
    body = {**API_BODY, "category": category.pk, "region": city.pk}
    client.post("/api/v1/appeals/", body, content_type="application/json")  # holds them

    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/v1/appeals/", body, content_type="application/json")

    assert response.status_code == 201
    named = [q["sql"] for q in ctx.captured_queries if 'FROM "departments_' in q["sql"]]
    assert named == []
    filed = Appeal.objects.get(number=response.json()["number"])
    assert (filed.category, filed.region) == (category, city)


def test_a_category_switched_off_is_refused_by_the_next_filing(client, category):
    body = {**API_BODY, "category": category.pk}
    assert client.post("/api/v1/appeals/", body, content_type="application/json").status_code == 201
    category.is_active = False
    category.save()

    response = client.post("/api/v1/appeals/", body, content_type="application/json")

    # As for any id that names nothing (the API's error handler): 404, with the field named.
    assert response.status_code == 404, response.content.decode()
    assert "category" in response.json()["fields"]
    assert Appeal.objects.count() == 1


def test_the_form_refuses_a_category_switched_off_and_keeps_what_was_typed(client, category):
    filed = client.post("/file/", {**API_BODY, "category": category.pk})  # holds the choices
    assert filed.status_code == 302
    category.is_active = False
    category.save()

    response = client.post(
        "/file/",
        {**API_BODY, "category": category.pk, "title": "保留我写的标题"},
    )

    assert response.status_code == 400
    assert "category" in response.context["form"].errors
    assert "保留我写的标题" in response.content.decode()
    assert Appeal.objects.count() == 1
