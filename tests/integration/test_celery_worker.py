"""A real Celery worker with its embedded beat, on Redis and PostgreSQL: an overdue appeal turns
red and escalates with nobody calling a task by hand. The worker's "now" is the real now, so
the appeal is set up in the past instead.

The faults a worker must survive (the broker down while filing, a worker killed mid-task) are
in tests/security/test_faults.py; the worker helpers in tests/workers.py.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from appeals.models import Appeal, Notification, TimelineEvent
from sla.models import Clock, Colour, Escalation, Heartbeat
from tests.workers import celery_worker, redis_database

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

HEAD_EMAIL = "head_a@qihu.test"
OFFICE_EMAIL = "office@yingshang.example.gov.cn"


@pytest.fixture
def redis_broker():
    yield from redis_database()


def test_an_overdue_appeal_turns_red_and_escalates_under_a_real_worker_and_beat(
    tmp_path, redis_broker, cast, head_a, office, file_appeal, walk_to
):
    head_a.email = HEAD_EMAIL
    head_a.save(update_fields=["email"])
    office.email = OFFICE_EMAIL
    office.save(update_fields=["email"])
    real_start = timezone.now()
    # Filed and routed a month ago and never signed: its sign and reply deadlines have passed,
    # whatever holidays lie between.
    with time_machine.travel(real_start - timedelta(days=30), tick=False):
        appeal = walk_to(file_appeal().appeal, Appeal.Status.ASSIGNED)
    clocks = Clock.objects.filter(appeal=appeal)
    escalations = Escalation.objects.filter(appeal=appeal)
    notifications = Notification.objects.filter(appeal=appeal, event__startswith="escalation:")
    # The lead's sign and reply clocks, the promise to the enterprise, the met triage clock.
    assert clocks.count() == 4
    clocks = clocks.filter(obligation__in=Clock.DEPARTMENT_OBLIGATIONS)
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
    # One timeline line per escalation sent; each step once per clock (unique constraint),
    # the lower steps due at the same time recorded as skipped.
    sent = escalations.filter(skipped=False)
    assert TimelineEvent.objects.filter(appeal=appeal, code="escalated").count() == sent.count()
    # Every escalation sent told someone in-app (delivered by being written)…
    for escalation in sent:
        assert notifications.filter(
            dedupe_key__startswith=f"escalation:{escalation.pk}:",
            channel=Notification.Channel.INAPP,
        ).exists()
    # …and, a month overdue, every step is due at once: only the highest (leadership: the
    # leaders and the office) is sent, so the office gets one e-mail per clock and the head,
    # whose yellow and red steps were skipped, none; each sent once by the worker's
    # appeals.notifications_send (the escalation fan-out sends its e-mails in batches).
    emails = notifications.filter(channel=Notification.Channel.EMAIL)
    assert set(emails.values_list("address", flat=True)) == {OFFICE_EMAIL}
    assert emails.count() == clocks.count()
    assert all(e.attempts == 1 and e.sent_at >= real_start for e in emails), worker.tail()
    assert log.count(f"To: {OFFICE_EMAIL}") == emails.count(), worker.tail()
    assert "Task appeals.notifications_send" in log, worker.tail()

    beat = Heartbeat.objects.filter(name="sla.sweep").first()
    assert beat is not None and beat.beat_at >= real_start, worker.tail()
