"""Exports built off the request: the appeal lists longer than EXPORT_INLINE_MAX_ROWS and the
bulletin's spreadsheet. A 100,000-row Excel file takes about a minute, as long as a web
worker may take for a whole request; so the page asks for a job, a Celery task builds the file
and reports its progress on the job, and the page polls it until the file is ready.

The job's row is what must not be lost: the task is queued after the row commits, and a sweep
re-queues a job that no worker took (the broker was down) or whose worker died. Each step is a
compare-and-set on the job's status, so a job queued twice is built once. The sweep also
deletes files past their expiry.

Each export leaves one audit record when it finishes (departments.audit): who, which list,
which filters and how many rows; never a row's content.
"""

import logging
import secrets
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone, translation

from appeals.selectors import appeals_visible_to
from core.db import replica_reads, wal_position
from core.jobs import enqueue
from departments.audit import audit_record
from departments.models import AuditRecord
from departments.roles import Role, has_role
from reports import exports
from reports.bulletin import (
    BULLETIN_PERCENT_COLUMNS,
    bulletin_compute,
    bulletin_preamble,
    bulletin_rows,
)
from reports.models import ExportJob
from reports.spreadsheets import csv_file, xlsx_file

logger = logging.getLogger(__name__)

# The export task's own time limit (reports.tasks): longer than other tasks', since a list of
# a whole province is long. A job running for longer than this has lost its worker.
EXPORT_TIME_LIMIT = 1800
_STALE_RUNNING = timedelta(seconds=EXPORT_TIME_LIMIT + 60)
# A job still queued after this long was probably never sent to the broker.
_STALE_QUEUED = timedelta(minutes=5)
SWEEP_BATCH = 200
# How long a job waits for the replica to replay the requester's last writes before reading
# from the primary instead (core.db).
REPLICA_WAIT_SECONDS = 5.0

Status = ExportJob.Status


def export_job_request(
    *, user, kind: str, fmt: str, filters: dict[str, Any], now: datetime | None = None
) -> ExportJob:
    """Ask for an export: the job's row now, the task after it commits. `filters` are the
    allow-listed parameters, already validated (reports.exports.filter_for_export)."""
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=user,
            kind=kind,
            format=fmt,
            filters=filters,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            # Every write the user made before asking is at or before this position.
            wal_position=wal_position(),
            created_at=now or timezone.now(),
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    try:
        enqueue("reports.export_run", job_id)
    except Exception:
        # The broker is unreachable: the job stays queued and the sweep queues it again.
        logger.exception("export job %s not queued; the sweep will retry", job_id)


def export_run(*, job_id: int, now: datetime | None = None) -> None:
    """Build the job's file. Safe to run twice: only the run that moves the job from queued
    (or from running with a dead worker) to running builds it."""
    started = now or timezone.now()
    # A compare-and-set instead of select_for_update: the lock would be held for the whole
    # export, and a second run must not wait for it but give up at once.
    claimed = (
        ExportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=Status.QUEUED)
            | Q(status=Status.RUNNING, started_at__lt=started - _STALE_RUNNING)
        )
        .update(status=Status.RUNNING, started_at=started, progress_count=0)
    )
    if not claimed:
        return
    job = ExportJob.objects.get(pk=job_id)
    file: IO[bytes] | None = None
    try:
        with (
            translation.override(job.language),
            replica_reads(after=job.wal_position, wait=REPLICA_WAIT_SECONDS),
        ):
            file, count = _build(job)
        name = f"{job.kind}-{job.pk}-{secrets.token_hex(8)}.{job.format}"
        job.file.save(name, File(file, name=name), save=False)
    except Exception:
        logger.exception("export job %s failed", job_id)
        _finish(job, status=Status.FAILED, count=job.progress_count)
        return
    finally:
        if file is not None:
            file.close()
    if not _finish(job, status=Status.DONE, count=count):
        job.file.delete(save=False)


def _build(job: ExportJob) -> tuple[IO[bytes], int]:
    today = timezone.localdate(job.created_at)

    def progress(count: int) -> None:
        # Outside any transaction: the job's page sees it at once.
        ExportJob.objects.filter(pk=job.pk).update(progress_count=count)

    if job.kind == ExportJob.Kind.BULLETIN:
        bulletin = bulletin_compute(job.filters["period"], today=today)
        table = [tuple(exports.neutralise(cell) for cell in row) for row in bulletin_rows(bulletin)]
        ExportJob.objects.filter(pk=job.pk).update(progress_total=len(table) - 1)
        return xlsx_file(
            table,
            sheet_title="分单位",
            progress=progress,
            preamble=[str(exports.neutralise(line)) for line in bulletin_preamble(bulletin)],
            percent_columns=BULLETIN_PERCENT_COLUMNS,
        )
    export = exports.LISTS[job.kind]
    params = QueryDict(mutable=True)
    for key, values in job.filters.items():
        params.setlist(key, values)
    appeals = exports.filter_for_export(
        appeals_visible_to(job.requested_by), job.kind, params, today=today
    )
    ExportJob.objects.filter(pk=job.pk).update(progress_total=appeals.count())
    rows = export.rows(appeals, today=today)
    if job.format == ExportJob.Format.CSV:
        return csv_file(rows, progress=progress)
    return xlsx_file(rows, sheet_title=str(export.title), progress=progress)


def _finish(job: ExportJob, *, status: str, count: int) -> bool:
    """Record the outcome, unless another run took the job over meanwhile (False)."""
    finished = timezone.now()
    done = status == Status.DONE
    with transaction.atomic():
        # Compare-and-set on the run's own start: a run that lost its job to a later one
        # (its worker was thought dead) records nothing.
        updated = ExportJob.objects.filter(
            pk=job.pk, status=Status.RUNNING, started_at=job.started_at
        ).update(
            status=status,
            progress_count=count,
            finished_at=finished,
            file=job.file.name if done else "",
            expires_at=finished + timedelta(hours=settings.EXPORT_KEEP_HOURS) if done else None,
        )
        if updated:
            audit_record(
                event=f"export.{job.kind}",
                actor=job.requested_by,
                obj=job,
                outcome=AuditRecord.Outcome.SUCCESS if done else AuditRecord.Outcome.FAILURE,
                detail={"format": job.format, "rows": count, "filters": job.filters},
            )
    return bool(updated)


def exports_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete the files past their expiry, and queue again the jobs that no worker took or
    whose worker died. Bounded; safe to run twice. Returns (expired, requeued)."""
    now = now or timezone.now()
    expired = 0
    due = ExportJob.objects.filter(status=Status.DONE, expires_at__lte=now).order_by("expires_at")
    for job in due[:SWEEP_BATCH]:
        # The file first, then the row: a sweep that dies in between leaves a row still done
        # whose file is gone, and the next one deletes nothing and marks it (a missing file is
        # no error), where the other order would leave a file no row points to.
        if job.file:
            job.file.storage.delete(job.file.name)
        expired += ExportJob.objects.filter(pk=job.pk, status=Status.DONE).update(
            status=Status.EXPIRED, file=""
        )
    stuck = ExportJob.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - _STALE_QUEUED)
        | Q(status=Status.RUNNING, started_at__lt=now - _STALE_RUNNING)
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    requeued = 0
    for pk in stuck:
        _enqueue(pk)
        requeued += 1
    return expired, requeued


# The filters an export keeps (codes and dates: status, colour, category id…, never personal
# data), and for the closed list its batch period.
# department: the list behind a department's bar on the board (reports.exports.appeals_filtered).
FILTER_PARAMS = (
    "status",
    "colour",
    "category",
    "region",
    "department",
    "filed_after",
    "filed_before",
)
BATCH_PARAMS = ("closed_after", "closed_before")


def export_filters(params) -> dict[str, list[str]]:
    """The allow-listed filters of a QueryDict, as a job stores them."""
    return {k: params.getlist(k) for k in (*FILTER_PARAMS, *BATCH_PARAMS) if k in params}


def export_job_for(user, pk: int) -> ExportJob | None:
    """The export job, for the user who asked for it or the office; None for anyone else (the
    page and the API answer 404 either way)."""
    job = ExportJob.objects.filter(pk=pk).first()
    if job is None:
        return None
    if job.requested_by_id != user.pk and not has_role(user, Role.OFFICE):
        return None
    return job


def export_jobs_of(user, *, limit: int = 10) -> list[ExportJob]:
    """The user's latest export jobs, newest first (the exports page)."""
    return list(ExportJob.objects.filter(requested_by=user).order_by("-created_at")[:limit])
