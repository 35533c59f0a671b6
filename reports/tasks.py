"""Celery tasks of the reports app: the battle map's snapshots and the exports. Each is safe
to run twice."""

from celery import shared_task

from reports import boards, jobs


@shared_task(name="reports.board_publish")
def board_publish() -> int:
    return boards.board_publish().pk


@shared_task(name="reports.board_freeze")
def board_freeze() -> int:
    return boards.board_freeze().pk


@shared_task(
    name="reports.export_run",
    time_limit=jobs.EXPORT_TIME_LIMIT,
    soft_time_limit=jobs.EXPORT_TIME_LIMIT - 60,
)
def export_run(job_id: int) -> None:
    jobs.export_run(job_id=job_id)


@shared_task(name="reports.exports_sweep")
def exports_sweep() -> tuple[int, int]:
    return jobs.exports_sweep()
