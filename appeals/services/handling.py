"""Department work: sign for an assignment, send an opinion, reply, return; review of replies
that say no (提级管理: the department head, then the office)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.actions import (
    acts_for,
    check_opinion,
    check_reply,
    check_return,
    check_review,
    check_sign,
    review_refusal,
)
from appeals.events import say
from appeals.models import (
    APPEAL_TRANSITIONS,
    ASSIGNMENT_TRANSITIONS,
    REPLY_TRANSITIONS,
    Appeal,
    Assignment,
    EventCode,
    Opinion,
    Reply,
)
from appeals.selectors import appeals_merged_into
from appeals.services._common import (
    forbid_for,
    forbid_unless,
    lock_appeal,
    record,
    require_text,
    save_tracked,
    search_text_refresh,
    transition,
)
from appeals.services.notify import enterprise_sms, notify_event, notify_phone, notify_users
from appeals.validators import clean_prose
from core.errors import ServiceError, ServiceNotFound
from departments.models import Membership
from departments.roles import Role
from departments.selectors import department_staff, users_with_role


def _lock_assignment(actor, assignment_id: int) -> tuple[Appeal, Assignment]:
    """Lock the appeal, then the assignment (the lock order), and check the actor's membership."""
    appeal_id = (
        Assignment.objects.filter(pk=assignment_id).values_list("appeal_id", flat=True).first()
    )
    if appeal_id is None:
        raise ServiceNotFound("not_found", _("交办记录不存在。"))
    appeal = lock_appeal(appeal_id)
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=assignment_id)
    )
    forbid_unless(acts_for(actor, assignment), _("您不是该承办单位的工作人员。"))
    return appeal, assignment


def _cancel_open_co_handlers(appeal: Appeal, *, actor, reason: str) -> None:
    for co in Assignment.objects.select_for_update().filter(
        appeal=appeal, role=Assignment.Role.CO, state__in=Assignment.ACTIVE_STATES
    ):
        transition(
            co,
            ASSIGNMENT_TRANSITIONS,
            Assignment.State.CANCELLED,
            actor=actor,
            reason=reason,
            field="state",
        )


@transaction.atomic
def assignment_sign(*, actor, assignment_id: int) -> Assignment:
    """Sign for an assignment (签收). The lead's signature puts the appeal in progress."""
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_sign(appeal, assignment)
    assignment.signed_at = timezone.now()
    assignment.signed_by = actor
    transition(
        assignment,
        ASSIGNMENT_TRANSITIONS,
        Assignment.State.SIGNED,
        actor=actor,
        reason="signed",
        field="state",
        also=("signed_at", "signed_by"),
    )
    if assignment.is_lead:
        transition(
            appeal, APPEAL_TRANSITIONS, Appeal.Status.IN_PROGRESS, actor=actor, reason="signed"
        )
    record(
        appeal,
        EventCode.SIGNED,
        actor=actor,
        department=assignment.department,
        assignment=assignment,
        note=say("signed", dept=assignment.department.name),
    )
    return assignment


@transaction.atomic
def assignment_return(*, actor, assignment_id: int, reason: str) -> Assignment:
    """Return an assignment to triage with a reason (退回). A lead's return sends the whole
    appeal back to the commissioner; a co-handler's return only ends that department's part."""
    reason = require_text(reason, _("退回理由"))
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_return(appeal, assignment)
    assignment.return_reason = reason
    assignment.done_at = timezone.now()
    transition(
        assignment,
        ASSIGNMENT_TRANSITIONS,
        Assignment.State.RETURNED,
        actor=actor,
        reason="returned",
        field="state",
        also=("return_reason", "done_at"),
    )
    if assignment.is_lead:
        _cancel_open_co_handlers(appeal, actor=actor, reason="lead_returned")
        appeal.returned_count += 1
        transition(
            appeal,
            APPEAL_TRANSITIONS,
            Appeal.Status.TRIAGE,
            actor=actor,
            reason="returned",
            also=("returned_count",),
        )
    said = say("returned", dept=assignment.department.name, reason=reason)
    event = record(
        appeal,
        EventCode.RETURNED,
        actor=actor,
        department=assignment.department,
        public=False,
        assignment=assignment,
        note=said,
    )
    notify_event(
        event,
        users=[appeal.commissioner] if appeal.commissioner else users_with_role(Role.COMMISSIONER),
        subject=say("returned_subject", n=appeal.number, t=appeal.title),
        body=said,
    )
    return assignment


@transaction.atomic
def opinion_submit(*, actor, assignment_id: int, content: str) -> Opinion:
    """A co-handler sends its opinion to the lead department; its part is then done."""
    content = require_text(content, _("配合意见"))
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_opinion(appeal, assignment)
    assignment.done_at = timezone.now()
    transition(
        assignment,
        ASSIGNMENT_TRANSITIONS,
        Assignment.State.DONE,
        actor=actor,
        reason="opinion_sent",
        field="state",
        also=("done_at",),
    )
    opinion = Opinion.objects.create(
        appeal=appeal, assignment=assignment, author=actor, content=content
    )
    record(
        appeal,
        EventCode.OPINION_SENT,
        actor=actor,
        department=assignment.department,
        assignment=assignment,
        note=say("opinion_sent", dept=assignment.department.name),
    )
    return opinion


def _publish(appeal: Appeal, reply: Reply, *, actor) -> None:
    """The enterprise sees the reply: the appeal waits for its rating."""
    reply.published_at = timezone.now()
    save_tracked(reply, actor=actor, reason="published", fields=["published_at"])
    lead = Assignment.objects.select_for_update().get(pk=reply.assignment_id)
    lead.done_at = reply.published_at
    transition(
        lead,
        ASSIGNMENT_TRANSITIONS,
        Assignment.State.DONE,
        actor=actor,
        reason="replied",
        field="state",
        also=("done_at",),
    )
    _cancel_open_co_handlers(appeal, actor=actor, reason="lead_replied")
    # A reply ends any wait for material: the enterprise now has its answer to rate.
    appeal.awaiting_material_since = None
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        Appeal.Status.REPLIED,
        actor=actor,
        reason="replied",
        also=("awaiting_material_since",),
    )
    event = record(
        appeal,
        EventCode.REPLIED,
        actor=actor,
        # The reply is its author's, whoever approved it last (the approval has its own event).
        credit_to=reply.author,
        department=lead.department,
        assignment=lead,
        note=say("replied", outcome=reply.outcome),
    )
    notify_event(
        event,
        users=[appeal.filed_by] if appeal.filed_by_id else [],
        enterprise=True,
        subject=say("replied_subject", n=appeal.number),
        body=say("replied_sms", n=appeal.number),
    )
    # The appeals merged into this one were promised the answer too (一并答复).
    for merged in appeals_merged_into(appeal):
        key = f"event:{event.pk}:merged:{merged.pk}"
        body = say("merged_replied_sms", m=merged.number, n=appeal.number)
        notify_users(
            users=[merged.filed_by] if merged.filed_by_id else [],
            appeal=merged,
            event=event.code,
            key=key,
            subject=say("merged_replied_subject", m=merged.number),
            body=body,
        )
        sms = enterprise_sms(merged, event.code)
        notify_phone(
            phone=sms.phone,
            appeal=merged,
            event=event.code,
            key=key,
            body=body,
            unsubscribe=sms.unsubscribe,
        )


@transaction.atomic
def reply_submit(*, actor, assignment_id: int, outcome: str, content: str) -> Reply:
    """The lead's reply. "Resolved" goes to the enterprise at once; any other outcome tells the
    enterprise "no" in some way, so it goes to the department head and the office first."""
    if outcome not in Reply.Outcome.values:
        raise ServiceError("invalid_outcome", _("请选择办理结果。"))
    content = require_text(content, _("答复内容"))
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_reply(appeal, assignment)
    says_no = outcome != Reply.Outcome.RESOLVED
    reply = Reply(
        appeal=appeal,
        assignment=assignment,
        author=actor,
        outcome=outcome,
        content=content,
        state=Reply.State.PENDING_HEAD if says_no else Reply.State.PUBLISHED,
    )
    reply._history_user = actor
    reply._change_reason = "submitted"
    reply.save()
    search_text_refresh(appeal)
    if says_no:
        said = say("reply_for_review", outcome=reply.outcome)
        event = record(
            appeal,
            EventCode.REPLY_FOR_REVIEW,
            actor=actor,
            department=assignment.department,
            public=False,
            note=said,
        )
        notify_event(
            event,
            users=department_staff(assignment.department_id, Membership.Role.HEAD),
            subject=say("review_subject", n=appeal.number),
            body=said,
        )
    else:
        _publish(appeal, reply, actor=actor)
    return reply


# The review levels of a reply that says no, and their decisions, as timeline events.
_REVIEW_EVENTS = {
    ("head", True): EventCode.REVIEW_HEAD_APPROVED,
    ("head", False): EventCode.REVIEW_HEAD_SENT_BACK,
    ("office", True): EventCode.REVIEW_OFFICE_APPROVED,
    ("office", False): EventCode.REVIEW_OFFICE_SENT_BACK,
}


@transaction.atomic
def reply_review(*, actor, reply_id: int, approve: bool, note: str = "") -> Reply:
    """Approve or send back a reply that says no: first the department head, then the office."""
    appeal_id = Reply.objects.filter(pk=reply_id).values_list("appeal_id", flat=True).first()
    if appeal_id is None:
        raise ServiceNotFound("not_found", _("答复不存在。"))
    appeal = lock_appeal(appeal_id)
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("assignment__department")
        .get(pk=reply_id)
    )
    department = reply.assignment.department
    check_review(reply)
    level = "head" if reply.state == Reply.State.PENDING_HEAD else "office"
    forbid_for(review_refusal(actor, reply))
    if not approve:
        note = require_text(note, _("退回意见"))
    reply.review_note = clean_prose(note)
    also: tuple[str, ...] = ("review_note",)
    if approve and level == "head":
        new_state = Reply.State.PENDING_OFFICE
        reply.head_reviewed_by = actor
        also += ("head_reviewed_by",)
    elif approve:
        new_state = Reply.State.PUBLISHED
    else:
        new_state = Reply.State.SENT_BACK
    transition(
        reply,
        REPLY_TRANSITIONS,
        new_state,
        actor=actor,
        reason=f"{level}_{'approved' if approve else 'sent_back'}",
        field="state",
        also=also,
    )
    event = record(
        appeal,
        _REVIEW_EVENTS[level, approve],
        actor=actor,
        department=department if level == "head" else None,
        public=False,
        note=reply.review_note,
    )
    if new_state == Reply.State.PENDING_OFFICE:
        reviewers = users_with_role(Role.OFFICE)
    elif new_state == Reply.State.SENT_BACK:
        reviewers = department_staff(department.pk)
    else:
        reviewers = []
    notify_event(
        event,
        users=reviewers,
        subject=say("reviewed_subject", n=appeal.number, reply_state=reply.state),
        body=reply.review_note or say("reviewed_body", reply_state=reply.state),
    )
    if new_state == Reply.State.PUBLISHED:
        _publish(appeal, reply, actor=actor)
    return reply
