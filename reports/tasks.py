"""Celery tasks of the reports app: the battle map's snapshots. Each is safe to run twice."""

from celery import shared_task

from reports import boards


@shared_task(name="reports.board_publish")
def board_publish() -> int:
    return boards.board_publish().pk


@shared_task(name="reports.board_freeze")
def board_freeze() -> int:
    return boards.board_freeze().pk
