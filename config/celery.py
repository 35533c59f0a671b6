"""The Celery app: task routes and the beat schedule live here, in code."""

import os

from celery import Celery
from celery.schedules import crontab

# Importing config.logs also connects its request-id and per-task log signals.
from config.logs import LOG_FORMAT

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# How often the deadline sweep runs (seconds); the integration test shortens it.
SWEEP_SECONDS = float(os.environ.get("SLA_SWEEP_SECONDS", "60"))

app = Celery("qihu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # When the broker connection drops, cancel the running late-acked tasks: the broker will
    # redeliver them, and every task is safe to run twice (Celery 6's default; silences its
    # warning on every Redis restart).
    worker_cancel_long_running_tasks_on_connection_loss=True,
    worker_prefetch_multiplier=1,
    task_time_limit=300,
    task_soft_time_limit=240,
    task_ignore_result=True,
    timezone="Asia/Shanghai",
    # The request id on every worker line too (config/logs.py, which also logs one line per
    # task and carries a request's id into the tasks it sends).
    worker_log_format=LOG_FORMAT,
    worker_task_log_format=LOG_FORMAT,
    # Sweeps and notifications on their own queues, so a province can give each its workers.
    task_routes={
        "sla.*": {"queue": "sweeps"},
        # Exports (a minute or more each) on their own queue: they never hold up a sweep.
        # Listed before "reports.*": the first pattern that matches wins.
        "reports.export_run": {"queue": "exports"},
        # The snapshots stay beside the sweeps, off the queue the web app's own jobs use.
        "reports.*": {"queue": "sweeps"},
        "appeals.notification*": {"queue": "notifications"},
    },
    task_default_queue="default",
    beat_schedule={
        "sla-sweep": {"task": "sla.sweep", "schedule": SWEEP_SECONDS},
        "notifications-redrive": {"task": "appeals.notifications_redrive", "schedule": 120.0},
        # Escalations whose fan-out task was lost (sla.services.escalations_notify_redrive).
        "escalations-notify-redrive": {
            "task": "sla.escalations_notify_redrive",
            "schedule": 120.0,
        },
        "idempotency-purge": {"task": "appeals.idempotency_purge", "schedule": 3600.0},
        "board-publish": {"task": "reports.board_publish", "schedule": 300.0},
        # Export files past their expiry are deleted; jobs no worker took are queued again.
        "exports-sweep": {"task": "reports.exports_sweep", "schedule": 600.0},
        # Just after midnight (Asia/Shanghai): freeze yesterday's board.
        "board-freeze": {"task": "reports.board_freeze", "schedule": crontab(hour=0, minute=5)},
        # Audit records past their retention (at least six months) go at 03:30.
        "audit-purge": {"task": "departments.audit_purge", "schedule": crontab(hour=3, minute=30)},
    },
)
app.autodiscover_tasks()
