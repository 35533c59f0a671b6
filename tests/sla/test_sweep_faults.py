"""The sweep by batch when things go wrong: two sweeps at once, a sweep killed in the middle of a
batch, a clock whose check fails, a fan-out task lost. Nothing is lost, nothing happens twice.

Twenty appeals, each routed on Monday 2026-03-09 to dept_a and left alone: by 2026-04-20 every
step of the ladder is long past for each appeal's sign and reply clocks, so each fires its
highest step (leadership: the leader and the office are told) and records the two below it as
skipped.

The concurrency and kill tests run on PostgreSQL only (real transactions, one connection per
thread); SQLite ignores row locks and serialises writers anyway.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from appeals import services
from appeals.models import Appeal, Notification, TimelineEvent
from departments.models import AuditRecord
from sla import services as sla
from sla.models import Clock, Escalation, EscalationStep
from sla.selectors import DEADLINES
from tests import workflow

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROUTED = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
SWEPT = datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)
APPEALS = 20
CLOCKS = APPEALS * 2  # a sign clock and a reply clock each; the promise never escalates
STEPS = 3  # yellow, red, leadership
TOLD = {("leader", Notification.Channel.INAPP), ("office", Notification.Channel.INAPP)}

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and concurrent connections need PostgreSQL; run with DATABASE_URL=…",
)
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Killed(BaseException):
    """The process dying where it is: not an Exception, so no handler of ours catches it."""


@pytest.fixture
def overdue(office, commissioner, leader, dept_a, category):
    with time_machine.travel(ROUTED, tick=False):
        for _n in range(APPEALS):
            appeal = workflow.file_appeal(actor=None).appeal
            services.appeal_route(
                actor=commissioner,
                appeal_id=appeal.pk,
                lead=dept_a,
                co_handlers=[],
                category=category,
            )
    escalating = Clock.objects.filter(
        state=Clock.State.RUNNING, obligation__in=Clock.ESCALATED_OBLIGATIONS
    )
    assert escalating.count() == CLOCKS
    return list(escalating.values_list("pk", flat=True))


@pytest.fixture
def swept():
    with time_machine.travel(SWEPT, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _no_sweep_lock_left():
    cache.delete(sla.SWEEP_LOCK_KEY)
    yield
    cache.delete(sla.SWEEP_LOCK_KEY)


def assert_every_step_once_and_its_notices_once() -> None:
    per_clock = Escalation.objects.values("clock", "step").annotate(n=Count("pk"))
    assert {row["n"] for row in per_clock} == {1}
    assert len(per_clock) == CLOCKS * STEPS
    assert Escalation.objects.filter(skipped=False).count() == CLOCKS
    assert not Escalation.objects.filter(skipped=False, notified_at__isnull=True).exists()
    assert TimelineEvent.objects.filter(code="escalated").count() == CLOCKS
    assert AuditRecord.objects.filter(event="appeal.escalated").count() == CLOCKS
    notices = Notification.objects.filter(event__startswith="escalation:")
    assert notices.count() == CLOCKS * len(TOLD)
    assert set(notices.values_list("recipient__username", "channel")) == TOLD
    assert notices.values("dedupe_key").distinct().count() == notices.count()
    # Every checked clock has a history row saying so, and is never checked again.
    assert not Clock.objects.filter(
        obligation__in=Clock.ESCALATED_OBLIGATIONS, next_check_at__isnull=False
    ).exists()
    assert set(Appeal.objects.values_list("colour", flat=True)) == {"red"}


# --- Two sweeps at once ---------------------------------------------------------------------


@on_postgresql
@transactional
def test_two_sweeps_at_once_without_the_lock_fire_each_step_once(overdue, swept, settings):
    # The lock would make the second sweep return at once; without it, SKIP LOCKED and the
    # unique constraint alone must keep the two from doing anything twice.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    start = threading.Barrier(3, timeout=30)

    def sweep(_n: int) -> int:
        try:
            start.wait()
            return sla.clocks_sweep(now=SWEPT, batch=7)
        finally:
            connection.close()

    def check_each(_n: int) -> int:
        try:
            start.wait()
            return sum(sla.clock_check(clock_id=pk, now=SWEPT) for pk in reversed(overdue))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=3) as pool:
        fired = [pool.submit(sweep, 0), pool.submit(sweep, 1), pool.submit(check_each, 2)]
        counts = [f.result() for f in fired]  # re-raises any error from a thread
    # A clock every one of them skipped (locked by another at that moment) is still due.
    later = sla.clocks_sweep(now=SWEPT)

    assert sum(counts) + later == CLOCKS
    assert_every_step_once_and_its_notices_once()


@pytest.mark.django_db
def test_a_second_sweep_while_one_runs_does_nothing(overdue, swept):
    cache.add(sla.SWEEP_LOCK_KEY, "the other sweep", timeout=sla.SWEEP_LOCK_SECONDS)

    assert sla.clocks_sweep() == 0

    assert not Escalation.objects.exists()
    cache.delete(sla.SWEEP_LOCK_KEY)  # the other sweep ends (or its lock expires)
    assert sla.clocks_sweep() == CLOCKS
    assert_every_step_once_and_its_notices_once()


# --- A sweep killed mid-batch ---------------------------------------------------------------


@on_postgresql
@transactional
def test_a_sweep_killed_after_writing_escalations_leaves_nothing_and_the_next_does_it_once(
    overdue, swept
):
    # Killed after the escalations' insert, before their timeline events: the transaction
    # never commits, so none of the batch is on record.
    with (
        patch.object(sla, "events_record_many", side_effect=Killed),
        pytest.raises(Killed),
    ):
        sla.clocks_sweep(batch=15)

    assert not Escalation.objects.exists()
    assert not TimelineEvent.objects.filter(code="escalated").exists()
    assert Clock.objects.filter(pk__in=overdue, next_check_at__lte=SWEPT).count() == CLOCKS

    assert sla.clocks_sweep(batch=15) == CLOCKS
    assert sla.clocks_sweep(batch=15) == 0
    assert_every_step_once_and_its_notices_once()


@on_postgresql
@transactional
def test_a_sweep_killed_between_two_batches_keeps_the_first_and_the_next_does_the_rest(
    overdue, swept
):
    real = sla.events_record_many
    calls = []

    def dies_in_the_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real(**kwargs)

    with (
        patch.object(sla, "events_record_many", side_effect=dies_in_the_second_batch),
        pytest.raises(Killed),
    ):
        sla.clocks_sweep(batch=15)

    assert Escalation.objects.filter(skipped=False).count() == 15  # the first batch, committed
    assert sla.clocks_sweep(batch=15) == CLOCKS - 15
    assert_every_step_once_and_its_notices_once()


@on_postgresql
@transactional
def test_escalations_whose_fan_out_was_lost_are_told_once_by_the_redrive(overdue, swept):
    # The batch committed, then the process died before queueing the notifications.
    with patch.object(sla, "enqueue", side_effect=Killed), pytest.raises(Killed):
        sla.clocks_sweep()

    assert Escalation.objects.filter(skipped=False).count() == CLOCKS
    assert not Notification.objects.filter(event__startswith="escalation:").exists()
    assert sla.clocks_sweep() == 0  # nothing fires twice

    assert sla.escalations_notify_redrive() == 0  # a fresh row is left to its own task
    swept.shift(timedelta(minutes=3))
    assert sla.escalations_notify_redrive() == CLOCKS
    assert sla.escalations_notify_redrive() == 0
    ids = list(Escalation.objects.values_list("pk", flat=True))
    assert sla.escalations_notify(escalation_ids=ids) == 0  # the task run again: nothing
    assert_every_step_once_and_its_notices_once()


# --- One bad clock --------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_clock_whose_check_fails_does_not_hold_back_the_others(overdue, swept, caplog):
    bad = overdue[len(overdue) // 2]
    fires_on = EscalationStep.fires_on

    def broken_for_one_clock(step, clock):
        if clock.pk == bad:
            raise ValueError("a clock the sweep cannot read")
        return fires_on(step, clock)

    with patch.object(EscalationStep, "fires_on", broken_for_one_clock):
        assert sla.clocks_sweep() == CLOCKS - 1
        assert sla.clocks_sweep() == 0  # put back for later, not retried every minute

    assert not Escalation.objects.filter(clock_id=bad).exists()
    assert Escalation.objects.filter(skipped=False).count() == CLOCKS - 1
    assert Clock.objects.get(pk=bad).next_check_at == SWEPT + sla.FAILED_CHECK_RETRY
    assert [r.args for r in caplog.records if r.levelname == "ERROR"] == [(bad,)]

    swept.shift(sla.FAILED_CHECK_RETRY)  # repaired meanwhile: the next look fires it
    assert sla.clocks_sweep() == 1
    assert Escalation.objects.filter(clock_id=bad, skipped=False).count() == 1


# --- The time budget ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sweep_past_its_time_budget_stops_and_the_next_one_goes_on(
    overdue, swept, monkeypatch, caplog
):
    monkeypatch.setattr(sla, "SWEEP_BUDGET_SECONDS", 0)  # spent by the end of the first batch

    first = sla.clocks_sweep(batch=15)
    # How far it got, in the log (the batches also hold the promises, which never escalate).
    assert "15 clocks checked in 1 batches" in caplog.text
    assert "stopped at the 0 s budget" in caplog.text
    assert 0 < first < CLOCKS

    later = [sla.clocks_sweep(batch=15) for _sweep in range(5)]
    assert first + sum(later) == CLOCKS
    assert later[-1] == 0
    assert_every_step_once_and_its_notices_once()


@pytest.mark.django_db
def test_a_clock_still_due_after_its_check_is_checked_once_per_sweep(
    overdue, swept, monkeypatch, caplog
):
    stuck = overdue[0]
    refresh = sla._refresh

    def leaves_one_clock_due(clock, *args, **kwargs):
        refresh(clock, *args, **kwargs)
        if clock.pk == stuck:
            clock.next_check_at = SWEPT - timedelta(minutes=1)

    monkeypatch.setattr(sla, "_refresh", leaves_one_clock_due)
    checked = Clock.history.filter(id=stuck, history_change_reason="checked")

    sla.clocks_sweep(batch=15)

    assert checked.count() == 1  # not once per batch until the sweep's batches run out
    assert "stopped at nothing left due" in caplog.text
    assert Clock.objects.get(pk=stuck).next_check_at <= SWEPT  # the next sweep looks again
    sla.clocks_sweep(batch=15)
    assert checked.count() == 2


@pytest.mark.django_db
def test_the_fan_out_reads_what_it_needs_in_a_fixed_number_of_statements(
    overdue, swept, commissioner, monkeypatch
):
    # Every target, and commissioners with an e-mail address: every field the fan-out reads.
    EscalationStep.objects.filter(code="leadership").update(
        targets="handlers,heads,office,commissioner,leaders"
    )
    DEADLINES.changed()  # update() sends no signal
    commissioner.email = "commissioner@example.org"
    commissioner.save()
    Appeal.objects.update(commissioner=commissioner)
    monkeypatch.setattr(sla, "_fan_out", lambda ids: None)  # the sweep only; fanned out below
    sla.clocks_sweep()
    fired = list(Escalation.objects.filter(skipped=False).values_list("pk", flat=True))
    assert len(fired) == CLOCKS

    with CaptureQueriesContext(connection) as ctx:
        assert sla.escalations_notify(escalation_ids=fired) == CLOCKS

    # The escalations with what they join, the departments' staff (2), the office, the leaders,
    # the marks, and the transaction: none of them once per escalation (the notifications'
    # inserts are counted in tests/appeals/services/test_notify_many.py).
    others = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("INSERT")]
    assert len(others) <= 8, "\n".join(sql[:100] for sql in others)
    emails = Notification.objects.filter(channel=Notification.Channel.EMAIL)
    assert set(emails.values_list("address", flat=True)) == {"commissioner@example.org"}
    assert emails.count() == CLOCKS
