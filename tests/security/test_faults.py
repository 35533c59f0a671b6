"""Nothing lost when things fail: the faults the platform must survive, in one place.

1. A hundred filings at once: a hundred rows, a hundred numbers, every receipt valid.
2. The same Idempotency-Key twice, one after the other and at the same moment: filed once.
3. The broker down while filing: the receipt is given, the SMS sent once when it returns.
4. A worker killed (SIGKILL) in the middle of a task: the task runs again, its effect once.
5. Two sweeps at once: each escalation once.
6. PostgreSQL dropping every connection under load (what a restart or a failover looks like to
   the application): no false receipt, errors as 503, and the site recovers by itself.

PostgreSQL only (but the 503 itself): SQLite ignores select_for_update and serialises writers
anyway, so threads on it would prove nothing, and a worker process cannot share its in-memory
test database. The worker tests (3, 4) also need Redis; tests/workers.py starts the worker.
"""

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.db.backends.postgresql import base as postgresql_base
from django.db.models import Count
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from appeals import services
from appeals.apis.public import AppealFileApi
from appeals.codes import query_code_hash
from appeals.events import notification_body
from appeals.models import Appeal, IdempotencyKey, Notification, TimelineEvent
from appeals.selectors import appeal_find_by_code
from appeals.services import notify
from appeals.services.notify import notification_deliver
from appeals.validators import mask_phone
from appeals.views import public as public_views
from config.celery import app
from core.sealing import lookup_hash
from departments.models import Membership
from departments.roles import Role
from sla.calendar import _reset_cache
from sla.models import Clock, Escalation, EscalationStep, Heartbeat
from sla.services import clocks_sweep
from tests import workflow
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory
from tests.workers import (
    GateSmsBackend,
    celery_worker,
    closed_port,
    forget_broker_connections,
    redis_database,
)

# Every test but the last: real transactions, so each thread and the worker see the others'
# commits; the serialized rollback restores the policies, the ladder and the role groups of
# the data migrations.
on_postgresql = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks, concurrent connections and a worker process on the test database "
        "are only exercised on PostgreSQL; run with DATABASE_URL=postgres://…",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def postgresql_only(test):
    for mark in on_postgresql:
        test = mark(test)
    return test


SHANGHAI = ZoneInfo("Asia/Shanghai")
FILE_URL = "/api/v1/appeals/"
FILING = {
    "title": "用电增容报装迟迟未办理",
    "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
    "enterprise_name": "宣城示范科技有限公司",
    "contact_name": "张三",
    "contact_phone": "13805630001",
}


@pytest.fixture
def redis_broker() -> Iterator[str]:
    yield from redis_database()


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    # The calendar snapshot outlives a test; its database rows roll back.
    _reset_cache()
    yield
    _reset_cache()


def in_own_connection(func):
    """Run `func` in a worker thread with its own connection, closed at the end."""

    def run(*args):
        try:
            return func(*args)
        finally:
            connection.close()

    return run


def assert_receipts_match_rows(receipts: list[dict]) -> None:
    """Each receipt names one committed appeal, and its query code opens that appeal and no
    other (the code verifies against exactly that row's stored hash)."""
    numbers = [r["number"] for r in receipts]
    assert len(set(numbers)) == len(numbers), "two callers were given the same number"
    rows = dict(Appeal.objects.filter(number__in=numbers).values_list("number", "query_code_hash"))
    assert set(rows) == set(numbers), "a receipt names an appeal that was never committed"
    for receipt in receipts:
        code_hash = query_code_hash(receipt["query_code"])
        assert rows[receipt["number"]] == code_hash, receipt["number"]
        assert Appeal.objects.filter(query_code_hash=code_hash).count() == 1
        assert appeal_find_by_code(receipt["number"], receipt["query_code"]) is not None


# --- 1. A hundred filings at once -----------------------------------------------------------


@postgresql_only
def test_a_hundred_concurrent_filings_get_a_hundred_distinct_numbers_and_valid_receipts():
    @in_own_connection
    def file_one(i: int) -> dict:
        filed = workflow.file_appeal(actor=None, title=f"并发登记测试 {i}")
        return {"number": filed.appeal.number, "query_code": filed.query_code}

    with ThreadPoolExecutor(max_workers=20) as pool:
        receipts = list(pool.map(file_one, range(100)))

    assert Appeal.objects.count() == 100
    assert_receipts_match_rows(receipts)
    assert set(Appeal.objects.values_list("number", flat=True)) == {r["number"] for r in receipts}
    # No gaps either: no filing failed, so the sequence gave out exactly 1…100.
    assert sorted(int(r["number"].rsplit("-", 1)[1]) for r in receipts) == list(range(1, 101))


# --- 2. The same Idempotency-Key twice ------------------------------------------------------


@pytest.fixture
def unthrottled(monkeypatch):
    """These tests file more often than the public filing rate allows one address."""
    monkeypatch.setattr(AppealFileApi, "throttle_classes", [])


@postgresql_only
def test_the_same_idempotency_key_twice_files_once_and_returns_the_same_receipt(unthrottled):
    client = APIClient()
    first = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-0001")
    retry = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-0001")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert Appeal.objects.count() == 1
    assert_receipts_match_rows([first.json()])


@postgresql_only
def test_the_same_idempotency_key_from_two_threads_at_once_files_once_with_one_receipt(
    unthrottled, enterprise_user
):
    # A few rounds, to give the race several chances to show; anonymous and signed in, since
    # the key belongs to its caller.
    for n in range(5):
        start = threading.Barrier(2, timeout=30)
        user = enterprise_user if n % 2 else None

        @in_own_connection
        def post(_i: int, start=start, user=user, key=f"erp-race-{n}"):
            client = APIClient()
            if user is not None:
                client.force_authenticate(user=user)
            start.wait()
            response = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY=key)
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=2) as pool:
            (status_a, body_a), (status_b, body_b) = pool.map(post, range(2))

        # One filed (201), the other waited on the first one's key and replayed it (200).
        assert sorted([status_a, status_b]) == [200, 201], (body_a, body_b)
        assert body_a == body_b
        assert Appeal.objects.count() == n + 1
        assert IdempotencyKey.objects.filter(key_hash=lookup_hash(f"erp-race-{n}")).count() == 1
        assert_receipts_match_rows([body_a])


# --- 3. The broker down while filing --------------------------------------------------------


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This process publishes for real (not in the conftest's eager mode) to `broker_url`. The
    project's own publish settings are kept: the tests measure them."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker_url, task_always_eager=False)
    forget_broker_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        forget_broker_connections()


def _beat_schedule_with_redrive_due(path: Path) -> None:
    """Write beat's schedule file as if beat had been running and the re-drive (every two
    minutes, config/celery.py) last ran over two minutes ago: the worker's beat sends it at
    once instead of two minutes after it starts."""
    from celery.beat import PersistentScheduler

    scheduler = PersistentScheduler(app=app, schedule_filename=str(path))
    entry = scheduler.schedule["notifications-redrive"]
    entry.last_run_at = entry.default_now() - entry.schedule.run_every - timedelta(seconds=5)
    scheduler.close()  # syncs to disk


@postgresql_only
def test_a_filing_survives_a_broker_outage_and_its_sms_is_sent_once_by_the_redrive(
    tmp_path, redis_broker, enterprise_user, caplog
):
    phone = "13805630007"
    # The broker refuses connections. Filed three minutes ago: the re-drive leaves rows younger
    # than two minutes alone.
    with (
        publishing_to(f"redis://127.0.0.1:{closed_port()}/0"),
        time_machine.travel(timezone.now() - timedelta(minutes=3), tick=False),
    ):
        started = time.perf_counter()
        filed = workflow.file_appeal(actor=enterprise_user, contact_phone=phone)
        elapsed = time.perf_counter() - started

    assert filed.appeal.number and filed.query_code
    assert_receipts_match_rows([{"number": filed.appeal.number, "query_code": filed.query_code}])
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


@postgresql_only
def test_filings_in_quick_succession_are_each_texted_once_through_one_drain(
    tmp_path, redis_broker, enterprise_user, monkeypatch
):
    # The process's clock stands still: every filing after the first comes "just after" a
    # publish (appeals.services.notify._publish), however slow the machine.
    monkeypatch.setattr(notify.time, "time", lambda: 1_000_000.0)
    phones = [f"138056301{n:02d}" for n in range(4)]
    sms = Notification.objects.filter(channel=Notification.Channel.SMS)
    with (
        publishing_to(redis_broker),
        celery_worker(
            tmp_path, redis_broker, beat=False, SMS_BACKEND="appeals.sms.ConsoleBackend"
        ) as worker,
    ):
        for phone in phones:
            workflow.file_appeal(actor=enterprise_user, contact_phone=phone)
        worker.wait_for(
            lambda: sms.count() == len(phones) and not sms.filter(sent_at__isnull=True).exists(),
            "every filing's SMS sent",
        )
    log = worker.log()

    # The first filing's own message, then one drain for the other three (nothing else
    # published them), each SMS sent once.
    assert log.count("Task appeals.notification_send[") == 2, worker.tail()  # received, succeeded
    assert re.search(r"Task appeals\.notifications_drain\[\S+\] succeeded", log), worker.tail()
    for phone in phones:
        assert log.count(f"SMS to {mask_phone(phone)}") == 1, worker.tail()
    assert set(sms.values_list("attempts", flat=True)) == {1}


# --- 4. A worker killed in the middle of a task ---------------------------------------------

# Seconds Redis keeps a delivered, unacknowledged task from the other workers (production keeps
# the default hour; config/settings.py reads CELERY_VISIBILITY_TIMEOUT).
VISIBILITY_TIMEOUT = 3


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@dataclass
class SmsInFlight:
    """An SMS whose appeals.notification_send waits in Redis, and the gate of its gateway."""

    notification: Notification
    gate: Path
    worker_env: dict[str, str]

    def attempts(self) -> list[str]:
        """The process id of each worker process that got as far as the gateway."""
        return _lines(self.gate / "attempts")

    def is_sent(self) -> bool:
        return Notification.objects.filter(pk=self.notification.pk, sent_at__isnull=False).exists()

    def open_gate(self) -> None:
        (self.gate / "open").touch()

    def assert_sent_once_after_two_runs(self, settings, monkeypatch) -> None:
        attempts = self.attempts()
        assert len(attempts) == 2 and attempts[0] != attempts[1], "the task ran in two processes"
        sms = self.notification
        assert _lines(self.gate / "sent") == [
            json.dumps([sms.address, notification_body(sms)], ensure_ascii=False)
        ]
        sms.refresh_from_db()
        assert sms.attempts == 1  # the killed attempt rolled back with its transaction
        # A third delivery (a duplicate message, the re-drive) finds it sent and sends nothing.
        settings.SMS_BACKEND = self.worker_env["SMS_BACKEND"]
        monkeypatch.setenv("SMS_GATE_DIR", str(self.gate))
        assert notification_deliver(notification_id=sms.pk) is False
        assert len(_lines(self.gate / "sent")) == 1


@pytest.fixture
def sms_in_flight(tmp_path, redis_broker, enterprise_user) -> SmsInFlight:
    gate = tmp_path / "sms-gate"
    gate.mkdir()
    with publishing_to(redis_broker):
        filed = workflow.file_appeal(actor=enterprise_user, contact_phone="13805630009")
    return SmsInFlight(
        notification=Notification.objects.get(
            appeal=filed.appeal, channel=Notification.Channel.SMS
        ),
        gate=gate,
        worker_env={
            "SMS_BACKEND": f"{GateSmsBackend.__module__}.GateSmsBackend",
            "SMS_GATE_DIR": str(gate),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        },
    )


@postgresql_only
def test_a_task_whose_worker_is_killed_mid_send_runs_again_on_the_next_worker_and_sends_once(
    tmp_path, redis_broker, sms_in_flight, settings, monkeypatch
):
    sms = sms_in_flight
    # The first worker takes appeals.notification_send and is killed while the gateway holds
    # the message: it neither acknowledges the task nor commits anything.
    with celery_worker(
        tmp_path, redis_broker, beat=False, name="killed", **sms.worker_env
    ) as first:
        first.wait_for(lambda: len(sms.attempts()) == 1, "the SMS at the gateway")
        first.kill()
    assert not sms.is_sent() and _lines(sms.gate / "sent") == []

    # Once the visibility timeout has passed, the next worker to start takes the task back
    # from Redis (acks_late) and runs it again; this time the gateway lets the message through.
    sms.open_gate()
    time.sleep(VISIBILITY_TIMEOUT + 0.5)
    with celery_worker(
        tmp_path, redis_broker, beat=False, name="second", **sms.worker_env
    ) as second:
        second.wait_for(sms.is_sent, "the SMS sent by the second worker")
    assert re.search(r"Task appeals\.notification_send\[\S+\] succeeded", second.log())
    sms.assert_sent_once_after_two_runs(settings, monkeypatch)


@postgresql_only
def test_a_task_whose_pool_process_is_killed_mid_send_runs_again_and_sends_once(
    tmp_path, redis_broker, sms_in_flight, settings, monkeypatch
):
    sms = sms_in_flight
    # The prefork pool of production, one process. The kernel's OOM killer, say, kills the
    # process that runs the task; the worker gives the task back at once
    # (task_reject_on_worker_lost) and a new pool process runs it again.
    with celery_worker(
        tmp_path, redis_broker, beat=False, pool="prefork", **sms.worker_env
    ) as worker:
        worker.wait_for(lambda: len(sms.attempts()) == 1, "the SMS at the gateway")
        os.kill(int(sms.attempts()[0]), signal.SIGKILL)
        time.sleep(0.5)
        assert not sms.is_sent() and _lines(sms.gate / "sent") == []
        sms.open_gate()
        worker.wait_for(sms.is_sent, "the SMS sent by a new pool process")
    assert "WorkerLostError" in worker.log(), worker.tail()
    sms.assert_sent_once_after_two_runs(settings, monkeypatch)


# --- 5. Two sweeps at once ------------------------------------------------------------------

ROUTED = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
# Every due date (the latest: replies due 03-23) and every ladder step is long past.
SWEPT = datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)

APPEALS = 100
CO_HANDLERS = 4
# Per appeal: a sign clock per department (5), an opinion clock per co-handler (4), one reply.
CLOCKS = APPEALS * ((1 + CO_HANDLERS) + CO_HANDLERS + 1)
# Each department has one handler and one head, so per clock: yellow → handler + head,
# red → office + commissioner + head, leadership → leader + office.
TOLD_PER_CLOCK = {"yellow": 2, "red": 3, "leadership": 2}


@pytest.fixture
def leader(db):
    """A city leader (市领导): told when an appeal stays red (领导督办)."""
    return UserFactory(username="leader", first_name="市领导", roles=[Role.LEADER])


@pytest.fixture
def overdue(office, commissioner, leader, dept_a, handler_a, head_a, category):
    """A hundred appeals, each routed to dept_a and four co-handlers on 2026-03-09 and left
    untouched: a thousand open clocks, every one overdue by 2026-04-20."""
    departments = [dept_a]
    for n in range(CO_HANDLERS):
        department = DepartmentFactory(code=f"co-{n}", name=f"市配合第{n}局")
        for role in (Membership.Role.HANDLER, Membership.Role.HEAD):
            MembershipFactory(
                user=UserFactory(username=f"co-{n}-{role}"), department=department, role=role
            )
        departments.append(department)
    with time_machine.travel(ROUTED, tick=False):
        for _n in range(APPEALS):
            appeal = workflow.file_appeal(actor=None).appeal
            services.appeal_route(
                actor=commissioner,
                appeal_id=appeal.pk,
                lead=departments[0],
                co_handlers=departments[1:],
                category=category,
            )
    # Besides the departments' clocks, each appeal's promise to the enterprise runs (it never
    # escalates); the triage clocks were met by the routing.
    assert Clock.objects.filter(state=Clock.State.RUNNING).count() == CLOCKS + APPEALS


@postgresql_only
def test_two_overlapping_sweeps_escalate_every_clock_and_step_exactly_once(overdue):
    steps = list(EscalationStep.objects.filter(is_active=True).values_list("code", flat=True))
    assert sorted(steps) == sorted(TOLD_PER_CLOCK)
    start = threading.Barrier(2, timeout=30)

    def sweep(_n: int) -> int:
        try:
            start.wait()
            return clocks_sweep(now=SWEPT)
        finally:
            connection.close()

    with time_machine.travel(SWEPT, tick=False):
        with ThreadPoolExecutor(max_workers=2) as pool:
            fired = list(pool.map(sweep, range(2)))  # re-raises any error from either thread
        # A clock both sweeps skipped (each found its appeal locked by the other at that
        # moment) is still due: the next minute's sweep takes it.
        fired_later = clocks_sweep(now=SWEPT)

    # Every step is due at once for every clock: the highest (leadership) is sent, the two below
    # it are recorded as skipped. Each sweep counts only what it fired itself: no step was
    # counted twice, and every step is on record exactly once per clock.
    assert sum(fired) + fired_later == CLOCKS
    assert Escalation.objects.count() == CLOCKS * len(steps)
    assert Escalation.objects.filter(skipped=False).count() == CLOCKS
    per_clock = Escalation.objects.values("clock", "step").annotate(n=Count("pk"))
    assert {row["n"] for row in per_clock} == {1}
    assert len(per_clock) == CLOCKS * len(steps)
    assert TimelineEvent.objects.filter(code="escalated").count() == CLOCKS
    notices = Notification.objects.filter(event__startswith="escalation:")
    assert notices.count() == CLOCKS * TOLD_PER_CLOCK["leadership"]
    assert notices.values("dedupe_key").distinct().count() == notices.count()
    assert notices.filter(event="escalation:leadership").count() == notices.count()
    # Every step is on record for every clock: nothing is left to check.
    assert not Clock.objects.filter(next_check_at__isnull=False).exists()
    assert Clock.objects.filter(state=Clock.State.BREACHED).count() == CLOCKS + APPEALS
    assert Heartbeat.objects.get(name="sla.sweep").beat_at == SWEPT


# --- 6. PostgreSQL drops every connection under load ----------------------------------------

# What a database restart or failover looks like to the application, without restarting the
# server others share: every other connection to the test database is terminated at once.
TERMINATE_THE_OTHERS = """
    SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
CALLERS = 4
KILL_ROUNDS = 6


def _terminate_the_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(TERMINATE_THE_OTHERS)
        return cursor.fetchone()[0]


class Site:
    """The site as a WSGI server runs it, one request after another in the calling thread. Each
    request opens with request_started and closes with request_finished: that is where Django
    checks its connection and drops a broken one (the test client switches both off)."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.factory = RequestFactory()

    def post(self, path: str, payload: dict) -> tuple[int, dict]:
        request = self.factory.post(path, data=payload, content_type="application/json")
        statuses: list[int] = []

        def start_response(status, headers, exc_info=None):
            statuses.append(int(status.split()[0]))

        response = self.handler(request.environ, start_response)
        try:
            body = b"".join(response)
        finally:
            response.close()  # request_finished
        try:
            return statuses[0], json.loads(body)
        except ValueError:
            return statuses[0], {"text": body.decode(errors="replace")[:300]}


@postgresql_only
def test_a_kept_connection_is_checked_by_a_round_trip_only_once_the_server_has_spoken(
    monkeypatch,
):
    # The health check runs before every request's first query (CONN_HEALTH_CHECKS): on an idle
    # connection the server has said nothing on, it sends nothing (core.postgresql); a
    # connection the server ended (a restart, pg_terminate_backend) is found unusable.
    kept = connections.create_connection(DEFAULT_DB_ALIAS)
    round_trips = []
    monkeypatch.setattr(
        postgresql_base.DatabaseWrapper, "is_usable", lambda self: round_trips.append(1) or True
    )
    try:
        kept.ensure_connection()
        assert kept.is_usable()
        assert round_trips == [], "the check on an idle connection sent a statement"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [kept.connection.get_backend_pid()])
        monkeypatch.undo()  # Django's own round trip, for a connection with something to read
        deadline = time.monotonic() + 10
        while kept.is_usable() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not kept.is_usable()
    finally:
        kept.close()


@postgresql_only
@pytest.mark.parametrize("conn_max_age", [0, 60], ids=["new-connection-per-request", "kept"])
def test_connections_dropped_under_load_give_no_false_receipt_and_the_site_recovers(
    unthrottled, monkeypatch, conn_max_age
):
    # Production keeps connections for a minute (.env.example); then an idle connection the
    # server dropped is found by the health check at the next request, not by a failed filing.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", conn_max_age)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    site = Site()
    stop = threading.Event()
    all_idle = threading.Barrier(CALLERS + 1, timeout=30)
    resume = threading.Barrier(CALLERS + 1, timeout=30)

    @in_own_connection
    def caller(n: int) -> tuple[list, tuple]:
        during = []
        while not stop.is_set():
            during.append(site.post(FILE_URL, {**FILING, "title": f"断线测试 {n}-{len(during)}"}))
        # Every caller idle, its connection (if kept) dropped by the server meanwhile: the next
        # filing must succeed at once, with no restart.
        all_idle.wait()
        resume.wait()
        return during, site.post(FILE_URL, {**FILING, "title": f"断线之后 {n}"})

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        futures = [pool.submit(caller, n) for n in range(CALLERS)]
        terminated = 0
        try:
            time.sleep(0.5)
            for _round in range(KILL_ROUNDS):
                terminated += _terminate_the_other_connections()
                time.sleep(0.4)
        finally:
            stop.set()
        all_idle.wait()
        terminated_idle = _terminate_the_other_connections()
        resume.wait()
        results = [future.result() for future in futures]

    during = [outcome for outcomes, _after in results for outcome in outcomes]
    after = [after for _outcomes, after in results]
    receipts = [body for status, body in during if status == 201]
    failures = [(status, body) for status, body in during if status != 201]
    assert terminated > 0, "no connection was terminated: the test tested nothing"
    assert receipts, "nothing was filed while the connections were dropped"

    # No false receipt: every receipt names a committed appeal its code opens…
    assert_receipts_match_rows(receipts)
    # …and a failed request got an error, never a number or a code.
    for status, body in failures:
        assert status == 503, (status, body)
        assert "number" not in body and "query_code" not in body, body
        assert body["code"] == "database_unavailable", body
    # An appeal without a receipt can only come from a failed request (its commit went through
    # as the connection died): the caller was told to retry, nothing was promised.
    assert len(receipts) <= Appeal.objects.count() - CALLERS <= len(receipts) + len(failures)

    # The site recovered without a restart: each caller's next filing succeeded, even those
    # whose kept connection the server had dropped while it was idle.
    if conn_max_age:
        assert terminated_idle == CALLERS
    assert [status for status, _body in after] == [201] * CALLERS, after
    assert_receipts_match_rows([body for _status, body in after])


@pytest.mark.django_db
def test_a_request_whose_database_connection_broke_answers_503_not_a_500_trace(client, monkeypatch):
    def connection_lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "appeal_file", connection_lost)
    api = APIClient().post(FILE_URL, FILING, format="json")
    assert api.status_code == 503
    assert api["Retry-After"] == "5"
    assert api.json() == {
        "code": "database_unavailable",
        "message": "系统暂时无法访问数据库，请稍后重试。",
    }

    monkeypatch.setattr(public_views, "AppealFileForm", connection_lost)
    page = client.get("/file/")
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert "系统暂时无法访问数据库，请稍后重试。" in page.content.decode()


def _session_store_gone(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


RECEIPT_NUMBER = re.compile(r'id="receipt-number">([^<]+)<')


def _file_on_the_web(client) -> None:
    response = client.post(
        "/file/", {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"}
    )
    assert response.status_code == 302 and response["Location"] == "/file/receipt/"


@pytest.mark.django_db
def test_a_session_that_cannot_be_read_answers_the_503_page_on_every_page(monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import Client

    client = Client(raise_request_exception=False)
    _file_on_the_web(client)  # the filer now has a session
    monkeypatch.setattr(SessionStore, "_get_session_from_db", _session_store_gone)
    for path in ("/", "/track/", "/file/", "/file/receipt/"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert page["Retry-After"] == "5"
        assert "系统暂时无法访问数据库，请稍后重试。" in page.content.decode()


@pytest.mark.django_db
def test_a_receipt_whose_session_cannot_be_saved_answers_503_and_shows_the_code_on_reload(
    monkeypatch,
):
    from django.contrib.sessions.models import Session
    from django.test import Client

    client = Client(raise_request_exception=False)
    _file_on_the_web(client)
    with monkeypatch.context() as database_down:
        # The receipt is read, then taking it out of the session cannot be saved.
        database_down.setattr(Session, "save", _session_store_gone)
        page = client.get("/file/receipt/")
        assert page.status_code == 503  # Django answered "Bad Request (400)" in English
        text = page.content.decode()
        assert "系统暂时无法访问数据库" in text and "稍后刷新本页即可再次看到" in text
        assert not RECEIPT_NUMBER.search(text)
    # What the 503 page promised: the receipt is still there, once.
    again = client.get("/file/receipt/")
    assert again.status_code == 200 and RECEIPT_NUMBER.search(again.content.decode())
    assert client.get("/file/receipt/").status_code == 302


@pytest.mark.django_db
def test_a_new_session_that_cannot_be_saved_answers_the_503_page(monkeypatch):
    from django.contrib.sessions.models import Session
    from django.test import Client

    monkeypatch.setattr(Session, "save", _session_store_gone)
    response = Client(raise_request_exception=False).post(
        "/file/", {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"}
    )
    assert response.status_code == 503  # was a 500 trace page
    assert "系统暂时无法访问数据库，请稍后重试。" in response.content.decode()
