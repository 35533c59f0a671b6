"""Filing: an appeal is registered with a unique number and a secret query code at once."""

import dataclasses
import os
import re
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.codes import query_code_hash, query_code_new
from appeals.events import say
from appeals.models import (
    Appeal,
    Attachment,
    Enterprise,
    EventCode,
    IdempotencyKey,
    NumberSequence,
    SmsOptOut,
)
from appeals.selectors import idempotency_owner
from appeals.services._common import record, require_role, require_text
from appeals.services.notify import enterprise_sms, notify_event, sms_phone
from appeals.text import appeal_search_text
from appeals.validators import (
    clean_words,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
    validate_phone,
)
from core.errors import ServiceConflict, ServiceError
from core.sealing import lookup_hash, seal, unseal
from core.writes import Writes, history_statement, insert_now, insert_statement, mark_saved
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


# On PostgreSQL a process takes the appeals' ids ID_BLOCK at a time from the id column's sequence
# and gives them out one a filing (the "hi/lo" way of ORMs): one round trip for ID_BLOCK filings,
# not one each. Ids stay unique (the sequence gives each once) and grow within a process; across
# processes they interleave, as they already did by the order of commits, and the ids a process
# held when it ended are never given (a gap, as a rolled-back filing leaves). Nothing orders
# appeals by id: lists go by filing time, and the number is the filing's order.
ID_BLOCK = 16


@dataclass
class _HeldIds:
    owner: tuple[int, str] | None = None  # the process and database they were taken for
    # Largest first: pop() gives the smallest.
    ids: list[int] = dataclasses.field(default_factory=list)


_held = _HeldIds()
_held_lock = threading.Lock()


def _appeal_id() -> int:
    """A new appeal's id, taken before its number. PostgreSQL: one the process holds, from the
    id column's sequence (ID_BLOCK). SQLite: one past the largest id it ever gave
    (sqlite_sequence, kept by AUTOINCREMENT); the transaction holds the database's write lock
    from its start (IMMEDIATE), so no other filing takes it meanwhile."""
    table = Appeal._meta.db_table
    if connection.vendor == "postgresql":
        owner = (os.getpid(), connection.settings_dict["NAME"])
        with _held_lock:
            if _held.owner != owner:  # a forked child, or another database (tests)
                _held.owner, _held.ids = owner, []
            if not _held.ids:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [table, ID_BLOCK],
                    )
                    _held.ids = sorted((row[0] for row in cursor.fetchall()), reverse=True)
            return _held.ids.pop()
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        return (row[0] if row else 0) + 1


def _insert_numbered(appeal: Appeal, now) -> bool | None:
    """Insert the appeal (its id taken already, _appeal_id) with the next number of its year;
    whether its phone answered TD (SmsOptOut), which decides the filing's SMS (None: no phone to
    text). The number is an upsert that creates the year's row at 1 or adds one to it; the row
    stays locked until the filing commits (PostgreSQL locks the row it updates), so concurrent
    filings queue for it, see each other's numbers once they commit, and never share one; a
    filing that rolls back gives its number back with it. Nothing is read while the row is held.
    On PostgreSQL the opt-out, the upsert and the appeal's insert are one statement (a WITH
    clause): two round trips fewer, one of them while the row is held. SQLite, which has no
    INSERT in a WITH clause, runs them one after the other, in that order. ON CONFLICT … DO
    UPDATE … RETURNING is the same on both (SQLite 3.35+); the ORM cannot say it (bulk_create's
    update_conflicts returns no value on PostgreSQL for the updated row)."""
    prefix, year = settings.APPEAL_NUMBER_PREFIX, timezone.localdate(now).year
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    upsert = (
        f"INSERT INTO {table} (prefix, year, last) VALUES (%s, %s, 1) "  # noqa: S608  # nosec B608 - the table is the model's own, values are parameters
        f"ON CONFLICT (prefix, year) DO UPDATE SET last = {table}.last + 1 "
        "RETURNING last"
    )
    opt_outs = connection.ops.quote_name(SmsOptOut._meta.db_table)
    opted_out = f"EXISTS (SELECT 1 FROM {opt_outs} WHERE phone = %s)"  # noqa: S608  # nosec B608 - the model's own table
    phone = sms_phone(appeal)
    if connection.vendor == "postgresql":
        # The number as Python writes it below: at least six digits, more past 999999.
        number = "(SELECT %s || lpad(last::text, greatest(6, length(last::text)), '0') FROM issued)"
        insert, params = insert_statement(
            [appeal],
            returning=("id", "number"),
            computed={"number": (number, [f"{prefix}-{year}-"])},
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH issued AS ({upsert}) {insert}, {opted_out}",  # nosec B608 - as above
                [prefix, year, *params, phone],
            )
            appeal.pk, appeal.number, answered_td = cursor.fetchone()
        mark_saved(appeal)
        return answered_td
    answered_td = None
    with connection.cursor() as cursor:
        if phone:
            cursor.execute(f"SELECT {opted_out}", [phone])  # nosec B608 - as above
            answered_td = bool(cursor.fetchone()[0])
        cursor.execute(upsert, [prefix, year])
        (last,) = cursor.fetchone()
    appeal.number = f"{prefix}-{year}-{last:06d}"
    insert_now(appeal)
    return answered_td


# Markup anywhere in a file that claims to be a document or an image: a polyglot (a real PNG
# header with a page behind it, or a page after a megabyte of padding) that a browser or an old
# viewer may run as HTML. A tag name counts only when a space, "/" or ">" ends it, as in the
# browsers' own sniffing: four random bytes spelling "<svg" turn up in one compressed photo in
# a hundred, five with the terminator almost never.
_MARKUP = re.compile(rb"<(?:!doctype\s+html|html|script|svg|iframe|body)[\s/>]|<\?php", re.I)
_MARKUP_LONGEST = len(b"<!doctype") + 64  # the overlap between chunks, whitespace included
_CHUNK = 1024 * 1024
# Entries of an Office file that are archives themselves (a zip in the zip, as in 42.zip): their
# own inflation is not in the outer central directory, so they are refused.
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")
_ZIP_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
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
    if not allowed or suffix not in allowed or _has_markup(upload):
        raise _unsupported(name)
    if mime in _ZIP_TYPES:
        _office_zip_check(upload, name)
    return mime


def _unsupported(name: str) -> ServiceError:
    return ServiceError(
        "attachment_type",
        _("附件“%(name)s”的类型不支持。请上传 PDF、JPG、PNG、Word 或 Excel 文件。")
        % {"name": name},
        field="attachments",
    )


def _has_markup(upload: UploadedFile) -> bool:
    """Whether markup appears anywhere in the file: read in chunks that overlap by the longest
    pattern, so a tag split across two chunks is still found."""
    upload.seek(0)
    tail = b""
    try:
        while chunk := upload.read(_CHUNK):
            if _MARKUP.search(tail + chunk):
                return True
            tail = chunk[-_MARKUP_LONGEST:]
        return False
    finally:
        upload.seek(0)


def _office_zip_check(upload: UploadedFile, name: str) -> None:
    """A Word or Excel file is a zip. Judge what it would inflate to from its central directory,
    without inflating it: the total, the ratio to the file's size and the number of parts. A
    chart's workbook inside a Word file is itself a zip: one such level is allowed, and its parts
    count in the same totals; an archive inside that, or any other archive inside, is refused
    (only the first bytes of each part are read to tell)."""
    limit_mb = settings.APPEAL_ATTACHMENT_MAX_INFLATED_BYTES // (1024 * 1024)
    refusals = {
        "attachment_inflates": _(
            "附件“%(name)s”解压后超过 %(mb)d MB 或压缩比异常，无法接收。"
            "请删减内容或另存为 PDF 后上传。"
        ),
        "attachment_entries": _("附件“%(name)s”包含的部件过多，无法接收。请另存为 PDF 后上传。"),
        "attachment_nested": _("附件“%(name)s”内嵌压缩包，无法接收。请另存为 PDF 后上传。"),
    }
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            _inflation_check(archive, _Inflation(stored=max(upload.size or 0, 1)), depth=0)
    except _Refused as refused:
        message = refusals[refused.code] % {"name": name, "mb": limit_mb}
        raise ServiceError(refused.code, message, field="attachments") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError):
        # Damaged, encrypted (RuntimeError) or compressed in a way Python cannot read.
        raise _unsupported(name) from None
    except zlib.error:
        raise _unsupported(name) from None
    finally:
        upload.seek(0)


@dataclass
class _Inflation:
    stored: int  # the upload's size in bytes
    entries: int = 0
    inflated: int = 0


class _Refused(Exception):
    def __init__(self, code: str):
        self.code = code


def _inflation_check(archive: zipfile.ZipFile, totals: _Inflation, *, depth: int) -> None:
    entries = archive.infolist()
    totals.entries += len(entries)
    totals.inflated += sum(entry.file_size for entry in entries)
    if totals.entries > settings.APPEAL_ATTACHMENT_MAX_ENTRIES:
        raise _Refused("attachment_entries")
    if totals.inflated > settings.APPEAL_ATTACHMENT_MAX_INFLATED_BYTES:
        raise _Refused("attachment_inflates")
    if totals.inflated > settings.APPEAL_ATTACHMENT_MAX_RATIO * totals.stored:
        raise _Refused("attachment_inflates")
    for entry in entries:
        with archive.open(entry) as part:
            magic = part.read(4)
        if not magic.startswith(_ARCHIVE_MAGIC):
            continue
        if depth > 0 or not magic.startswith(b"PK\x03\x04"):
            raise _Refused("attachment_nested")
        # The totals above bound what this reads: the part is at most what is left of the
        # limit. A spooled copy, because a zip's directory is read by seeking back and forth,
        # which on a compressed part would inflate it again each time.
        with tempfile.SpooledTemporaryFile(max_size=_CHUNK) as copy:
            with archive.open(entry) as part:
                shutil.copyfileobj(part, copy, _CHUNK)
            copy.seek(0)
            with zipfile.ZipFile(copy) as inner:
                _inflation_check(inner, totals, depth=depth + 1)


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
    sms_opt_in: bool = False,
    language: str = settings.LANGUAGE_CODE,
    category: Category | None = None,
    region: Region | None = None,
    priority: str = Appeal.Priority.NORMAL,
    attachments: Sequence[UploadedFile] = (),
    writes: Writes | None = None,
) -> FiledAppeal:
    """Register an appeal from any channel. Staff may enter appeals for other channels; the
    public and enterprises file through the web form or the API.

    Everything is checked before anything is written; the writes are one transaction, the
    caller's when it has one: without a savepoint of their own (two round trips), so that an
    error while writing undoes the caller's transaction with them (the form keeps its receipt
    in the same transaction). `writes`: the caller's (core.writes), given the rows nobody reads
    back for the caller to run with its own before it commits (the form's new session: one
    round trip for both); without, they are sent here."""
    if channel not in Appeal.Channel.values:
        raise ServiceError("invalid_channel", _("来源渠道无效。"))
    if priority not in Appeal.Priority.values:
        raise ServiceError("invalid_priority", _("紧急程度无效。"))
    if language not in dict(settings.LANGUAGES):
        raise ServiceError("invalid_language", _("通知语言无效。"), field="language")
    if channel not in (Appeal.Channel.WEB, Appeal.Channel.API):
        require_role(actor, Role.COMMISSIONER, Role.OFFICE)
    if not has_role(actor, Role.COMMISSIONER, Role.OFFICE):
        # Urgent jumps every queue and shortens every deadline: those who triage say what is
        # urgent; the public's and enterprises' choice is ignored, not refused.
        priority = Appeal.Priority.NORMAL
    title = require_text(clean_words(title), _("诉求标题"), max_length=100)
    content = require_text(content, _("诉求内容"), max_length=5000)
    enterprise_name = clean_words(enterprise_name)
    if is_anonymous:
        # 无署名: the filer chose to give no name and no number to be called on. A name or
        # phone sent anyway (an old page, a script, an API client) is dropped, never kept where
        # handlers would read it or SMS would go to it.
        contact_name = contact_phone = ""
        sms_opt_in = False
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
        query_code_hash=query_code_hash(query_code),
        channel=channel,
        priority=priority,
        is_anonymous=is_anonymous,
        enterprise=enterprise,
        enterprise_name=enterprise_name or (enterprise.name if enterprise else ""),
        credit_code=credit_code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        sms_opt_in=sms_opt_in,
        language=language,
        filed_by=actor if actor is not None and actor.is_authenticated else None,
        commissioner=commissioner,
        category=category,
        region=region or (known.region if known else None),
        title=title,
        content=content,
        filed_at=now,
        # Open and on time, as a new appeal's clocks are but for a triage due the same day (an
        # urgent appeal's policy): the sla app sets the colour its clocks give in this
        # transaction and writes it only if it differs (appeal_colour_set), so most filings do
        # not rewrite their appeal's row.
        colour="green",
    )
    appeal.search_text = appeal_search_text(
        title=title,
        content=content,
        enterprise_name=appeal.enterprise_name,
        is_anonymous=is_anonymous,
        replies=[],
    )
    with transaction.atomic(savepoint=False):
        # The appeal's id first, and the rows that name it built meanwhile (its history,
        # timeline event, audit record and clocks: core.writes, all sent in one round trip on
        # PostgreSQL once the appeal is in); its number last. The year's row stays locked from
        # the number until this filing commits and the next filing waits for it, so all that is
        # left to do while it is held is the appeal's row (_insert_numbered, which also says
        # whether to text the filer), the notifications (their texts quote the number) and
        # sending the rows.
        appeal.pk = _appeal_id()
        caller_runs = writes is not None
        writes = writes if writes is not None else Writes()
        writes.add(
            history_statement(
                Appeal,
                where="id = %s",
                params=[appeal.pk],
                reason="filed",
                history_type="+",
                at=now,
                user=appeal.filed_by,
            )
        )
        event = record(
            appeal,
            EventCode.FILED,
            actor=actor,
            note=say("filed", channel=appeal.channel),
            writes=writes,
        )
        opted_out = _insert_numbered(appeal, now)
        sms = enterprise_sms(appeal, EventCode.FILED, opted_out=opted_out)
        with attachments_stored(appeal, checked, uploaded_by=appeal.filed_by):
            notify_event(
                event,
                users=[appeal.commissioner] if appeal.commissioner else [],
                enterprise=True,
                subject=say("filed_subject", n=appeal.number, t=appeal.title),
                body=say("filed_sms", n=appeal.number),
                writes=writes,
                sms=sms,
                key=f"filed:{appeal.pk}",  # one filing per appeal; the event has no id yet
            )
            if not caller_runs:
                writes.run()
    return FiledAppeal(appeal=appeal, query_code=query_code)


def appeal_file_idempotent(
    *, actor, key: str, request_hash: str, client: str = "", **fields
) -> tuple[dict, bool]:
    """File once per `Idempotency-Key`: a retry with the same key and body gets the first
    response (with `True`); the same key with another body is refused. Keys belong to the
    caller: a user, or for anonymous callers their network address. The stored receipt is
    sealed under the key itself (core.sealing): the table holds no query code in clear."""
    owner = idempotency_owner(actor, client)
    key = key[:100]
    key_hash = lookup_hash(key)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                key_hash=key_hash, owner=owner, request_hash=request_hash
            )
            filed = appeal_file(actor=actor, **fields)
            receipt = {
                "number": filed.appeal.number,
                "query_code": filed.query_code,
                "status": filed.appeal.status,
                "filed_at": timezone.localtime(filed.appeal.filed_at).isoformat(),
            }
            record.appeal = filed.appeal
            record.sealed_receipt = seal(receipt, secret=key, context=owner)
            record.save(update_fields=["appeal", "sealed_receipt"])
            return receipt, False
    except IntegrityError:
        # The same key was used before (or by a concurrent request, which has committed).
        existing = IdempotencyKey.objects.filter(key_hash=key_hash, owner=owner).first()
        if (
            existing is None
            or existing.request_hash != request_hash
            or existing.sealed_receipt is None
        ):
            raise ServiceConflict(
                "idempotency_key_reused", _("该 Idempotency-Key 已用于另一份不同的诉求。")
            ) from None
        return unseal(existing.sealed_receipt, secret=key, context=owner), True


def idempotency_purge(*, now=None, keep_hours: int = 24) -> int:
    """Forget stored filing responses (they contain query codes) after a day."""
    now = now or timezone.now()
    deleted, _counts = IdempotencyKey.objects.filter(
        created_at__lt=now - timedelta(hours=keep_hours)
    ).delete()
    return deleted
