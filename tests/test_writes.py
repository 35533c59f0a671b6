"""core.writes: the rows of one change written together, in one round trip on PostgreSQL (issue
#16, filing). What a user would notice if it went wrong: a filing half written, a history row
missing or naming the wrong person, a clock's "started" row written twice."""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.models import HistoricalRecords

from appeals.events import say
from appeals.models import Appeal, EventCode, Notification
from appeals.services._common import record
from appeals.services.notify import notify_event
from core.writes import Writes, history_statement, insert_now
from departments.models import AuditRecord
from sla.models import Clock
from tests import workflow

pytestmark = pytest.mark.django_db


def _audit(event: str) -> AuditRecord:
    return AuditRecord(event=event, outcome=AuditRecord.Outcome.SUCCESS, at=timezone.now())


def test_statements_run_in_order_and_the_returning_one_last_in_one_round_trip():
    writes = Writes()
    returned = []
    writes.insert([_audit("test.one"), _audit("test.two")])
    writes.insert([_audit("test.three")], returning=("id", "event"), then=returned.extend)
    writes.insert([_audit("test.four")])

    with CaptureQueriesContext(connection) as ctx:
        rows = writes.run()

    events = list(AuditRecord.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["test.one", "test.two", "test.four", "test.three"]
    assert [event for _pk, event in rows] == ["test.three"]
    assert returned == rows
    assert rows[0][0] == AuditRecord.objects.get(event="test.three").pk
    expected = 1 if connection.vendor == "postgresql" else 3
    assert len(ctx.captured_queries) == expected
    assert writes.run() == []  # what ran is forgotten: nothing twice


def test_only_one_statement_may_return_rows():
    writes = Writes()
    writes.insert([_audit("a")], returning=("id",))
    with pytest.raises(ValueError, match="only one"):
        writes.insert([_audit("b")], returning=("id",))


def test_a_failing_statement_leaves_nothing_of_the_change(enterprise_user):
    """A filing's rows are written together: if the last one fails (here the outbox's unique
    key, taken beforehand), the appeal, its history, event, audit record and clocks written
    before it in the same round trip are gone with the transaction."""
    before = (Appeal.objects.count(), Clock.objects.count(), AuditRecord.objects.count())
    taken = Notification.objects.create(
        dedupe_key="placeholder", channel=Notification.Channel.SMS, address="1", event="filed"
    )
    real_insert = Writes.insert

    def clashing(self, objs, **kwargs):
        for obj in objs:
            if isinstance(obj, Notification):
                obj.dedupe_key = taken.dedupe_key
        return real_insert(self, objs, **kwargs)

    with pytest.raises(IntegrityError), transaction.atomic():
        Writes.insert = clashing  # type: ignore[method-assign]
        try:
            workflow.file_appeal(actor=enterprise_user)
        finally:
            Writes.insert = real_insert  # type: ignore[method-assign]

    after = (Appeal.objects.count(), Clock.objects.count(), AuditRecord.objects.count())
    assert after == before
    assert Appeal.history.count() == 0


def test_insert_now_gives_the_row_its_id():
    record = _audit("test.now")
    insert_now(record)
    assert AuditRecord.objects.get(pk=record.pk).event == "test.now"


def test_history_rows_name_the_signed_in_user_by_default(enterprise_user, commissioner):
    filed = workflow.file_appeal(actor=enterprise_user)
    request = SimpleNamespace(user=commissioner)
    HistoricalRecords.context.request = request
    try:
        sql, params = history_statement(
            Appeal,
            where="id = %s",
            params=[filed.appeal.pk],
            reason="test",
            history_type="~",
            at=timezone.now(),
        )
    finally:
        del HistoricalRecords.context.request
    writes = Writes()
    writes.add((sql, params))
    writes.run()

    row = Appeal.history.get(history_change_reason="test")
    assert row.history_user == commissioner
    assert row.title == filed.appeal.title  # copied from what is stored


def test_each_clock_gets_one_started_row_however_many_steps_start_clocks(appeal_at, dept_b):
    """The clocks' "started" rows are copied from the appeal's clocks that have none: routing
    (two more clocks per department) must not write a second row for the filing's clocks."""
    appeal = appeal_at(Appeal.Status.IN_PROGRESS, co_handlers=[dept_b])

    clocks = list(Clock.objects.filter(appeal=appeal))
    assert len(clocks) >= 6  # triage, promise; sign and reply for the lead; sign, opinion
    for clock in clocks:
        started = Clock.history.filter(id=clock.pk, history_change_reason="started")
        assert started.count() == 1, clock.obligation
        assert started.get().history_type == "+"


def test_an_event_written_with_the_callers_rows_is_never_notified_under_a_shared_key(
    enterprise_user,
):
    """An event written with the caller's rows has no id yet: notifying on it without a key of
    its own would key every such event alike ("event:None") and drop all but the first."""
    appeal = workflow.file_appeal(actor=enterprise_user).appeal
    writes = Writes()
    event = record(appeal, EventCode.FOLLOWED_UP, actor=None, writes=writes)

    assert event.pk is None
    with pytest.raises(ValueError, match="pass a key"):
        notify_event(event, users=[], subject=say("closed_sms", n=1), body=say("closed_sms", n=1))


def test_values_are_stored_as_the_orm_stores_them_whatever_their_type():
    """insert_statement sends str, int and bool values as they are and leaves every other value
    to the ORM: a lazy translation, a choices member and a date are stored as a save stores
    them (psycopg2 cannot send a lazy string at all)."""
    from django.utils.translation import gettext_lazy

    record = AuditRecord(
        event=gettext_lazy("test.lazy"),
        outcome=AuditRecord.Outcome.SUCCESS,
        object_type="appeal",
        object_id=7,
        at=timezone.now(),
    )
    insert_now(record)
    stored = AuditRecord.objects.values("event", "outcome", "object_id").get(pk=record.pk)
    assert stored == {"event": "test.lazy", "outcome": "success", "object_id": "7"}
