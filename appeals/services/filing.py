"""Filing: an appeal is registered with a unique number and a secret query code at once."""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.codes import query_code_hash, query_code_new
from appeals.models import (
    Appeal,
    Attachment,
    Enterprise,
    EventCode,
    IdempotencyKey,
    NumberSequence,
)
from appeals.services._common import record, require_role, require_text
from appeals.services.notify import notify_event
from appeals.text import appeal_search_text
from appeals.validators import (
    clean_words,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
    validate_phone,
)
from core.errors import ServiceError
from departments.models import Category, Region
from departments.roles import Role, has_role

# Content types we accept, by what the bytes say, with the extensions each may carry.
ALLOWED_UPLOADS: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
}


@dataclass(frozen=True)
class FiledAppeal:
    appeal: Appeal
    query_code: str  # shown once on the receipt; only its hash is stored


def _issue_number(now) -> str:
    """The next number of the year. The sequence row is locked until the filing commits, so
    concurrent filings queue here for a moment and never share a number."""
    prefix, year = settings.APPEAL_NUMBER_PREFIX, timezone.localdate(now).year
    NumberSequence.objects.bulk_create(
        [NumberSequence(prefix=prefix, year=year, last=0)], ignore_conflicts=True
    )
    seq = NumberSequence.objects.select_for_update().get(prefix=prefix, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{prefix}-{year}-{seq.last:06d}"


# Markup in the first bytes of a file that claims to be a document or an image: a polyglot (a
# real PNG header with a page behind it) that a browser or an old viewer may run as HTML.
_MARKUP = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<iframe", b"<body", b"<?php")
# filetype does not name Word 97 and Excel 97 files: both are OLE2 compound files, which only
# the extension tells apart.
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_TYPES = {".doc": "application/msword", ".xls": "application/vnd.ms-excel"}


def attachment_name(name: str) -> str:
    """The file name shown for an upload: the last part of any path (/ or \\), without control
    characters or bidirectional overrides, at most 100 characters with its extension kept. It
    is only ever shown (escaped) and sent back in Content-Disposition; on disk the file has a
    generated name."""
    base = clean_words(re.split(r"[/\\]", name or "")[-1])
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        base = f"{stem[: 100 - len(suffix) - 1]}.{suffix}" if stem else f"{_('附件')}.{suffix}"
    return base[:100] or _("附件")


def attachment_check(upload: UploadedFile) -> str:
    """The content type of an acceptable upload, judged by its bytes; raises otherwise. The
    client's Content-Type is never read, and the name's extension must fit the bytes."""
    name = attachment_name(upload.name or "")
    if upload.size is None or upload.size > settings.APPEAL_ATTACHMENT_MAX_BYTES:
        raise ServiceError(
            "attachment_too_large",
            _("附件“%(name)s”超过 %(mb)d MB 的大小限制。")
            % {"name": name, "mb": settings.APPEAL_ATTACHMENT_MAX_BYTES // (1024 * 1024)},
            field="attachments",
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    suffix = PurePath(upload.name or "").suffix.lower()
    mime = kind.mime if kind else ""
    if not mime and head.startswith(_OLE2):
        mime = _OLE2_TYPES.get(suffix, "")
    allowed = ALLOWED_UPLOADS.get(mime, ())
    if not allowed or suffix not in allowed or any(m in head.lower() for m in _MARKUP):
        raise ServiceError(
            "attachment_type",
            _("附件“%(name)s”的类型不支持。请上传 PDF、JPG、PNG、Word 或 Excel 文件。")
            % {"name": name},
            field="attachments",
        )
    return mime


def attachments_check(uploads: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Each upload with its content type; refuses too many files or any unacceptable one."""
    if len(uploads) > settings.APPEAL_ATTACHMENT_MAX_COUNT:
        raise ServiceError(
            "attachment_count",
            _("最多上传 %(n)d 个附件。") % {"n": settings.APPEAL_ATTACHMENT_MAX_COUNT},
            field="attachments",
        )
    return [(upload, attachment_check(upload)) for upload in uploads]


@contextmanager
def attachments_stored(
    appeal: Appeal, checked: list[tuple[UploadedFile, str]], *, uploaded_by
) -> Iterator[list[Attachment]]:
    """Write the checked uploads as the appeal's attachments for the block that follows. Files
    are not part of the transaction: if anything in the block fails (and the rows roll back),
    the files written are deleted, so a refused or failed request leaves nothing on disk."""
    stored: list[Attachment] = []
    try:
        for upload, mime in checked:
            stored.append(
                Attachment.objects.create(
                    appeal=appeal,
                    file=upload,
                    original_name=attachment_name(upload.name or ""),
                    content_type=mime,
                    size=upload.size or 0,
                    uploaded_by=uploaded_by,
                )
            )
        yield stored
    except BaseException:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise


def _validated(field: str, value: str, validator, *, form_field: str) -> str:
    try:
        validator(value)
    except ValidationError as exc:
        raise ServiceError(f"invalid_{field}", " ".join(exc.messages), field=form_field) from None
    return value


@transaction.atomic
def appeal_file(
    *,
    actor,
    channel: str,
    title: str,
    content: str,
    enterprise_name: str = "",
    credit_code: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    is_anonymous: bool = False,
    category: Category | None = None,
    region: Region | None = None,
    priority: str = Appeal.Priority.NORMAL,
    attachments: Sequence[UploadedFile] = (),
) -> FiledAppeal:
    """Register an appeal from any channel. Staff may enter appeals for other channels; the
    public and enterprises file through the web form or the API."""
    if channel not in Appeal.Channel.values:
        raise ServiceError("invalid_channel", _("来源渠道无效。"))
    if priority not in Appeal.Priority.values:
        raise ServiceError("invalid_priority", _("紧急程度无效。"))
    if channel not in (Appeal.Channel.WEB, Appeal.Channel.API):
        require_role(actor, Role.COMMISSIONER, Role.OFFICE)
    title = require_text(clean_words(title), _("诉求标题"), max_length=100)
    content = require_text(content, _("诉求内容"), max_length=5000)
    enterprise_name = clean_words(enterprise_name)
    contact_name = clean_words(contact_name)
    credit_code = normalize_credit_code(credit_code) if credit_code else ""
    contact_phone = normalize_phone(contact_phone) if contact_phone else ""
    if credit_code:
        _validated("credit_code", credit_code, validate_credit_code, form_field="credit_code")
    if contact_phone:
        _validated("phone", contact_phone, validate_phone, form_field="contact_phone")
    if not is_anonymous:
        require_text(enterprise_name, _("企业名称"), max_length=200)
        require_text(contact_name, _("联系人"), max_length=50)
        if not contact_phone:
            raise ServiceError("required", _("请填写联系电话，以便承办单位与您联系。"))
    checked = attachments_check(attachments)

    # The enterprise the code names gets its commissioner to see the appeal first. But only a
    # filer who belongs to that enterprise (or staff entering it) links the appeal to it: the
    # enterprise's accounts see linked appeals, and a stranger's appeal is not theirs to read.
    named = Enterprise.objects.filter(credit_code=credit_code).first() if credit_code else None
    own = (
        list(actor.enterprises.all())
        if actor is not None and has_role(actor, Role.ENTERPRISE)
        else []
    )
    if named is not None:
        vouched = named in own or has_role(actor, Role.COMMISSIONER, Role.OFFICE)
        enterprise = named if vouched else None
    else:
        enterprise = own[0] if own and not credit_code else None
    known = enterprise or named
    # The enterprise's commissioner sees the appeal first while holding the role: one whose
    # role was taken away stays on the enterprise until the office reassigns it, unnotified.
    commissioner = known.commissioner if known else None
    if commissioner is not None and not has_role(commissioner, Role.COMMISSIONER):
        commissioner = None
    now = timezone.now()
    query_code = query_code_new()
    appeal = Appeal(
        number=_issue_number(now),
        query_code_hash=query_code_hash(query_code),
        channel=channel,
        priority=priority,
        is_anonymous=is_anonymous,
        enterprise=enterprise,
        enterprise_name=enterprise_name or (enterprise.name if enterprise else ""),
        credit_code=credit_code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        filed_by=actor if actor is not None and actor.is_authenticated else None,
        commissioner=commissioner,
        category=category,
        region=region or (known.region if known else None),
        title=title,
        content=content,
        filed_at=now,
    )
    if actor is not None and actor.is_authenticated:
        appeal._history_user = actor
    appeal._change_reason = "filed"
    appeal.search_text = appeal_search_text(
        title=title,
        content=content,
        enterprise_name=appeal.enterprise_name,
        is_anonymous=is_anonymous,
        replies=[],
    )
    appeal.save()

    with attachments_stored(appeal, checked, uploaded_by=appeal.filed_by):
        event = record(
            appeal,
            EventCode.FILED,
            actor=actor,
            note=_("通过“%(channel)s”登记，登记号 %(number)s。")
            % {"channel": appeal.get_channel_display(), "number": appeal.number},
        )
        notify_event(
            event,
            users=[appeal.commissioner] if appeal.commissioner else [],
            phone="" if is_anonymous else contact_phone,
            subject=_("新诉求待分办：%(n)s %(t)s") % {"n": appeal.number, "t": appeal.title},
            body=_("【企呼政应】您的诉求已登记，登记号 %(n)s。请凭登记号和查询码查询办理进度。")
            % {"n": appeal.number},
        )
    return FiledAppeal(appeal=appeal, query_code=query_code)


def appeal_file_idempotent(
    *, actor, key: str, request_hash: str, client: str = "", **fields
) -> tuple[dict, bool]:
    """File once per `Idempotency-Key`: a retry with the same key and body gets the first
    response (with `True`); the same key with another body is refused. Keys belong to the
    caller: a user, or for anonymous callers their network address."""
    if actor is not None and actor.is_authenticated:
        owner = f"user:{actor.pk}"
    else:
        owner = f"anon:{client}"[:60]
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                key=key[:100], owner=owner, request_hash=request_hash
            )
            filed = appeal_file(actor=actor, **fields)
            record.appeal = filed.appeal
            record.response = {
                "number": filed.appeal.number,
                "query_code": filed.query_code,
                "status": filed.appeal.status,
                "filed_at": timezone.localtime(filed.appeal.filed_at).isoformat(),
            }
            record.save(update_fields=["appeal", "response"])
            return record.response, False
    except IntegrityError:
        # The same key was used before (or by a concurrent request, which has committed).
        existing = IdempotencyKey.objects.filter(key=key[:100], owner=owner).first()
        if existing is None or existing.request_hash != request_hash or existing.response is None:
            raise ServiceError(
                "idempotency_key_reused", _("该 Idempotency-Key 已用于另一份不同的诉求。")
            ) from None
        return existing.response, True


def idempotency_purge(*, now=None, keep_hours: int = 24) -> int:
    """Forget stored filing responses (they contain query codes) after a day."""
    now = now or timezone.now()
    deleted, _counts = IdempotencyKey.objects.filter(
        created_at__lt=now - timedelta(hours=keep_hours)
    ).delete()
    return deleted
