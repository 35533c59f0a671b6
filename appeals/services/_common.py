"""Helpers every workflow service uses: locking, checked transitions, history and timeline.

Row locks take `of=("self",)` whenever the query also joins other tables: PostgreSQL would
otherwise lock the joined rows too (a department row, serialising all of its work) or refuse a
nullable join outright.

Lock order, to keep two services from deadlocking: the appeal row first, then its assignments,
then its replies, then its clocks. A service that locks two appeals (a merge) locks them in
ascending primary-key order.
"""

from django.db import models
from django.utils.translation import gettext as _

from appeals import events
from appeals.actions import check_move
from appeals.models import Appeal, EventCode, Reply, TimelineEvent
from appeals.text import appeal_search_text
from appeals.validators import clean_prose
from core.errors import ServiceError, ServiceForbidden, ServiceNotFound
from core.writes import Writes, insert_now, writing
from departments.audit import audit_row
from departments.roles import Role, has_role


def lock_appeal(appeal_id: int) -> Appeal:
    try:
        return Appeal.objects.select_for_update().get(pk=appeal_id)
    except Appeal.DoesNotExist:
        raise ServiceNotFound("not_found", _("诉求不存在。")) from None


def save_tracked(obj: models.Model, *, actor, reason: str, fields: list[str]) -> None:
    """Save the given fields with a history row naming the actor and a stable reason code."""
    if actor is not None and actor.is_authenticated:
        obj._history_user = actor  # type: ignore[attr-defined]
    obj._change_reason = reason  # type: ignore[attr-defined]
    obj.save(update_fields=fields)


def transition(
    obj: models.Model,
    table: dict[str, frozenset[str]],
    new_state: str,
    *,
    actor,
    reason: str,
    field: str = "status",
    also: tuple[str, ...] = (),
) -> None:
    """Move `obj.<field>` to `new_state` if the transitions table allows it, and save."""
    check_move(obj, table, new_state, field=field)
    setattr(obj, field, new_state)
    save_tracked(obj, actor=actor, reason=reason, fields=[field, *also])


def record(
    appeal: Appeal,
    code: EventCode,
    *,
    actor,
    note: str | events.Text = "",
    department=None,
    public: bool = True,
    credit_to=None,
    internal_note: str = "",
    writes: Writes | None = None,
    **context,
) -> TimelineEvent:
    """One line of the appeal's timeline and one audit record, written in the same transaction
    as the change, and passed with `context` (e.g. assignment=…) to the listeners of
    appeals.events. Every workflow event goes through here. An unknown code is refused: the
    listeners (the clocks) would otherwise pass over it in silence.

    `credit_to` names whose work the event shows when that is not the actor's: a reviewed
    reply is its author's, though the reviewer's approval published it. The audit record
    still names the actor, who did the step.

    `note` is either an `events.Text` (stored as its code and parameters, rendered in each
    reader's language) or words someone typed, stored and shown as they are.

    The audit record, and whatever the listeners write without reading it back (a new
    appeal's clocks), go into `writes` (core.writes): the caller's, which the caller runs with
    its own rows, or else one run here before returning. The listeners get it as
    `context["writes"]`. The event row is written at once, with its id, unless the caller
    passes its `writes` (filing): then it goes with them and has no id."""
    code = EventCode(code)
    shown = credit_to if credit_to is not None else actor
    event = TimelineEvent(
        appeal=appeal,
        code=code,
        actor=shown if shown is not None and shown.is_authenticated else None,
        department=department,
        text_code=note.code if isinstance(note, events.Text) else "",
        params=note.params if isinstance(note, events.Text) else {},
        note=note if isinstance(note, str) else "",
        is_public=public,
        internal_note=internal_note,
    )
    with writing(writes) as w:
        if writes is None:
            insert_now(event)  # the listeners and notifications name it
        else:
            w.insert([event])  # a new appeal's first event: the caller names it by its appeal
        w.insert([audit_row(event=f"appeal.{code}", actor=actor, obj=appeal, at=event.created_at)])
        events.emit(event, {**context, "writes": w})
    return event


def require_role(actor, *roles: Role) -> None:
    forbid_unless(has_role(actor, *roles))


def forbid_unless(allowed: bool, message: str = "") -> None:
    """Refuse with 403 when the actor fails a "who" rule of appeals.actions."""
    if not allowed:
        raise ServiceForbidden("forbidden", message or _("您没有执行此操作的权限。"))


def forbid_for(refusal: str | None) -> None:
    """Refuse with 403 for the reason a "who" rule of appeals.actions gives (None: allowed)."""
    if refusal is not None:
        raise ServiceForbidden("forbidden", refusal)


def require_text(value: str, field_label: str, *, max_length: int = 5000) -> str:
    text = clean_prose(value or "")
    if not text:
        raise ServiceError("required", _("请填写%(field)s。") % {"field": field_label})
    if len(text) > max_length:
        raise ServiceError(
            "too_long",
            _("%(field)s不能超过%(n)d个字。") % {"field": field_label, "n": max_length},
        )
    return text


def search_text_refresh(appeal: Appeal) -> None:
    """Rewrite the appeal's search words from its title, content, enterprise name and replies
    (appeals.text). Called by each service that writes one of those texts, in its transaction,
    with the appeal row already locked or just created. Saved without a history row: the column
    keeps no history (Appeal.history excludes it), so a row would say nothing."""
    appeal.search_text = appeal_search_text(
        title=appeal.title,
        content=appeal.content,
        enterprise_name=appeal.enterprise_name,
        is_anonymous=appeal.is_anonymous,
        replies=Reply.objects.filter(appeal=appeal)
        .order_by("pk")
        .values_list("content", flat=True),
    )
    appeal.skip_history_when_saving = True  # type: ignore[attr-defined]
    try:
        appeal.save(update_fields=["search_text"])
    finally:
        del appeal.skip_history_when_saving  # type: ignore[attr-defined]
