"""The end of the loop: the enterprise rates the reply, re-handling, closure, follow-up."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.actions import check_close, check_follow_up, may_close, may_follow_up
from appeals.events import say
from appeals.models import (
    APPEAL_TRANSITIONS,
    ASSIGNMENT_TRANSITIONS,
    Appeal,
    Assignment,
    EventCode,
    FollowUp,
    Rating,
    Reply,
)
from appeals.services._common import forbid_unless, lock_appeal, record, require_text, transition
from appeals.services.notify import notify_closed, notify_event
from appeals.validators import clean_prose
from core.errors import ServiceConflict, ServiceError
from departments.selectors import department_staff

_USER_SCORES = (
    Rating.Score.SATISFIED,
    Rating.Score.BASICALLY_SATISFIED,
    Rating.Score.UNSATISFIED,
)


def _close(appeal: Appeal, *, actor, reason: str) -> None:
    appeal.closed_at = timezone.now()
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        Appeal.Status.CLOSED,
        actor=actor,
        reason=reason,
        also=("closed_at",),
    )


@transaction.atomic
def appeal_rate(
    *, actor, appeal_id: int, score: str, comment: str = "", rehandle: bool | None = None
) -> Rating:
    """The enterprise rates the latest reply. Satisfied (or basically) closes the appeal.
    Unsatisfied means re-handling (重办: back to the lead department, history kept) unless the
    enterprise explicitly chooses to end it, with its reason (DOMAIN.md): so for an unsatisfied
    rating `rehandle` must be said, True or False, and False needs the reason in `comment`.

    The caller has already checked that `actor` (or the anonymous holder of the query code)
    may act for this appeal."""
    if score not in _USER_SCORES:
        raise ServiceError("invalid_score", _("请选择满意、基本满意或不满意。"))
    comment = clean_prose(comment or "")
    if len(comment) > 2000:
        raise ServiceError("too_long", _("评价意见不能超过2000个字。"))
    if score == Rating.Score.UNSATISFIED and rehandle is None:
        raise ServiceError(
            "rehandle_choice_required",
            _("您选择了“不满意”：请选择申请重新办理，或不再办理并说明理由。"),
            field="rehandle",
        )
    if score == Rating.Score.UNSATISFIED and not rehandle and not comment:
        raise ServiceError(
            "close_reason_required",
            _("不再办理的，请在评价意见中说明理由。"),
            field="comment",
        )
    appeal = lock_appeal(appeal_id)
    if appeal.status != Appeal.Status.REPLIED:
        raise ServiceConflict("not_replied", _("该诉求当前不在待评价状态。"))
    reply = (
        Reply.objects.filter(appeal=appeal, state=Reply.State.PUBLISHED, rating__isnull=True)
        .order_by("-published_at")
        .first()
    )
    if reply is None:
        raise ServiceConflict("already_rated", _("该答复已评价。"))
    rehandle = bool(rehandle and score == Rating.Score.UNSATISFIED)
    ends_unsatisfied = score == Rating.Score.UNSATISFIED and not rehandle
    rating = Rating.objects.create(
        appeal=appeal,
        reply=reply,
        score=score,
        comment=comment,
        rehandle=rehandle,
        rated_by=actor if actor is not None and actor.is_authenticated else None,
    )
    said = say("rated_final" if ends_unsatisfied else "rated", score=rating.score, comment=comment)
    record(appeal, EventCode.RATED, actor=actor, note=said)
    if rehandle:
        lead = Assignment.objects.select_for_update().get(pk=reply.assignment_id)
        lead.done_at = None
        transition(
            lead,
            ASSIGNMENT_TRANSITIONS,
            Assignment.State.SIGNED,
            actor=actor,
            reason="reopened",
            field="state",
            also=("done_at",),
        )
        appeal.reopened_count += 1
        transition(
            appeal,
            APPEAL_TRANSITIONS,
            Appeal.Status.IN_PROGRESS,
            actor=actor,
            reason="reopened",
            also=("reopened_count",),
        )
        said = say("reopened", dept=lead.department.name)
        event = record(
            appeal,
            EventCode.REOPENED,
            actor=actor,
            department=lead.department,
            assignment=lead,
            note=said,
        )
        notify_event(
            event,
            users=department_staff(lead.department_id),
            subject=say("reopened_subject", n=appeal.number, t=appeal.title),
            body=said,
        )
    else:
        _close(appeal, actor=actor, reason="rated")
        event = record(appeal, EventCode.CLOSED, actor=actor, note=say("closed"))
        notify_closed(event)
    return rating


@transaction.atomic
def appeal_close(*, actor, appeal_id: int, note: str) -> Appeal:
    """The office or a commissioner closes a replied appeal without a rating (销号), e.g. after
    the enterprise confirmed by phone. The note says why."""
    forbid_unless(may_close(actor))
    note = require_text(note, _("销号说明"))
    appeal = lock_appeal(appeal_id)
    check_close(appeal)
    _close(appeal, actor=actor, reason="closed_by_staff")
    event = record(appeal, EventCode.CLOSED, actor=actor, note=note)
    notify_closed(event)
    return appeal


@transaction.atomic
def followup_record(*, actor, appeal_id: int, content: str) -> FollowUp:
    """The commissioner's visit back after closure (回访)."""
    forbid_unless(may_follow_up(actor))
    content = require_text(content, _("回访记录"))
    appeal = lock_appeal(appeal_id)
    check_follow_up(appeal)
    followup = FollowUp.objects.create(appeal=appeal, author=actor, content=content)
    event = record(appeal, EventCode.FOLLOWED_UP, actor=actor, public=False, note=content)
    # The enterprise that opted in hears that the visit was recorded, never what it says.
    told = say("followed_up_sms", n=appeal.number)
    notify_event(event, enterprise=True, subject=told, body=told)
    return followup
