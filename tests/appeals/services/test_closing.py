"""appeal_rate, appeal_close, followup_record: rating and re-handling, closure by staff,
follow-up. Every refused call is checked to change nothing (see `assert_refused`)."""

import pytest

from appeals import services
from appeals.events import event_text
from appeals.models import Assignment, FollowUp, Rating, Reply
from core.errors import ServiceForbidden
from tests.appeals.services.helpers import NOW, S, assert_change_recorded, history_reasons
from tests.workflow import assert_refused, lead_assignment

pytestmark = pytest.mark.django_db


# --- Rating and re-handling ---------------------------------------------------------------


@pytest.mark.parametrize("score", [Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED])
def test_a_satisfied_rating_closes_the_appeal(appeal_at, enterprise_user, score):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user, appeal_id=appeal.pk, score=score, comment="感谢！"
    )

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rated", actor=enterprise_user, event="closed"
    )
    assert appeal.closed_at == NOW
    assert (rating.reply, rating.rated_by, rating.rehandle) == (
        appeal.replies.get(),
        enterprise_user,
        False,
    )
    assert list(appeal.events.values_list("code", flat=True))[-2:] == ["rated", "closed"]


def test_an_unsatisfied_rating_with_rehandling_reopens_the_appeal_to_the_lead(
    appeal_at, enterprise_user
):
    appeal = appeal_at(S.REPLIED)
    first_reply = appeal.replies.get()
    lead = lead_assignment(appeal)

    services.appeal_rate(
        actor=enterprise_user,
        appeal_id=appeal.pk,
        score=Rating.Score.UNSATISFIED,
        comment="路面仍有积水。",
        rehandle=True,
    )

    assert_change_recorded(
        appeal, status=S.IN_PROGRESS, reason="reopened", actor=enterprise_user, event="reopened"
    )
    assert appeal.reopened_count == 1
    assert appeal.closed_at is None
    lead.refresh_from_db()
    assert (lead.state, lead.done_at) == (Assignment.State.SIGNED, None)
    assert lead.history.first().history_change_reason == "reopened"
    # History kept: the first reply and its rating are still there.
    first_reply.refresh_from_db()
    assert first_reply.state == Reply.State.PUBLISHED
    assert (first_reply.rating.score, first_reply.rating.rehandle) == (
        Rating.Score.UNSATISFIED,
        True,
    )
    assert history_reasons(appeal) == ["filed", "routed", "signed", "replied", "reopened"]


def test_after_rehandling_a_second_reply_rated_satisfied_closes_the_appeal(
    appeal_at, walk_to, enterprise_user
):
    appeal = appeal_at(S.REPLIED)
    services.appeal_rate(
        actor=enterprise_user,
        appeal_id=appeal.pk,
        score=Rating.Score.UNSATISFIED,
        rehandle=True,
    )

    appeal = walk_to(appeal, S.CLOSED)

    first, second = appeal.replies.order_by("pk")
    assert (first.rating.score, second.rating.score) == (
        Rating.Score.UNSATISFIED,
        Rating.Score.SATISFIED,
    )
    assert appeal.reopened_count == 1
    assert history_reasons(appeal)[-3:] == ["reopened", "replied", "rated"]


def test_an_unsatisfied_rating_that_chooses_to_end_closes_the_appeal_with_its_reason(
    appeal_at, enterprise_user
):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user,
        appeal_id=appeal.pk,
        score=Rating.Score.UNSATISFIED,
        rehandle=False,
        comment="已另行走行政复议程序。",
    )

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rated", actor=enterprise_user, event="closed"
    )
    assert (rating.score, rating.rehandle) == (Rating.Score.UNSATISFIED, False)
    assert appeal.reopened_count == 0
    rated = appeal.events.get(code="rated")
    assert event_text(rated) == "企业评价：不满意，不再申请重新办理。理由：已另行走行政复议程序。"


def test_an_unsatisfied_rating_must_say_whether_to_re_handle(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "rehandle_choice_required"):
        services.appeal_rate(
            actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.UNSATISFIED
        )


def test_ending_an_unsatisfied_appeal_needs_a_reason(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "close_reason_required"):
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=appeal.pk,
            score=Rating.Score.UNSATISFIED,
            rehandle=False,
            comment="  ",
        )


def test_asking_for_rehandling_while_satisfied_just_closes(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.SATISFIED, rehandle=True
    )

    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert rating.rehandle is False


@pytest.mark.parametrize("score", [Rating.Score.LAPSED, "great"])
def test_the_enterprise_rates_only_with_its_three_scores(appeal_at, enterprise_user, score):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "invalid_score"):
        services.appeal_rate(actor=enterprise_user, appeal_id=appeal.pk, score=score)


def test_an_appeal_is_rated_only_once_it_is_replied(appeal_at, enterprise_user):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "not_replied"):
        services.appeal_rate(
            actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.SATISFIED
        )


def test_a_closed_appeal_cannot_be_rated_again(appeal_at, enterprise_user):
    appeal = appeal_at(S.CLOSED)

    with assert_refused(appeal, "not_replied"):
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=appeal.pk,
            score=Rating.Score.UNSATISFIED,
            rehandle=True,
        )


def test_a_rating_comment_is_limited_to_2000_characters(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "too_long"):
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=appeal.pk,
            score=Rating.Score.SATISFIED,
            comment="好" * 2001,
        )


def test_an_anonymous_holder_of_the_query_code_can_rate(file_appeal, walk_to):
    appeal = walk_to(file_appeal(actor=None).appeal, S.REPLIED)

    rating = services.appeal_rate(actor=None, appeal_id=appeal.pk, score=Rating.Score.SATISFIED)

    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert rating.rated_by is None
    assert appeal.history.first().history_user is None


# --- Closing by staff and follow-up -------------------------------------------------------


@pytest.mark.parametrize("persona", ["office", "commissioner"])
def test_staff_can_close_a_replied_appeal_with_a_note(request, appeal_at, persona):
    appeal = appeal_at(S.REPLIED)
    actor = request.getfixturevalue(persona)

    services.appeal_close(actor=actor, appeal_id=appeal.pk, note="企业电话确认已解决。")

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="closed_by_staff", actor=actor, event="closed"
    )
    assert appeal.closed_at == NOW
    assert event_text(appeal.events.last()) == "企业电话确认已解决。"


def test_closing_needs_a_note(appeal_at, office):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "required"):
        services.appeal_close(actor=office, appeal_id=appeal.pk, note="")


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "enterprise_user"])
def test_only_the_office_or_a_commissioner_may_close(request, appeal_at, persona):
    appeal = appeal_at(S.REPLIED)
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.appeal_close(actor=actor, appeal_id=appeal.pk, note="销号")


def test_an_appeal_in_progress_cannot_be_closed(appeal_at, office):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "invalid_transition"):
        services.appeal_close(actor=office, appeal_id=appeal.pk, note="销号")


def test_a_follow_up_is_recorded_after_closure(appeal_at, commissioner):
    appeal = appeal_at(S.CLOSED)
    history_before = appeal.history.count()

    followup = services.followup_record(
        actor=commissioner, appeal_id=appeal.pk, content="回访：企业对处理结果满意。"
    )

    assert FollowUp.objects.get() == followup
    assert followup.author == commissioner
    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert appeal.history.count() == history_before
    event = appeal.events.last()
    assert (event.code, event.is_public, event.actor) == ("followed_up", False, commissioner)


@pytest.mark.parametrize("stage", [S.TRIAGE, S.IN_PROGRESS, S.REPLIED])
def test_a_follow_up_waits_for_closure(appeal_at, commissioner, stage):
    appeal = appeal_at(stage)

    with assert_refused(appeal, "not_closed"):
        services.followup_record(actor=commissioner, appeal_id=appeal.pk, content="回访")


def test_a_handler_cannot_record_a_follow_up(appeal_at, handler_a):
    appeal = appeal_at(S.CLOSED)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.followup_record(actor=handler_a, appeal_id=appeal.pk, content="回访")
