"""Races the row locks must win. PostgreSQL only: SQLite ignores select_for_update, and its
single writer would serialise these threads anyway, proving nothing.

A hundred filings at once, and the other faults, are in tests/security/test_faults.py."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from appeals import services
from appeals.models import Appeal
from appeals.services import triage
from core.errors import ServiceError
from tests import workflow

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locking (select_for_update) is only exercised on PostgreSQL; "
        "run with DATABASE_URL=postgres://…",
    ),
    # Real transactions, so each thread sees the others' commits; the serialized rollback
    # restores the role groups and tags of the data migrations for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def in_own_connection(func):
    """Run `func` in a worker thread with its own connection, closed at the end."""

    def run(*args):
        try:
            return func(*args)
        finally:
            connection.close()

    return run


def test_two_simultaneous_signatures_of_one_assignment_let_exactly_one_through(
    appeal_at, handler_a, head_a
):
    User = get_user_model()
    # A few rounds, to give the race several chances to show.
    for _round in range(5):
        appeal = appeal_at(Appeal.Status.ASSIGNED)
        assignment_id = workflow.lead_assignment(appeal).pk
        start = threading.Barrier(2, timeout=30)

        @in_own_connection
        def sign(user_id: int, assignment_id=assignment_id, start=start) -> str:
            actor = User.objects.get(pk=user_id)  # a fresh user object per thread
            start.wait()
            try:
                services.assignment_sign(actor=actor, assignment_id=assignment_id)
            except ServiceError as error:
                return error.code
            return "signed"

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(sign, [handler_a.pk, head_a.pk]))

        assert outcomes == ["invalid_transition", "signed"]
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.IN_PROGRESS
        assert appeal.events.filter(code="signed").count() == 1
        assert appeal.history.filter(history_change_reason="signed").count() == 1


def test_two_racing_merges_never_leave_an_appeal_merged_into_a_merged_one(
    file_appeal, commissioner, monkeypatch
):
    # A into B and, at the same moment, B into C. Each merge checks its target before the
    # other commits; unless the target is locked and checked again, A ends up inside a
    # merged appeal. The pause after each lock holds both merges inside that window (with
    # correct locking one merge waits on the other's row lock, and the pause times out).
    c = file_appeal().appeal
    b = file_appeal().appeal
    a = file_appeal().appeal
    both_locked = threading.Barrier(2, timeout=3)
    real_lock_appeal = triage.lock_appeal

    def lock_appeal_then_pause(appeal_id):
        appeal = real_lock_appeal(appeal_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_locked.wait()
        return appeal

    monkeypatch.setattr(triage, "lock_appeal", lock_appeal_then_pause)

    @in_own_connection
    def merge(job) -> str:
        appeal_id, into_number = job
        try:
            services.appeal_merge(
                actor=get_user_model().objects.get(pk=commissioner.pk),
                appeal_id=appeal_id,
                into_number=into_number,
                explanation="与此前诉求反映同一事项。",
            )
        except ServiceError as error:
            return error.code
        return "merged"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(merge, [(a.pk, b.number), (b.pk, c.number)]))

    assert "merged" in outcomes
    for appeal in Appeal.objects.filter(status=Appeal.Status.MERGED):
        assert appeal.merged_into.status != Appeal.Status.MERGED, (
            f"{appeal.number} is merged into {appeal.merged_into.number}, itself merged",
            outcomes,
        )
