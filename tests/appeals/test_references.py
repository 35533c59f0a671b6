"""类案参考 (issue #18): a department's earlier replies beside its reply form, model answers
first; the office marks model answers through a service that keeps history."""

import pytest
from django.test import Client
from django.urls import reverse

from appeals import services
from appeals.models import Reply
from appeals.search import reply_references
from core.errors import ServiceError, ServiceForbidden
from tests import workflow
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

ROAD = {
    "title": "厂区门前道路破损，货车无法通行",
    "content": "园区三号路多处塌陷，请尽快修复道路。",
}
ROAD_AGAIN = {
    "title": "园区道路塌陷影响货车通行",
    "content": "三号路塌陷积水，货车无法通行，请修复。",
}
DRAINAGE = {"title": "园区排水管网堵塞", "content": "雨天园区排水不畅，厂房进水，请疏通管网。"}


def _published(appeal) -> Reply:
    return appeal.replies.get(state=Reply.State.PUBLISHED)


def test_the_lead_sees_its_replies_to_like_closed_appeals_with_outcome_and_rating(
    file_appeal, walk_to, handler_a
):
    earlier = walk_to(file_appeal(**ROAD).appeal, "closed")
    still_open = walk_to(file_appeal(**DRAINAGE).appeal, "replied")
    current = walk_to(file_appeal(**ROAD_AGAIN).appeal, "in_progress")
    refs = reply_references(workflow.lead_assignment(current))
    assert [r.reply.appeal for r in refs] == [earlier]
    assert still_open not in [r.reply.appeal for r in refs]
    client = Client()
    client.force_login(handler_a)
    page = client.get(reverse("appeal_detail", args=[current.number])).content.decode()
    assert "类案参考" in page
    assert earlier.number in page
    assert "已协调施工单位完成道路修复。" in page
    assert "满意" in page  # the enterprise's rating
    assert 'data-copy-into="id_reply_content"' in page
    assert 'id="id_reply_content"' in page


def test_replies_of_another_category_are_not_offered(file_appeal, walk_to, cast, dept_a):
    walk_to(file_appeal(**ROAD).appeal, "closed")
    other = CategoryFactory(code="water", name="水务", lead_department=dept_a)
    current = walk_to(file_appeal(**ROAD_AGAIN).appeal, "in_progress")
    current.category = other
    current.save(update_fields=["category"])
    assert reply_references(workflow.lead_assignment(current)) == []


def test_a_model_answer_ranks_first(file_appeal, walk_to, office):
    like = walk_to(file_appeal(**ROAD).appeal, "closed")
    model = walk_to(file_appeal(**DRAINAGE).appeal, "closed")
    current = walk_to(file_appeal(**ROAD_AGAIN).appeal, "in_progress")
    lead = workflow.lead_assignment(current)
    assert [r.reply.appeal for r in reply_references(lead)] == [like, model]
    services.reply_mark_model_answer(actor=office, reply_id=_published(model).pk, model=True)
    assert [r.reply.appeal for r in reply_references(lead)] == [model, like]


def test_the_office_marks_a_model_answer_with_history(file_appeal, walk_to, office, handler_a):
    reply = _published(walk_to(file_appeal(**ROAD).appeal, "closed"))
    client = Client()
    client.force_login(office)
    response = client.post(
        reverse("reply_model_answer", args=[reply.appeal.number, reply.pk]), {"model": "1"}
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.is_model_answer
    latest = reply.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (office, "model_answer_marked")
    with pytest.raises(ServiceForbidden):
        services.reply_mark_model_answer(actor=handler_a, reply_id=reply.pk, model=False)


def test_only_a_published_reply_can_be_a_model_answer(file_appeal, walk_to, handler_a, office):
    appeal = walk_to(file_appeal(**ROAD).appeal, "in_progress")
    reply = services.reply_submit(
        actor=handler_a,
        assignment_id=workflow.lead_assignment(appeal).pk,
        outcome=Reply.Outcome.EXPLAINED,
        content="该路段属园区自管道路，已告知园区管委会。",
    )
    with pytest.raises(ServiceError) as refused:
        services.reply_mark_model_answer(actor=office, reply_id=reply.pk, model=True)
    assert refused.value.code == "reply_not_published"
