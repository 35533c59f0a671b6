"""What moves deadlines: waiting on the enterprise for material (the clocks pause), extensions
approved by the office (a deadline moves), the blocked flag, and the rating window lapsing.
Also `event_record`, for other apps (sla) to put their own events on an appeal's timeline."""

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events
from appeals.actions import (
    check_extension_decision,
    check_extension_request,
    check_flag_blocked,
    check_material_request,
    extension_decision_refusal,
    may_flag_blocked,
    may_publicise,
)
from appeals.events import Text, say
from appeals.models import (
    APPEAL_TRANSITIONS,
    EXTENSION_TRANSITIONS,
    Appeal,
    Assignment,
    EventCode,
    ExtensionRequest,
    Rating,
    Reply,
    TimelineEvent,
)
from appeals.services._common import (
    forbid_for,
    forbid_unless,
    lock_appeal,
    record,
    require_text,
    save_tracked,
    transition,
)
from appeals.services.filing import attachments_check, attachments_stored
from appeals.services.handling import _lock_assignment
from appeals.services.notify import notify_closed, notify_event
from appeals.validators import clean_prose
from core.errors import ServiceConflict, ServiceError, ServiceNotFound
from core.writes import Writes, writing
from departments.audit import audit_record_many
from departments.roles import Role
from departments.selectors import department_staff, users_with_role


@transaction.atomic
def appeal_request_material(*, actor, assignment_id: int, note: str) -> Appeal:
    """A department asks the enterprise for more material (补充材料); every clock of the
    appeal pauses until the enterprise answers."""
    note = require_text(note, _("需补充的材料"))
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_material_request(appeal, assignment)
    appeal.awaiting_material_since = timezone.now()
    save_tracked(
        appeal, actor=actor, reason="material_requested", fields=["awaiting_material_since"]
    )
    event = record(
        appeal,
        EventCode.MATERIAL_REQUESTED,
        actor=actor,
        department=assignment.department,
        assignment=assignment,
        note=note,
    )
    notify_event(
        event,
        users=[appeal.filed_by] if appeal.filed_by_id else [],
        enterprise=True,
        subject=say("material_subject", n=appeal.number),
        body=say("material_sms", n=appeal.number),
    )
    return appeal


@transaction.atomic
def appeal_supply_material(
    *, actor, appeal_id: int, content: str, attachments: Sequence[UploadedFile] = ()
) -> Appeal:
    """The enterprise answers a request for material; the clocks run again. The caller has
    checked that the actor (or the holder of the query code) may act for this appeal."""
    content = require_text(content, _("补充说明"))
    checked = attachments_check(attachments)
    appeal = lock_appeal(appeal_id)
    if appeal.awaiting_material_since is None:
        raise ServiceConflict("not_waiting", _("当前没有需要补充的材料。"))
    appeal.awaiting_material_since = None
    save_tracked(
        appeal, actor=actor, reason="material_supplied", fields=["awaiting_material_since"]
    )
    uploaded_by = actor if actor is not None and actor.is_authenticated else None
    with attachments_stored(appeal, checked, uploaded_by=uploaded_by):
        lead = appeal.assignments.filter(
            role=Assignment.Role.LEAD, state__in=Assignment.ACTIVE_STATES
        ).first()
        event = record(appeal, EventCode.MATERIAL_SUPPLIED, actor=actor, note=content)
        notify_event(
            event,
            users=department_staff(lead.department_id) if lead else [],
            subject=say("material_supplied_subject", n=appeal.number),
            body=content,
        )
    return appeal


@transaction.atomic
def extension_request(*, actor, assignment_id: int, days: int, reason: str) -> ExtensionRequest:
    """A department asks the office for more working days (延期申请)."""
    reason = require_text(reason, _("延期理由"), max_length=2000)
    if not 1 <= days <= 30:
        raise ServiceError("invalid_days", _("延期天数应为1至30个工作日。"))
    appeal, assignment = _lock_assignment(actor, assignment_id)
    check_extension_request(appeal, assignment)
    extension = ExtensionRequest(
        appeal=appeal, assignment=assignment, days=days, reason=reason, requested_by=actor
    )
    extension._history_user = actor
    extension._change_reason = "requested"
    extension.save()
    said = say("extension_requested", d=days, r=reason)
    event = record(
        appeal,
        EventCode.EXTENSION_REQUESTED,
        actor=actor,
        department=assignment.department,
        public=False,
        assignment=assignment,
        note=said,
    )
    notify_event(
        event,
        users=users_with_role(Role.OFFICE),
        subject=say("extension_subject", n=appeal.number),
        body=said,
    )
    return extension


@transaction.atomic
def extension_decide(
    *, actor, extension_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """The office approves (the department's deadline moves) or refuses an extension; the
    person who asked for it never decides it."""
    appeal_id = (
        ExtensionRequest.objects.filter(pk=extension_id).values_list("appeal_id", flat=True).first()
    )
    if appeal_id is None:
        raise ServiceNotFound("not_found", _("延期申请不存在。"))
    appeal = lock_appeal(appeal_id)
    extension = (
        ExtensionRequest.objects.select_for_update(of=("self",))
        .select_related("assignment__department")
        .get(pk=extension_id)
    )
    forbid_for(extension_decision_refusal(actor, extension))
    check_extension_decision(extension)
    if not approve:
        note = require_text(note, _("审批意见"))
    extension.decided_by = actor
    extension.decided_at = timezone.now()
    extension.decision_note = clean_prose(note)
    state = ExtensionRequest.State.APPROVED if approve else ExtensionRequest.State.REJECTED
    transition(
        extension,
        EXTENSION_TRANSITIONS,
        state,
        actor=actor,
        reason=state.value,
        field="state",
        also=("decided_by", "decided_at", "decision_note"),
    )
    said = say(
        "extension_decided",
        d=extension.days,
        extension_state=extension.state,
        note=extension.decision_note,
    )
    event = record(
        appeal,
        EventCode.EXTENSION_APPROVED if approve else EventCode.EXTENSION_REJECTED,
        actor=actor,
        department=extension.assignment.department,
        public=approve,
        assignment=extension.assignment,
        days=extension.days,
        note=said,
    )
    notify_event(
        event,
        users=department_staff(extension.assignment.department_id),
        subject=say("extension_decided_subject", extension_state=extension.state, n=appeal.number),
        body=said,
    )
    return extension


@transaction.atomic
def appeal_flag_blocked(*, actor, appeal_id: int, blocked: bool, reason: str = "") -> Appeal:
    """Flag an appeal as blocked (受阻: it shows red), or clear the flag."""
    if blocked:
        reason = require_text(reason, _("受阻原因"), max_length=2000)
    # Locked first: who holds the appeal (its active assignments) is read under the appeal's
    # lock, which every change of an assignment takes before it.
    appeal = lock_appeal(appeal_id)
    forbid_unless(
        may_flag_blocked(actor, appeal),
        _("只有专员、营商办和仍在承办该诉求的单位负责人可以标记受阻。"),
    )
    check_flag_blocked(appeal)
    if appeal.is_blocked == blocked:
        return appeal
    appeal.is_blocked = blocked
    appeal.blocked_reason = reason if blocked else ""
    save_tracked(
        appeal,
        actor=actor,
        reason="blocked" if blocked else "unblocked",
        fields=["is_blocked", "blocked_reason"],
    )
    record(
        appeal,
        EventCode.BLOCKED if blocked else EventCode.UNBLOCKED,
        actor=actor,
        public=False,
        note=reason,
    )
    return appeal


@transaction.atomic
def appeal_rating_lapse(*, appeal_id: int) -> Appeal | None:
    """No rating within the window counts as accepted: the appeal closes. Safe to run twice:
    an appeal no longer waiting for its rating is left alone."""
    appeal = lock_appeal(appeal_id)
    if appeal.status != Appeal.Status.REPLIED:
        return None
    reply = (
        Reply.objects.filter(appeal=appeal, state=Reply.State.PUBLISHED, rating__isnull=True)
        .order_by("-published_at")
        .first()
    )
    if reply is None:
        return None
    Rating.objects.create(appeal=appeal, reply=reply, score=Rating.Score.LAPSED)
    appeal.closed_at = timezone.now()
    transition(
        appeal,
        APPEAL_TRANSITIONS,
        Appeal.Status.CLOSED,
        actor=None,
        reason="rating_lapsed",
        also=("closed_at",),
    )
    event = record(
        appeal,
        EventCode.RATING_LAPSED,
        actor=None,
        note=say("rating_lapsed"),
    )
    notify_closed(event)
    return appeal


@transaction.atomic
def appeal_publicise(*, actor, appeal_id: int, public: bool) -> Appeal:
    """Put an appeal on the public board (张榜公示) or take it off. Only the office decides."""
    forbid_unless(may_publicise(actor))
    appeal = lock_appeal(appeal_id)
    if appeal.on_public_board != public:
        appeal.on_public_board = public
        save_tracked(
            appeal,
            actor=actor,
            reason="publicised" if public else "unpublicised",
            fields=["on_public_board"],
        )
        code = EventCode.PUBLICISED if public else EventCode.UNPUBLICISED
        record(appeal, code, actor=actor, public=False)
    return appeal


def appeal_colour_set(*, appeal: Appeal, colour: str, writes: Writes | None = None) -> None:
    """Store the appeal's red/yellow/green colour. The caller (the sla app) holds the appeal's
    row lock: inside a workflow service, or in the sweep, which locks the appeal first. No
    history row: the colour is derived from the clocks, whose history records every change.
    `writes`: the change's other rows, to go with them (core.writes)."""
    if appeal.colour == colour:
        return
    appeal.colour = colour
    table = connection.ops.quote_name(Appeal._meta.db_table)
    with writing(writes) as w:
        w.add((f"UPDATE {table} SET colour = %s WHERE id = %s", [colour, appeal.pk]))  # noqa: S608  # nosec B608 - the model's own table


@transaction.atomic
def event_record(
    *, appeal_id: int, code: EventCode, note: str | Text = "", public: bool = False, **context
):
    """A timeline event from another app (an escalation, a recomputed deadline)."""
    appeal = Appeal.objects.get(pk=appeal_id)
    return record(appeal, code, actor=None, note=note, public=public, **context)


def appeals_colour_set_many(*, colours: dict[int, str]) -> int:
    """`appeal_colour_set` for a batch (the escalation sweep): one UPDATE per colour, for the
    appeals whose colour changes. The caller holds the appeals' row locks and passes only the
    changes. No history, as in `appeal_colour_set`: the clocks' history records every change."""
    by_colour: dict[str, list[int]] = {}
    for appeal_id, colour in colours.items():
        by_colour.setdefault(colour, []).append(appeal_id)
    return sum(
        Appeal.objects.filter(pk__in=ids).update(colour=colour) for colour, ids in by_colour.items()
    )


def events_record_many(
    *, code: EventCode, notes: list[tuple[Appeal, Text]], public: bool = False
) -> list[TimelineEvent]:
    """`event_record` for a batch (the escalation sweep): one timeline event per (appeal, note)
    and its audit record, each kind in one insert, then every event to the listeners, as
    `record` does. The caller holds the appeals' row locks."""
    code = EventCode(code)
    now = timezone.now()
    created = TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                appeal=appeal,
                code=code,
                actor=None,
                text_code=note.code,
                params=note.params,
                is_public=public,
                created_at=now,
            )
            for appeal, note in notes
        ],
        batch_size=1000,
    )
    audit_record_many(event=f"appeal.{code}", objects=[appeal for appeal, _note in notes], at=now)
    for event in created:
        events.emit(event, {})
    return created
