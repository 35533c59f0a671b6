"""Writes about meetings, grids and contacts: each one function, in one transaction, with its
history (simple-history user and a stable English reason) and its audit record. Appeals are
registered only by appeals.services.appeal_file, as staff register appeals from any channel
other than the web form: the same numbers, clocks, timeline, audit and notifications."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import Appeal, Enterprise
from appeals.services import FiledAppeal, appeal_file
from appeals.validators import clean_words
from core.errors import ServiceConflict, ServiceError, ServiceForbidden
from departments.audit import audit_record
from departments.models import Category, Department, Region
from engagement.actions import (
    BATCH_MAX_ROWS,
    check_raise_from_contact,
    may_enter_meeting_appeals,
    may_log_contact,
    may_raise_from_contact,
    may_schedule_meeting,
)
from engagement.models import Contact, GridMember, Meeting, MeetingAppeal

TITLE_FROM_CONTENT = 30  # characters of the text that make a title when none is typed


def _forbid_unless(allowed: bool) -> None:
    if not allowed:
        raise ServiceForbidden("forbidden", _("您没有执行此操作的权限。"))


def _tracked(obj, *, actor, reason: str) -> None:
    obj._history_user = actor
    obj._change_reason = reason


def _required(value: str, label: str, *, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError("required", _("请填写%(field)s。") % {"field": label})
    if len(value) > max_length:
        raise ServiceError(
            "too_long", _("%(field)s不能超过%(n)d个字。") % {"field": label, "n": max_length}
        )
    return value


# --- Meetings ----------------------------------------------------------------------------


@transaction.atomic
def meeting_schedule(
    *,
    actor,
    kind: str,
    title: str,
    held_on: date,
    place: str,
    presiding_leader: str,
    region: Region,
    organiser: Department | None = None,
    departments: Sequence[Department] = (),
    enterprises: Sequence[Enterprise] = (),
) -> Meeting:
    """Schedule a meeting. The office may organise anywhere; a county government's member
    organises for that government, in its county."""
    _forbid_unless(may_schedule_meeting(actor, organiser))
    if kind not in Meeting.Kind.values:
        raise ServiceError("invalid_kind", _("会议类型无效。"))
    if organiser is not None and organiser.kind == Department.Kind.COUNTY_GOV:
        # A county's meeting is in the county, whatever region was sent.
        region = organiser.region
    meeting = Meeting(
        kind=kind,
        title=_required(clean_words(title), _("会议名称"), max_length=100),
        held_on=held_on,
        place=_required(clean_words(place), _("地点"), max_length=100),
        presiding_leader=_required(clean_words(presiding_leader), _("主持领导"), max_length=50),
        region=region,
        organiser=organiser,
        created_by=actor,
    )
    _tracked(meeting, actor=actor, reason="scheduled")
    meeting.save()
    meeting.departments.set(departments)
    meeting.enterprises.set(enterprises)
    audit_record(
        event="meeting.scheduled",
        actor=actor,
        obj=meeting,
        detail={"departments": len(departments), "enterprises": len(enterprises)},
    )
    return meeting


@dataclass(frozen=True)
class MeetingRow:
    """One line of the batch table, as typed (ids; None or "" when left empty)."""

    enterprise_id: int | None
    content: str
    title: str = ""
    category_id: int | None = None
    proposed_lead_id: int | None = None

    @property
    def is_blank(self) -> bool:
        return not (
            self.enterprise_id
            or self.content.strip()
            or self.title.strip()
            or self.category_id
            or self.proposed_lead_id
        )


class BatchRefused(ServiceError):
    """Some rows of a batch were refused, and so was the whole batch (nothing registered):
    `rows` maps each bad row's index to its errors, each (field, message)."""

    def __init__(self, rows: dict[int, list[tuple[str, str]]]):
        super().__init__(
            "batch_refused",
            _("有 %(n)d 行未通过检查，本批诉求均未登记；请修改标红的行后重新提交。")
            % {"n": len(rows)},
        )
        self.rows = rows


def _row_checked(
    row: MeetingRow,
    *,
    invited: dict[int, Enterprise],
    categories: dict[int, Category],
    departments: dict[int, Department],
) -> tuple[list[tuple[str, str]], dict]:
    """The row's errors (field, message), and what appeal_file needs when there are none."""
    errors: list[tuple[str, str]] = []
    enterprise = invited.get(row.enterprise_id or 0)
    if not row.enterprise_id:
        errors.append(("enterprise", _("请选择企业。")))
    elif enterprise is None:
        errors.append(("enterprise", _("该企业不在本次会议的受邀企业名单中。")))
    elif not enterprise.contact_name or not enterprise.contact_phone:
        errors.append(
            (
                "enterprise",
                _("该企业未登记联系人或联系电话，请先在企业信息中补充，以便承办单位联系。"),
            )
        )
    content = row.content.strip()
    if not content:
        errors.append(("content", _("请填写诉求内容。")))
    elif len(content) > 5000:
        errors.append(("content", _("诉求内容不能超过5000字。")))
    title = clean_words(row.title) or clean_words(content)[:TITLE_FROM_CONTENT]
    if len(title) > 100:
        errors.append(("title", _("诉求标题不能超过100字。")))
    category = categories.get(row.category_id or 0)
    if row.category_id and category is None:
        errors.append(("category", _("诉求类别无效或已停用。")))
    lead = departments.get(row.proposed_lead_id or 0)
    if row.proposed_lead_id and lead is None:
        errors.append(("proposed_lead", _("建议牵头单位无效或已停用。")))
    fields = {"enterprise": enterprise, "title": title, "content": content}
    return errors, {**fields, "category": category, "lead": lead}


@transaction.atomic
def meeting_appeals_enter(
    *, actor, meeting_id: int, rows: Sequence[MeetingRow], batch_key: str = ""
) -> list[FiledAppeal]:
    """Register the appeals raised at a meeting, one per non-blank row, each through
    appeal_file with channel "meeting" and linked to the meeting with its proposed lead.

    All or nothing: every row is checked (and filed in a savepoint, so that the filing
    service's own refusals are collected too); if any row is refused, the whole batch rolls
    back and BatchRefused names every bad row, so the table comes back with everything typed
    and nothing half-registered.

    With a `batch_key` (the page sends a fresh one with each table it shows), a batch already
    entered under that key is refused: a double click or a retry registers nothing twice. The
    meeting's row lock makes a second submission wait for the first and then see its rows."""
    _forbid_unless(may_enter_meeting_appeals(actor))
    meeting = Meeting.objects.select_for_update().get(pk=meeting_id)
    batch_key = batch_key[:40]
    if batch_key and MeetingAppeal.objects.filter(meeting=meeting, batch_key=batch_key).exists():
        raise ServiceConflict("batch_already_entered", _("这批诉求已经登记过了，没有重复登记。"))
    lines = [(i, row) for i, row in enumerate(rows) if not row.is_blank]
    if not lines:
        raise ServiceError("empty_batch", _("请至少填写一行诉求。"))
    if len(lines) > BATCH_MAX_ROWS:
        raise ServiceError(
            "batch_too_long", _("每批最多录入 %(n)d 件诉求。") % {"n": BATCH_MAX_ROWS}
        )
    invited = {e.pk: e for e in meeting.enterprises.select_related("region")}
    categories = {c.pk: c for c in Category.objects.filter(is_active=True)}
    departments = {d.pk: d for d in Department.objects.filter(is_active=True)}
    errors: dict[int, list[tuple[str, str]]] = {}
    filed: list[FiledAppeal] = []
    for index, row in lines:
        row_errors, data = _row_checked(
            row, invited=invited, categories=categories, departments=departments
        )
        if row_errors:
            errors[index] = row_errors
            continue
        enterprise = data["enterprise"]
        try:
            with transaction.atomic():
                one = appeal_file(
                    actor=actor,
                    channel=Appeal.Channel.MEETING,
                    title=data["title"],
                    content=data["content"],
                    enterprise_name=enterprise.name,
                    credit_code=enterprise.credit_code,
                    contact_name=enterprise.contact_name,
                    contact_phone=enterprise.contact_phone,
                    category=data["category"],
                    region=enterprise.region or meeting.region,
                )
                link = MeetingAppeal(
                    meeting=meeting,
                    appeal=one.appeal,
                    proposed_lead=data["lead"],
                    entered_by=actor,
                    batch_key=batch_key,
                )
                _tracked(link, actor=actor, reason="entered")
                link.save()
        except ServiceError as exc:
            errors[index] = [(exc.field or "content", exc.message)]
            continue
        filed.append(one)
    if errors:
        raise BatchRefused(errors)
    audit_record(
        event="meeting.appeals_entered",
        actor=actor,
        obj=meeting,
        detail={"appeals": [f.appeal.number for f in filed]},
    )
    return filed


# --- Contacts ----------------------------------------------------------------------------


@transaction.atomic
def contact_log(
    *, actor, enterprise_id: int, kind: str, contacted_on: date, summary: str
) -> Contact:
    """A commissioner records a contact with an enterprise of their grids or one of their key
    enterprises: how, when, and what was discussed."""
    enterprise = Enterprise.objects.get(pk=enterprise_id)
    grid_ids = set(
        GridMember.objects.filter(enterprise=enterprise).values_list("grid_id", flat=True)
    )
    _forbid_unless(may_log_contact(actor, enterprise, grid_ids))
    if kind not in Contact.Kind.values:
        raise ServiceError("invalid_kind", _("对接方式无效。"), field="kind")
    if contacted_on > timezone.localdate():
        raise ServiceError("future_date", _("对接日期不能晚于今天。"), field="contacted_on")
    contact = Contact(
        enterprise=enterprise,
        commissioner=actor,
        kind=kind,
        contacted_on=contacted_on,
        summary=_required(summary, _("对接内容"), max_length=2000),
    )
    _tracked(contact, actor=actor, reason="logged")
    contact.save()
    audit_record(event="contact.logged", actor=actor, obj=contact)
    return contact


@transaction.atomic
def contact_raise_appeal(
    *, actor, contact_id: int, title: str, content: str, category: Category | None = None
) -> FiledAppeal:
    """Register an appeal from a contact, in one step: filed through appeal_file (channel
    "visit", 走访: what a commissioner hears on their rounds) for the contact's enterprise,
    and linked to the contact. Once per contact, by the commissioner who logged it."""
    # Locked alone: PostgreSQL locks no row on the nullable side of a join (the appeal).
    contact = Contact.objects.select_for_update().get(pk=contact_id)
    _forbid_unless(may_raise_from_contact(actor, contact))
    check_raise_from_contact(contact)
    enterprise = contact.enterprise
    filed = appeal_file(
        actor=actor,
        channel=Appeal.Channel.VISIT,
        title=title,
        content=content,
        enterprise_name=enterprise.name,
        credit_code=enterprise.credit_code,
        contact_name=enterprise.contact_name,
        contact_phone=enterprise.contact_phone,
        category=category,
        region=enterprise.region,
    )
    contact.appeal = filed.appeal
    _tracked(contact, actor=actor, reason="appeal_raised")
    contact.save(update_fields=["appeal"])
    audit_record(
        event="contact.appeal_raised",
        actor=actor,
        obj=contact,
        detail={"appeal": filed.appeal.number},
    )
    return filed
