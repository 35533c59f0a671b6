"""Every write to a lead: one function per action, one transaction, the row locked, the move
checked against LEAD_TRANSITIONS, a history row with the actor and a stable reason code, and
an audit record, together."""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import Appeal
from appeals.services import appeal_file, attachment_check, attachment_name
from appeals.validators import clean_words
from core.errors import ServiceConflict, ServiceError, ServiceForbidden, ServiceNotFound
from departments.audit import audit_record
from departments.models import Category, Department, Region
from leads.actions import (
    TARGETS,
    LeadAction,
    check_lead_move,
    may_check_lead,
    may_file_lead,
)
from leads.models import Lead, Referral

# Channels the office may register a lead's appeal under: those staff enter for others.
APPEAL_CHANNELS = (Appeal.Channel.LETTER, Appeal.Channel.VISIT, Appeal.Channel.HOTLINE)


def _require(allowed: bool) -> None:
    if not allowed:
        raise ServiceForbidden("forbidden", _("您没有执行此操作的权限。"))


def _text(value: str, label: str, *, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError("required", _("请填写%(field)s。") % {"field": label})
    if len(text) > max_length:
        raise ServiceError(
            "too_long", _("%(field)s不能超过%(n)d个字。") % {"field": label, "n": max_length}
        )
    return text


def _save(lead: Lead, *, actor, reason: str, fields: list[str]) -> None:
    lead._history_user = actor  # type: ignore[attr-defined]
    lead._change_reason = reason  # type: ignore[attr-defined]
    lead.save(update_fields=fields)


def _lock(lead_id: int) -> Lead:
    try:
        return Lead.objects.select_for_update().get(pk=lead_id)
    except Lead.DoesNotExist:
        raise ServiceNotFound("not_found", _("线索不存在。")) from None


def _checked(lead: Lead, action: LeadAction, *, actor, now, also: tuple[str, ...] = ()) -> None:
    """Move the lead to the status `action` leads to, as checked by `actor`."""
    check_lead_move(lead, action)
    lead.status = TARGETS[action]
    lead.checked_by = actor
    lead.checked_at = now
    _save(
        lead, actor=actor, reason=str(action), fields=["status", "checked_by", "checked_at", *also]
    )
    audit_record(event=f"lead.{action}", actor=actor, obj=lead, at=now)


@transaction.atomic
def lead_file(
    *,
    actor,
    kind: str,
    department: Department,
    description: str,
    happened_on=None,
    place: str = "",
    attachment: UploadedFile | None = None,
) -> Lead:
    """An observer files a lead. One optional attachment, checked as an appeal's are."""
    _require(may_file_lead(actor))
    if kind not in Lead.Kind.values:
        raise ServiceError("invalid_kind", _("线索类型无效。"), field="kind")
    if not department.is_active:
        raise ServiceConflict("invalid_department", _("该单位已停用。"), field="department")
    now = timezone.now()
    if happened_on is not None and happened_on > timezone.localdate(now):
        raise ServiceError("future_date", _("发生日期不能晚于今天。"), field="happened_on")
    lead = Lead(
        observer=actor,
        kind=kind,
        department=department,
        description=_text(description, _("具体情况"), max_length=5000),
        happened_on=happened_on,
        place=clean_words(place)[:200],
        filed_at=now,
    )
    if attachment is not None:
        lead.attachment_type = attachment_check(attachment)
        lead.attachment_name = attachment_name(attachment.name or "")
        lead.attachment = attachment
    lead._history_user = actor  # type: ignore[attr-defined]
    lead._change_reason = "filed"  # type: ignore[attr-defined]
    try:
        lead.save()
        audit_record(event="lead.filed", actor=actor, obj=lead, at=now)
    except BaseException:
        # The file is not part of the transaction: a failed filing leaves nothing on disk.
        if lead.attachment:
            lead.attachment.delete(save=False)
        raise
    return lead


@transaction.atomic
def lead_to_appeal(
    *,
    actor,
    lead_id: int,
    title: str,
    content: str,
    channel: str = Appeal.Channel.LETTER,
    category: Category | None = None,
    region: Region | None = None,
) -> Lead:
    """The office turns a lead into an appeal through the ordinary filing service. The appeal
    is filed by the office, anonymously (no enterprise, no contact), with the title and text
    the office writes: it names no observer, so the departments it reaches never learn who
    reported it. The office reviews the lead's text before it passes on."""
    _require(may_check_lead(actor))
    lead = _lock(lead_id)
    check_lead_move(lead, LeadAction.TO_APPEAL)
    if channel not in APPEAL_CHANNELS:
        raise ServiceError("invalid_channel", _("来源渠道无效。"), field="channel")
    filed = appeal_file(
        actor=actor,
        channel=channel,
        title=title,
        content=content,
        is_anonymous=True,
        category=category,
        region=region,
    )
    lead.appeal = filed.appeal
    _checked(lead, LeadAction.TO_APPEAL, actor=actor, now=filed.appeal.filed_at, also=("appeal",))
    return lead


@transaction.atomic
def lead_refer(*, actor, lead_id: int, referred_to: str, what: str) -> Referral:
    """The office refers a lead for discipline (纪检监察), recording what, to whom and when."""
    _require(may_check_lead(actor))
    lead = _lock(lead_id)
    check_lead_move(lead, LeadAction.REFER)
    now = timezone.now()
    referral = Referral(
        lead=lead,
        referred_to=_text(clean_words(referred_to), _("移交单位"), max_length=100),
        what=_text(what, _("移交内容"), max_length=5000),
        referred_at=now,
        referred_by=actor,
    )
    referral._history_user = actor  # type: ignore[attr-defined]
    referral._change_reason = "referred"  # type: ignore[attr-defined]
    referral.save()
    _checked(lead, LeadAction.REFER, actor=actor, now=now)
    return referral


@transaction.atomic
def lead_close(*, actor, lead_id: int, reason: str) -> Lead:
    """The office closes a lead after checking it, with the reason the observer reads."""
    _require(may_check_lead(actor))
    lead = _lock(lead_id)
    check_lead_move(lead, LeadAction.CLOSE)
    lead.close_reason = _text(reason, _("办结理由"), max_length=2000)
    _checked(lead, LeadAction.CLOSE, actor=actor, now=timezone.now(), also=("close_reason",))
    return lead
