"""Exports of the appeal lists (seed 003 §二) for the office and leaders, as Excel or CSV.

A list of up to EXPORT_INLINE_MAX_ROWS rows is sent at once: a CSV streamed row by row, an
Excel file written row by row into a temporary file (it is a zip, written whole at the end).
A longer list is never built in the request: the download asks for an export job
(reports.jobs), whose page shows the task's progress and then the file. Either way the rows
are read in chunks (reports.exports) and memory stays bounded.

Every export leaves one audit record (departments.audit): who, which list, which filters and
how many rows; never a row's content.
"""

import re
from collections.abc import Iterable, Iterator
from datetime import date
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseGone,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appeals.models import Appeal
from appeals.selectors import appeals_visible_to
from appeals.views.access import role_required
from core.db import replica_reads
from departments.audit import audit_record
from departments.models import AuditRecord
from departments.roles import Role
from departments.selectors import active_categories, regions
from reports import exports, jobs
from reports.exports import ExportList, InvalidFilters, Row
from reports.models import ExportJob
from reports.spreadsheets import CONTENT_TYPES, csv_chunks, xlsx_file

# The filters a download link carries (the rest of AppealFilter is accepted but not offered).
# The page's script adds a token to a download link and waits for this cookie to carry it
# back: then the download has started and the "generating" note can go (static/js/exports.js).
DONE_COOKIE = "export_done"
_TOKEN = re.compile(r"^[A-Za-z0-9]{1,32}$")


@role_required(Role.OFFICE, Role.LEADER)
@replica_reads()
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
            "inline": counts.get(kind, 0) <= settings.EXPORT_INLINE_MAX_ROWS,
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
            "jobs": jobs.export_jobs_of(request.user),
        },
    )


@role_required(Role.OFFICE, Role.LEADER)
@require_http_methods(["GET", "HEAD", "POST"])
def export_download(request, kind: str, fmt: str):
    """GET: the file at once, for a list of up to EXPORT_INLINE_MAX_ROWS rows; a longer one
    goes back to the exports page, which offers a background export. POST: an export job."""
    export = exports.LISTS.get(kind)
    if export is None or fmt not in CONTENT_TYPES:
        raise Http404
    # The filters are in the query string either way: the page's form posts to the same URL
    # as the link (its body carries only the CSRF token).
    params = request.GET
    today = timezone.localdate()
    try:
        appeals = exports.filter_for_export(
            appeals_visible_to(request.user), kind, params, today=today
        )
    except InvalidFilters as exc:
        # Plain text: the messages may repeat what was typed into the URL.
        return HttpResponseBadRequest(
            _("筛选条件无效：") + _("；").join(exc.messages),
            content_type="text/plain; charset=utf-8",
        )
    if request.method == "POST":
        job = jobs.export_job_request(
            user=request.user, kind=kind, fmt=fmt, filters=jobs.export_filters(params)
        )
        return redirect("export_job", pk=job.pk)
    # One count (on an index for the common filters) before anything is built: a long list
    # must never tie up a web worker for the minute its file takes.
    with replica_reads():
        count = appeals.count()
    if count > settings.EXPORT_INLINE_MAX_ROWS:
        messages.info(
            request,
            _("该清单共 %(n)d 条，超过 %(max)d 条，请点击“后台生成”，生成后在本页下载。")
            % {"n": count, "max": settings.EXPORT_INLINE_MAX_ROWS},
        )
        query = request.GET.urlencode()
        return redirect(reverse("exports") + (f"?{query}" if query else ""))
    rows = export.rows(appeals, today=today)
    filename = f"{export.title}-{today:%Y%m%d}.{fmt}"
    record = _audit_record(request, kind, fmt)
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _csv_chunks(rows, language=translation.get_language(), record=record),
            content_type=CONTENT_TYPES["csv"],
        )
    else:
        file, written = xlsx_file(rows, sheet_title=str(export.title))
        record(written)
        # Closed by FileResponse once sent, and then gone: it is a temporary file.
        response = FileResponse(file, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = _attachment(filename, f"{kind}-{today:%Y%m%d}.{fmt}")
    response["Cache-Control"] = "no-store"
    token = request.GET.get("dl", "")
    if _TOKEN.match(token):
        response.set_cookie(
            DONE_COOKIE, token, max_age=300, samesite="Lax", secure=request.is_secure()
        )
    return response


def _job_for(request, pk: int) -> ExportJob:
    """The export job, for the user who asked for it or the office; 404 for anyone else."""
    job = jobs.export_job_for(request.user, pk)
    if job is None:
        raise Http404
    return job


@role_required(Role.OFFICE, Role.LEADER)
def export_job_page(request, pk: int):
    job = _job_for(request, pk)
    return render(request, "reports/export_job.html", {"job": job, "title": _job_title(job)})


@role_required(Role.OFFICE, Role.LEADER)
def export_job_progress(request, pk: int):
    """The fragment the job's page polls (htmx) until the job is finished."""
    job = _job_for(request, pk)
    response = render(request, "reports/partials/export_progress.html", {"job": job})
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.OFFICE, Role.LEADER)
def export_job_file(request, pk: int):
    job = _job_for(request, pk)
    if job.status == ExportJob.Status.EXPIRED:
        return HttpResponseGone(_("导出文件已过期，请重新导出。"))
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        # Deleted by the expiry sweep a moment ago.
        return HttpResponseGone(_("导出文件已过期，请重新导出。"))
    created = timezone.localdate(job.created_at)
    title = _job_title(job)
    response = FileResponse(handle, content_type=CONTENT_TYPES[job.format])
    response["Content-Disposition"] = _attachment(
        f"{title}-{created:%Y%m%d}.{job.format}", f"{job.kind}-{created:%Y%m%d}.{job.format}"
    )
    response["Cache-Control"] = "no-store"
    return response


def _job_title(job: ExportJob) -> str:
    if job.kind == ExportJob.Kind.BULLETIN:
        return f"{_('诉求办理通报')}-{job.filters.get('period', '')}"
    return str(exports.LISTS[job.kind].title)


def list_download_urls(params) -> list[tuple[str, str]]:
    """(format, URL) of the full list (全量问题清单) with exactly these filters: the export of
    a list shown elsewhere (the list behind a number on the board)."""
    export = exports.LISTS[ExportJob.Kind.FULL]
    today = timezone.localdate()
    return [(fmt, _download_url(export, fmt, params, (today, today))) for fmt in CONTENT_TYPES]


def _download_url(export: ExportList, fmt: str, params, period: tuple[date, date]) -> str:
    query = [(k, v) for k in jobs.FILTER_PARAMS for v in params.getlist(k) if v]
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
    filters = jobs.export_filters(request.GET)

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
    counted = [0]

    def count(n: int) -> None:
        counted[0] = n

    complete = False
    try:
        # The rows are made after the view has returned; anything still translated then (the
        # anonymous enterprise's label) keeps the request's language.
        with translation.override(language):
            yield from csv_chunks(rows, counted=count)
        complete = True
    finally:
        # Also when the browser gives up half-way (the server closes the generator).
        record(counted[0], complete=complete)
