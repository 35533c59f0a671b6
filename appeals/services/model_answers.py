"""The office marks published replies as model answers (示范答复, issue #18): departments see
them first among the earlier replies they may reuse (appeals.search.reply_references)."""

from django.db import transaction
from django.utils.translation import gettext as _

from appeals.actions import may_mark_model_answer
from appeals.models import Reply
from appeals.services._common import forbid_unless, lock_appeal, save_tracked
from core.errors import ServiceConflict, ServiceNotFound
from departments.audit import audit_record


@transaction.atomic
def reply_mark_model_answer(*, actor, reply_id: int, model: bool) -> Reply:
    """Mark (or unmark) a published reply as a model answer; history records who and when.
    Not a timeline event: it says nothing about the appeal's own handling."""
    forbid_unless(may_mark_model_answer(actor))
    appeal_id = Reply.objects.filter(pk=reply_id).values_list("appeal_id", flat=True).first()
    if appeal_id is None:
        raise ServiceNotFound("not_found", _("答复不存在。"))
    # The lock order of _common.py: the appeal, then its reply.
    lock_appeal(appeal_id)
    reply = Reply.objects.select_for_update().get(pk=reply_id)
    if reply.state != Reply.State.PUBLISHED:
        raise ServiceConflict("reply_not_published", _("只有已反馈企业的答复才能设为示范答复。"))
    if reply.is_model_answer == model:
        return reply
    reply.is_model_answer = model
    reason = "model_answer_marked" if model else "model_answer_unmarked"
    save_tracked(reply, actor=actor, reason=reason, fields=["is_model_answer"])
    audit_record(event=f"reply.{reason}", actor=actor, obj=reply)
    return reply
