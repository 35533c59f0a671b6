"""Celery tasks of the departments app. Safe to run twice."""

from celery import shared_task

from departments.audit import audit_purge


@shared_task(name="departments.audit_purge")
def audit_purge_task() -> int:
    return audit_purge()
