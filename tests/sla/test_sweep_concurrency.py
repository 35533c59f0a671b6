"""Two sweeps at once over a thousand overdue clocks: every step fires once per clock.

PostgreSQL only: SQLite ignores select_for_update and serialises writers anyway, so two
threads on it would prove nothing."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import Count

from appeals import services
from appeals.models import Notification, TimelineEvent
from departments.models import Membership
from sla.models import Clock, Escalation, EscalationStep, Heartbeat
from sla.services import clocks_sweep
from tests import workflow
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
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

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two sweeps racing for row locks (select_for_update … skip_locked) can only be "
        "tested on PostgreSQL; run with DATABASE_URL=postgres://…",
    ),
    # Real transactions, so each thread sees the others' commits; the serialized rollback
    # restores the policies, the ladder and the role groups of the data migrations afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


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
    assert Clock.objects.filter(state=Clock.State.RUNNING).count() == CLOCKS


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

    expected = CLOCKS * len(steps)
    # Each sweep counts only what it fired itself: no step was counted twice.
    assert sum(fired) + fired_later == expected
    assert Escalation.objects.count() == expected
    per_clock = Escalation.objects.values("clock", "step").annotate(n=Count("pk"))
    assert {row["n"] for row in per_clock} == {1}
    assert len(per_clock) == expected
    assert TimelineEvent.objects.filter(code="escalated").count() == expected
    notices = Notification.objects.filter(event__startswith="escalation:")
    assert notices.count() == CLOCKS * sum(TOLD_PER_CLOCK.values())
    assert notices.values("dedupe_key").distinct().count() == notices.count()
    for code, told in TOLD_PER_CLOCK.items():
        assert notices.filter(event=f"escalation:{code}").count() == CLOCKS * told
    # Every step has fired for every clock: nothing is left to check.
    assert not Clock.objects.filter(next_check_at__isnull=False).exists()
    assert Clock.objects.filter(state=Clock.State.BREACHED).count() == CLOCKS
    assert Heartbeat.objects.get(name="sla.sweep").beat_at == SWEPT
