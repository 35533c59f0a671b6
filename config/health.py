"""`/healthz`: can this installation do its work? For a load balancer, a container's health
check and the people on call. Public, and it says nothing about appeals or people: only which
part is failing.

- database: a query answers;
- broker: the Celery broker accepts a connection (within BROKER_TIMEOUT_SECONDS); the embedded
  file broker counts when its folder exists;
- beat: the deadline sweep ran recently. Beat sends `sla.sweep` every SLA_SWEEP_SECONDS and a
  worker on the sweeps queue writes the `sla.sweep` heartbeat row, so a stale row means beat or
  the sweeps workers are down.

200 with {"status": "ok", …} when every check passes, 503 with {"status": "fail", …} otherwise.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app
from sla.selectors import heartbeat_at

logger = logging.getLogger(__name__)

OK = "ok"
FAIL = "fail"
STALE = "stale"
MISSING = "missing"
BROKER_TIMEOUT_SECONDS = 2


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def broker_check() -> str:
    url = app.conf.broker_url or ""
    if url.startswith("filesystem"):
        folder = app.conf.broker_transport_options.get("data_folder_in", "")
        return OK if folder and Path(folder).is_dir() else FAIL
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        # One attempt, no back-off: a health check must answer quickly, never hang on a broker.
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
        )
    return OK


def beat_check() -> str:
    last = heartbeat_at("sla.sweep")
    if last is None:
        return MISSING
    age = (timezone.now() - last).total_seconds()
    return OK if age <= settings.HEALTHZ_BEAT_MAX_AGE_SECONDS else STALE


CHECKS = {"database": database_check, "broker": broker_check, "beat": beat_check}


def _run(name: str, check) -> str:
    try:
        return check()
    except Exception as exc:
        # The type only: a driver's message may name hosts and users.
        logger.warning("healthz: %s failing (%s)", name, type(exc).__name__)
        return FAIL


@never_cache
@require_safe
def healthz(request):
    checks = {name: _run(name, check) for name, check in CHECKS.items()}
    healthy = all(result == OK for result in checks.values())
    return JsonResponse(
        {"status": OK if healthy else FAIL, "checks": checks}, status=200 if healthy else 503
    )
