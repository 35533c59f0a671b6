"""Exports of the appeal lists (seed 003 §二) for the office and leaders, as Excel or CSV.

A CSV is streamed row by row. An Excel file cannot be streamed (it is a zip, written whole at
the end), so it is written row by row into a temporary file that spills to disk, then sent.
Either way the rows are read in chunks (reports.exports) and memory stays bounded.

Every export leaves one audit record (departments.audit): who, which list, which filters and
how many rows; never a row's content.
"""

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from urllib.parse import quote

from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from appeals.models import Appeal
from appeals.selectors import appeals_visible_to
from appeals.views.access import role_required
from departments.audit import audit_record
from departments.models import AuditRecord
from departments.roles import Role
from departments.selectors import active_categories, regions
from reports import exports
from reports.exports import ExportList, InvalidFilters, Row

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# The filters a download link carries (the rest of AppealFilter is accepted but not offered).
FILTER_PARAMS = ("status", "colour", "category", "region", "filed_after", "filed_before")
BATCH_PARAMS = ("closed_after", "closed_before")
# The page's script adds a token to a download link and waits for this cookie to carry it
# back: then the download has started and the "generating" note can go (static/js/exports.js).
DONE_COOKIE = "export_done"
_TOKEN = re.compile(r"^[A-Za-z0-9]{1,32}$")
# An Excel file up to this size is built in memory, a larger one in a file on disk.
XLSX_IN_MEMORY = 8 * 1024 * 1024
CSV_FLUSH_AT = 64 * 1024
COLUMN_WIDTH = 16


@role_required(Role.OFFICE, Role.LEADER)
def export_page(request):
    today = timezone.localdate()
    appeals = appeals_visible_to(request.user)
    errors: list[str] = []
    try:
        period = exports.batch_period(request.GET, today=today)
        counts = {
            kind: exports.filter_for_export(appeals, kind, request.GET, today=today).count()
            for kind in exports.LISTS
        }
    except InvalidFilters as exc:
        errors, counts = exc.messages, {}
        period = exports.default_batch_period(today)
    lists = [
        {
            "export": export,
            "count": counts.get(kind),
            "links": [
                (fmt, _download_url(export, fmt, request.GET, period)) for fmt in CONTENT_TYPES
            ],
        }
        for kind, export in exports.LISTS.items()
    ]
    return render(
        request,
        "reports/exports.html",
        {
            "lists": lists,
            "errors": errors,
            "params": request.GET,
            "statuses": Appeal.Status.choices,
            "colours": Appeal._meta.get_field("colour").choices,
            "categories": active_categories(),
            "regions": regions(),
            "period": period,
            "chosen_statuses": request.GET.getlist("status"),
        },
    )


@role_required(Role.OFFICE, Role.LEADER)
def export_download(request, kind: str, fmt: str):
    export = exports.LISTS.get(kind)
    if export is None or fmt not in CONTENT_TYPES:
        raise Http404
    today = timezone.localdate()
    try:
        appeals = exports.filter_for_export(
            appeals_visible_to(request.user), kind, request.GET, today=today
        )
    except InvalidFilters as exc:
        # Plain text: the messages may repeat what was typed into the URL.
        return HttpResponseBadRequest(
            _("筛选条件无效：") + "；".join(exc.messages),
            content_type="text/plain; charset=utf-8",
        )
    rows = export.rows(appeals, today=today)
    filename = f"{export.title}-{today:%Y%m%d}.{fmt}"
    record = _audit_record(request, kind, fmt)
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _csv_chunks(rows, language=translation.get_language(), record=record),
            content_type=CONTENT_TYPES["csv"],
        )
    else:
        file, count = _xlsx_file(rows, sheet_title=str(export.title))
        record(count)
        response = FileResponse(file, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = _attachment(filename, f"{kind}-{today:%Y%m%d}.{fmt}")
    response["Cache-Control"] = "no-store"
    token = request.GET.get("dl", "")
    if _TOKEN.match(token):
        response.set_cookie(
            DONE_COOKIE, token, max_age=300, samesite="Lax", secure=request.is_secure()
        )
    return response


def _download_url(export: ExportList, fmt: str, params, period: tuple[date, date]) -> str:
    query = [(k, v) for k in FILTER_PARAMS for v in params.getlist(k) if v]
    if export.batched:
        query += [("closed_after", period[0].isoformat()), ("closed_before", period[1].isoformat())]
    url = reverse("export_download", args=[export.kind, fmt])
    return f"{url}?{_urlencode(query)}" if query else url


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


def _attachment(filename: str, ascii_fallback: str) -> str:
    # RFC 6266: the Chinese name for current browsers, an ASCII name for anything older.
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename)}"


def _audit_record(request, kind: str, fmt: str):
    # Filters are codes and dates (status, colour, category id…), never personal data.
    filters = {
        k: request.GET.getlist(k) for k in (*FILTER_PARAMS, *BATCH_PARAMS) if k in request.GET
    }

    def record(rows: int, *, complete: bool = True) -> None:
        audit_record(
            event=f"export.{kind}",
            actor=request.user,
            request=request,
            outcome=AuditRecord.Outcome.SUCCESS if complete else AuditRecord.Outcome.FAILURE,
            detail={"format": fmt, "rows": rows, "filters": filters},
        )

    return record


def _csv_chunks(rows: Iterable[Row], *, language: str, record) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly; written into a
    small buffer and sent each time it fills."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    count, complete = -1, False  # the header is not counted
    try:
        # The rows are made after the view has returned; anything still translated then (the
        # anonymous enterprise's label) keeps the request's language.
        with translation.override(language):
            for row in rows:
                writer.writerow(row)
                count += 1
                if buffer.tell() >= CSV_FLUSH_AT:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
        complete = True
    finally:
        # Also when the browser gives up half-way (the server closes the generator).
        record(max(count, 0), complete=complete)


def _xlsx_file(rows: Iterable[Row], *, sheet_title: str):
    """The rows as an Excel workbook in a temporary file, rewound; and the number of data rows.

    openpyxl's write-only mode keeps the sheet's rows in a temporary file of its own until the
    workbook is saved, so neither step holds the list in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.freeze_panes = "A2"
    rows = iter(rows)
    header = next(rows)
    for index in range(len(header)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = COLUMN_WIDTH
    bold = Font(bold=True)
    cells = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
        count += 1
    # Closed by FileResponse once sent, and then gone: it is a temporary file.
    file = tempfile.SpooledTemporaryFile(max_size=XLSX_IN_MEMORY)  # noqa: SIM115
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file, count


def _xlsx_value(value):
    # Control characters other than tab and newlines are not allowed in the XML of a
    # workbook: openpyxl would raise half-way through the export.
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
