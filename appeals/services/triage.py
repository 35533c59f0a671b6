"""Triage: a commissioner routes an appeal, or ends it early with an explanation."""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.actions import check_decline, check_merge, check_route, may_triage
from appeals.events import Text, say
from appeals.models import APPEAL_TRANSITIONS, Appeal, Assignment, EventCode
from appeals.services._common import forbid_unless, lock_appeal, record, require_text, transition
from appeals.services.notify import notify_event, notify_users
from appeals.validators import clean_prose
from core.errors import ServiceConflict, ServiceError, ServiceNotFound
from departments.models import Category, Department, Region
from departments.selectors import department_staff


@transaction.atomic
def appeal_route(
    *,
    actor,
    appeal_id: int,
    lead: Department,
    co_handlers: Sequence[Department] = (),
    category: Category | None = None,
    region: Region | None = None,
    note: str = "",
    enterprise_note: str = "",
) -> Appeal:
    """Assign the appeal to one lead department and zero or more co-handlers (交办).

    `note` is the internal 交办意见, for the departments and staff only; `enterprise_note` is
    what the enterprise reads on its tracking page. Only the second is ever shown to it."""
    forbid_unless(may_triage(actor))
    appeal = lock_appeal(appeal_id)
    check_route(appeal)
    co_handlers = list(dict.fromkeys(co_handlers))
    if lead in co_handlers:
        raise ServiceError("lead_is_co", _("牵头单位不能同时作为配合单位。"))
    inactive = [d.name for d in [lead, *co_handlers] if not d.is_active]
    if inactive:
        raise ServiceConflict(
            "inactive_department", _("单位已停用：%(names)s。") % {"names": "、".join(inactive)}
        )
    category = category or appeal.category
    if category is None:
        raise ServiceError("required", _("请先选择诉求分类。"))
    appeal.category = category
    appeal.region = region or appeal.region
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        Appeal.Status.ASSIGNED,
        actor=actor,
        reason="routed",
        also=("category", "region"),
    )
    now = timezone.now()
    assignments = []
    for department, role in [(lead, Assignment.Role.LEAD)] + [
        (d, Assignment.Role.CO) for d in co_handlers
    ]:
        assignment = Assignment(
            appeal=appeal, department=department, role=role, assigned_at=now, assigned_by=actor
        )
        assignment._history_user = actor
        assignment._change_reason = "routed"
        assignment.save()
        assignments.append(assignment)
    if co_handlers:
        co = "、".join(d.name for d in co_handlers)
        said = say("routed_with_co", lead=lead.name, co=co, note=clean_prose(enterprise_note))
    else:
        said = say("routed", lead=lead.name, note=clean_prose(enterprise_note))
    # What the enterprise is told (the routed text) and the staff's internal note, apart.
    event = record(
        appeal,
        EventCode.ROUTED,
        actor=actor,
        assignments=assignments,
        note=said,
        internal_note=clean_prose(note),
    )
    for assignment in assignments:
        notify_users(
            users=department_staff(assignment.department_id),
            appeal=appeal,
            event=EventCode.ROUTED,
            key=f"event:{event.pk}:{assignment.pk}",
            subject=say("routed_subject", n=appeal.number, t=appeal.title),
            body=say("routed_body", dept=assignment.department.name, role=assignment.role),
        )
    # The enterprise hears which department leads (its name, never the internal note).
    told = say("routed_sms", n=appeal.number, lead=lead.name)
    notify_event(event, enterprise=True, subject=told, body=told)
    return appeal


_EARLY_ENDS: dict[str, EventCode] = {
    Appeal.Status.NOT_ACCEPTED: EventCode.NOT_ACCEPTED,
    Appeal.Status.REDIRECTED: EventCode.REDIRECTED,
}


def _tell_filer(event, body: Text) -> None:
    """The enterprise hears how its appeal ended: by SMS when it gave a phone number and filed
    with its name (the tracking page says the same, always), in-app when it has an account."""
    appeal = event.appeal
    notify_event(
        event,
        users=[appeal.filed_by] if appeal.filed_by_id else [],
        enterprise=True,
        subject=say("ended_subject", n=appeal.number),
        body=body,
    )


@transaction.atomic
def appeal_decline(*, actor, appeal_id: int, status: str, explanation: str) -> Appeal:
    """End an appeal at triage as not accepted (out of scope) or redirected, with a written
    explanation the enterprise reads."""
    forbid_unless(may_triage(actor))
    if status not in _EARLY_ENDS:
        raise ServiceError("invalid_status", _("无效的处理方式。"))
    explanation = require_text(explanation, _("给企业的说明"))
    appeal = lock_appeal(appeal_id)
    check_decline(appeal)
    appeal.triage_explanation = explanation
    appeal.closed_at = timezone.now()
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        status,
        actor=actor,
        reason=_EARLY_ENDS[status],
        also=("triage_explanation", "closed_at"),
    )
    event = record(appeal, _EARLY_ENDS[status], actor=actor, note=explanation)
    _tell_filer(
        event,
        say("declined_sms", n=appeal.number, status=appeal.status),
    )
    return appeal


@transaction.atomic
def appeal_merge(*, actor, appeal_id: int, into_number: str, explanation: str) -> Appeal:
    """Merge a duplicate into an earlier appeal (并案); the enterprise is told which one."""
    forbid_unless(may_triage(actor))
    explanation = require_text(explanation, _("给企业的说明"))
    target_pk = (
        Appeal.objects.filter(number=into_number.strip().upper())
        .values_list("pk", flat=True)
        .first()
    )
    if target_pk is None:
        raise ServiceNotFound(
            "merge_target_missing", _("找不到登记号为 %(n)s 的诉求。") % {"n": into_number}
        )
    if target_pk == appeal_id:
        raise ServiceError("merge_into_self", _("不能并入诉求本身。"))
    # Two appeals at once: lock both in ascending pk order (see _common.py), then check.
    locked = {
        a.pk: a
        for a in Appeal.objects.select_for_update()
        .filter(pk__in=[appeal_id, target_pk])
        .order_by("pk")
    }
    if appeal_id not in locked:
        raise ServiceNotFound("not_found", _("诉求不存在。"))
    appeal, target = locked[appeal_id], locked[target_pk]
    check_merge(appeal)
    if target.status == Appeal.Status.MERGED:
        raise ServiceConflict(
            "merge_target_merged",
            _("诉求 %(n)s 已并入其他诉求，请并入最终的诉求。") % {"n": target.number},
        )
    if (target.filed_at, target.pk) > (appeal.filed_at, appeal.pk):
        raise ServiceConflict(
            "merge_into_later",
            _("只能并入更早登记的诉求（%(n)s 登记在后）。") % {"n": target.number},
        )
    appeal.merged_into = target
    appeal.triage_explanation = explanation
    appeal.closed_at = timezone.now()
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        Appeal.Status.MERGED,
        actor=actor,
        reason="merged",
        also=("merged_into", "triage_explanation", "closed_at"),
    )
    event = record(
        appeal,
        EventCode.MERGED,
        actor=actor,
        note=say("merged", n=target.number, e=explanation),
    )
    _tell_filer(
        event,
        say("merged_sms", n=appeal.number, t=target.number),
    )
    record(
        target,
        EventCode.MERGED_FROM,
        actor=actor,
        public=False,
        note=say("merged_from", n=appeal.number),
    )
    return appeal
