"""The reply form on the appeal page: no outcome is chosen for the handler (已解决 skips
review), and after a reviewer sends a reply back (退回修改) the handler revises it rather than
typing it again."""

import re

import pytest
from django.urls import reverse

from appeals import services
from appeals.models import Appeal, Reply
from tests import workflow

pytestmark = pytest.mark.django_db

DRAFT = "经核查，该事项涉及规划调整，需按程序报批，现说明如下。"


def _reply_form(page: str) -> str:
    return re.search(r'<form[^>]+action="[^"]*/reply/[^"]*".*?</form>', page, re.S).group(0)


def _checked_outcomes(form: str) -> list[str]:
    return re.findall(r'<input type="radio" name="outcome" value="(\w+)"[^>]*checked', form)


def _page(client, appeal) -> str:
    return client.get(reverse("appeal_detail", args=[appeal.number])).content.decode()


def test_a_new_reply_form_chooses_no_outcome(client, appeal_at, handler_a):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    client.force_login(handler_a)

    form = _reply_form(_page(client, appeal))

    # Every outcome is a radio button of its own, and none is on until the handler picks one
    # (a drop-down would show, and send, its first option: 已解决).
    radios = re.findall(r'<input type="radio" name="outcome" value="(\w+)"', form)
    assert sorted(radios) == sorted(Reply.Outcome.values)
    assert _checked_outcomes(form) == []


def test_a_reply_without_an_outcome_is_refused_in_chinese_and_keeps_the_text(
    client, appeal_at, handler_a
):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    lead = workflow.lead_assignment(appeal)
    client.force_login(handler_a)

    response = client.post(
        reverse("reply_submit", args=[appeal.number, lead.pk]), {"content": DRAFT}
    )

    assert response.status_code == 400
    form = _reply_form(response.content.decode())
    assert "请选择办理结果" in form
    assert DRAFT in form
    assert not appeal.replies.exists()


def test_after_a_send_back_the_form_keeps_the_draft_and_its_outcome(
    client, appeal_at, handler_a, head_a
):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    lead = workflow.lead_assignment(appeal)
    client.force_login(handler_a)
    client.post(
        reverse("reply_submit", args=[appeal.number, lead.pk]),
        {"outcome": Reply.Outcome.EXPLAINED, "content": DRAFT},
    )
    reply = appeal.replies.get()
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=False, note="请补充政策依据")

    form = _reply_form(_page(client, appeal))

    assert DRAFT in form
    assert _checked_outcomes(form) == [Reply.Outcome.EXPLAINED]
