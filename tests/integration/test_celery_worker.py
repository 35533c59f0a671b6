"""A real Celery worker with its embedded beat, on Redis and PostgreSQL: an overdue appeal turns
red and escalates with nobody calling a task by hand, and a notification whose dispatch was
lost while the broker was down is sent later by the re-drive sweep, once.

The worker is a separate process, so the test data must be committed (transactional tests) and
the worker must use the test database. Time travel stays in the test process: the worker's
"now" is the real now, so the appeals are set up in the past instead.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from appeals.models import Appeal, Notification, TimelineEvent
from appeals.validators import mask_phone
from config.celery import app
from sla.models import Clock, Colour, Escalation, Heartbeat
from tests import workflow

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the Celery worker is a second process on the test database: PostgreSQL only "
        "(run with DATABASE_URL=postgres://…)",
    ),
    # Committed data, so the worker process sees it; the serialized rollback restores the
    # data migrations (policies, the escalation ladder, role groups) for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PROJECT_DIR = Path(__file__).resolve().parents[2]
# A Redis database nothing else uses: flushed before and after each test.
REDIS_URL = "redis://127.0.0.1:6379/13"
POLL_SECONDS = 60
STOP_SECONDS = 20
HEAD_EMAIL = "head_a@qihu.test"


@pytest.fixture
def redis_broker() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis does not answer a PING at {REDIS_URL} ({type(exc).__name__})"
        if os.environ.get("REQUIRE_SERVICES") == "1":  # CI: a missing Redis is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def _worker_database_url() -> str:
    """The test database (test_…) this process uses, not the one DATABASE_URL names."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n--- worker log (tail) ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll the database (autocommit: each query sees the worker's commits) until
        `condition()` holds, for at most POLL_SECONDS; give up early if the worker died or
        a task failed."""
        deadline = time.monotonic() + POLL_SECONDS
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}): {what}" + self.tail())
            if "raised unexpected" in self.log():
                pytest.fail(f"a task failed in the worker: {what}" + self.tail())
            if time.monotonic() > deadline:
                pytest.fail(f"after {POLL_SECONDS}s: {what}" + self.tail())
            time.sleep(0.5)


@contextmanager
def celery_worker(tmp_path: Path, broker_url: str, **extra_env: str) -> Iterator[Worker]:
    """`celery -A config worker --beat` on the test database, logging to tmp_path/worker.log.
    Stopped with a warm shutdown (SIGTERM), killed if it does not stop in time: before the
    test's teardown empties the tables it may still hold locks on."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": _worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "SLA_SWEEP_SECONDS": "2",
        # The console backend writes each message to the worker's log.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "VAR_DIR": str(tmp_path / "var"),
        **extra_env,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--beat",
        "-Q",
        "default,sweeps,notifications",
        "--pool=solo",
        "--loglevel=INFO",
        "--schedule",
        str(tmp_path / "beat-schedule"),
    ]
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield Worker(process, log_path)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_an_overdue_appeal_turns_red_and_escalates_under_a_real_worker_and_beat(
    tmp_path, redis_broker, cast, head_a, office, file_appeal, walk_to
):
    head_a.email = HEAD_EMAIL
    head_a.save(update_fields=["email"])
    real_start = timezone.now()
    # Filed and routed a month ago and never signed: its sign and reply deadlines have passed,
    # whatever holidays lie between.
    with time_machine.travel(real_start - timedelta(days=30), tick=False):
        appeal = walk_to(file_appeal().appeal, Appeal.Status.ASSIGNED)
    clocks = Clock.objects.filter(appeal=appeal)
    escalations = Escalation.objects.filter(appeal=appeal)
    notifications = Notification.objects.filter(appeal=appeal, event__startswith="escalation:")
    assert clocks.count() == 2  # the lead's sign and reply clocks
    assert not escalations.exists()

    def escalated() -> bool:
        fired = set(escalations.values_list("step__code", flat=True))
        return (
            all(c.colour == Colour.RED and c.state == Clock.State.BREACHED for c in clocks.all())
            and {"yellow", "red"} <= fired
            and TimelineEvent.objects.filter(appeal=appeal, code="escalated").exists()
            and notifications.filter(channel=Notification.Channel.EMAIL).exists()
            and not notifications.filter(sent_at__isnull=True).exists()
        )

    with celery_worker(tmp_path, redis_broker) as worker:
        worker.wait_for(escalated, "the appeal's clocks red and escalated, every notification sent")
    log = worker.log()

    sign_clock = clocks.get(obligation=Clock.Obligation.SIGN)
    assert {"yellow", "red"} <= set(sign_clock.escalations.values_list("step__code", flat=True))
    # One timeline line per escalation; each step fires once per clock (unique constraint).
    assert (
        TimelineEvent.objects.filter(appeal=appeal, code="escalated").count() == escalations.count()
    )
    # Every escalation told someone in-app (delivered by being written)…
    for escalation in escalations:
        assert notifications.filter(
            dedupe_key__startswith=f"escalation:{escalation.pk}:",
            channel=Notification.Channel.INAPP,
        ).exists()
    # …and the head by e-mail on yellow and on red, for each clock, sent once each by the
    # worker's appeals.notification_send.
    emails = notifications.filter(channel=Notification.Channel.EMAIL)
    assert set(emails.values_list("address", flat=True)) == {HEAD_EMAIL}
    assert emails.count() == 2 * clocks.count()
    assert all(e.attempts == 1 and e.sent_at >= real_start for e in emails), worker.tail()
    assert log.count(f"To: {HEAD_EMAIL}") == emails.count(), worker.tail()
    assert "Task appeals.notification_send" in log, worker.tail()

    beat = Heartbeat.objects.filter(name="sla.sweep").first()
    assert beat is not None and beat.beat_at >= real_start, worker.tail()


def _closed_port() -> int:
    """A local port nobody listens on (the OS just handed it out and it was closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _forget_broker_connections() -> None:
    # What Celery does after a fork (Celery._after_fork), without sending its signal: the
    # next publish connects to whatever broker_url says then.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down() -> Iterator[None]:
    """This process publishes for real (not in the conftest's eager mode) to a broker that
    refuses connections. The project's own publish settings are kept: the test measures them."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(
        broker_url=f"redis://127.0.0.1:{_closed_port()}/0",
        task_always_eager=False,
    )
    _forget_broker_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        _forget_broker_connections()


def _beat_schedule_with_redrive_due(path: Path) -> None:
    """Write beat's schedule file as if beat had been running and the re-drive (every two
    minutes, config/celery.py) last ran over two minutes ago: the worker's beat sends it at
    once instead of two minutes after it starts."""
    from celery.beat import PersistentScheduler

    scheduler = PersistentScheduler(app=app, schedule_filename=str(path))
    entry = scheduler.schedule["notifications-redrive"]
    entry.last_run_at = entry.default_now() - entry.schedule.run_every - timedelta(seconds=5)
    scheduler.close()  # syncs to disk


def test_a_filing_survives_a_broker_outage_and_its_sms_is_sent_once_by_the_redrive(
    tmp_path, redis_broker, enterprise_user, broker_down, caplog
):
    phone = "13805630007"
    # Filed three minutes ago: the re-drive leaves rows younger than two minutes alone.
    with time_machine.travel(timezone.now() - timedelta(minutes=3), tick=False):
        started = time.perf_counter()
        filed = workflow.file_appeal(actor=enterprise_user, contact_phone=phone)
        elapsed = time.perf_counter() - started

    assert filed.appeal.number and filed.query_code
    assert elapsed < 5, f"filing took {elapsed:.1f}s with the broker down"
    sms = Notification.objects.get(appeal=filed.appeal, channel=Notification.Channel.SMS)
    assert sms.sent_at is None and sms.attempts == 0
    assert f"notification {sms.pk} not dispatched" in caplog.text

    _beat_schedule_with_redrive_due(tmp_path / "beat-schedule")
    with celery_worker(tmp_path, redis_broker, SMS_BACKEND="appeals.sms.ConsoleBackend") as worker:
        worker.wait_for(
            lambda: Notification.objects.filter(pk=sms.pk, sent_at__isnull=False).exists(),
            "the SMS whose dispatch was lost sent by the re-drive",
        )
    log = worker.log()

    sms.refresh_from_db()
    assert sms.attempts == 1, worker.tail()
    assert log.count(f"SMS to {mask_phone(phone)}") == 1, worker.tail()
    assert re.search(r"Task appeals\.notifications_redrive\[\S+\] succeeded", log), worker.tail()
    # Nothing else sent it: its own dispatch never reached a broker.
    assert "Task appeals.notification_send" not in log, worker.tail()
