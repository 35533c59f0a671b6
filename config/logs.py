"""Logs that can be followed: every request and every task has an id, every log line written
while it runs carries that id, and each one ends with a single summary line.

The id travels with the work: `RequestIdMiddleware` (config.middleware) sets it for a request,
a task published during that request carries it in a message header, and the worker sets it
again while the task runs. Summary lines hold ids, names, states and durations only: never a
username, a phone number, a query code, a query string or a session id.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar, Token

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver

logger = logging.getLogger("qihu.tasks")

# Django's handlers (config/settings.py) and the Celery worker's (config/celery.py) alike.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy or a client: short, and nothing a log line could be forged with.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_accept(incoming: str | None) -> str:
    """The caller's id if it is safe to log, otherwise a new one."""
    if incoming and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return request_id_new()


def current_request_id() -> str:
    return _request_id.get()


def request_id_set(value: str) -> None:
    _request_id.set(value)


@receiver(request_finished)
def _request_id_clear(**kwargs) -> None:
    _request_id.set("")


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    record.request_id = _request_id.get() or "-"
    return record


# Every record of every logger gets `request_id` ("-" outside a request or task), so any log
# format may name it: Django's handlers (config/settings.py LOGGING) and the Celery worker's own
# (config/celery.py) alike. A record factory rather than a handler filter, because the worker
# replaces the handlers Django configured with its own.
_base_record_factory = logging.getLogRecordFactory()
logging.setLogRecordFactory(_record_with_request_id)


# --- Celery: the id in the message header, one line per task --------------------------------

_TASK_HEADER = "request_id"
_started: dict[str, tuple[float, Token[str]]] = {}


@signals.before_task_publish.connect
def _send_request_id(headers=None, **kwargs) -> None:
    rid = _request_id.get()
    if rid and headers is not None:
        headers.setdefault(_TASK_HEADER, rid)


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs) -> None:
    # From the publishing request's header; in eager mode (tests) the request is still the
    # current one; a task beat sent has its own id.
    rid = getattr(task.request, _TASK_HEADER, None) or _request_id.get() or task_id
    _started[task_id] = (time.monotonic(), _request_id.set(request_id_accept(rid)))


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started, token = _started.pop(task_id, (None, None))
    duration_ms = round((time.monotonic() - started) * 1000) if started is not None else -1
    logger.info("task %s id=%s state=%s duration_ms=%d", task.name, task_id, state, duration_ms)
    if token is not None:
        _request_id.reset(token)
