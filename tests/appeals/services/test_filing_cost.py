"""What one filing costs the database (issue #16 item 4): the number in one statement, the
clocks and their history in one insert each (policy and steps held by the process), the outbox in one
insert without looking first, the rows nobody reads back sent together (one round trip on
PostgreSQL), and one publish to the broker when the filing commits. Each test goes red if its
bulk path is put back to one statement per row, or the rows written together are split."""

import re
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal, Notification, TimelineEvent
from appeals.services import filing
from core.snapshots import snapshots_forget
from departments.models import AuditRecord
from sla.models import Clock
from tests import workflow
from tests.appeals.services.helpers import NOW

pytestmark = pytest.mark.django_db

# The round trips of a filing by an enterprise account whose enterprise has a commissioner with
# an e-mail address (in-app + e-mail to the commissioner, SMS to the contact): the enterprise,
# the filer's enterprises, the commissioner and their roles (4), the appeal's id (taken
# before the number, so that nothing is built while the number is held: on PostgreSQL one the
# process holds, taken from the sequence with the next ID_BLOCK - 1 in the process's first
# filing; on SQLite read from sqlite_sequence), whether the phone unsubscribed, the number and
# the appeal (on PostgreSQL one statement, on SQLite 3), then everything else written together
# (core.writes): on PostgreSQL one round trip, on SQLite (no round trip to save) one statement
# each of the appeal's history, the timeline event, the audit record, the clocks, their history
# and the outbox (6). No savepoint: under the test's own transaction, as under the form's, the
# writes are the caller's transaction. The policies and escalation steps are held by the
# process (sla.selectors.DEADLINES): no read.
WRITTEN_TOGETHER = 6
FILING_ROUND_TRIPS = {"postgresql": 6, "sqlite": 8 + WRITTEN_TOGETHER}


@pytest.fixture
def filed_with_commissioner(enterprise, enterprise_user, commissioner, category):
    commissioner.email = "commissioner@example.org"
    commissioner.save()
    enterprise.commissioner = commissioner
    enterprise.save()
    # The process takes a block of ids in the next filing (PostgreSQL), not in the one counted.
    filing._held.owner = None
    workflow.file_appeal(actor=enterprise_user, category=category)  # the year's row exists
    # As in a process whose policies did not just change: the fixtures' categories were saved
    # in this test's transaction, which never commits (core.snapshots).
    snapshots_forget()
    workflow.file_appeal(actor=enterprise_user, category=category)  # the snapshot is held

    def _file():
        return workflow.file_appeal(
            actor=enterprise_user, category=category, credit_code=enterprise.credit_code
        )

    return _file


def _statements(ctx, pattern: str) -> int:
    """The statements matching `pattern`, counting each of those a round trip ran together."""
    return sum(
        bool(re.match(pattern, statement))
        for q in ctx.captured_queries
        for statement in q["sql"].split(";\n")
    )


def test_a_filing_takes_a_fixed_number_of_round_trips(filed_with_commissioner):
    with CaptureQueriesContext(connection) as ctx:
        filed = filed_with_commissioner()

    sql = "\n".join(q["sql"] for q in ctx.captured_queries)
    assert len(ctx.captured_queries) == FILING_ROUND_TRIPS[connection.vendor], sql
    # What it wrote is all there: two clocks with a "started" history row each, the timeline
    # event, its audit record and three notifications.
    appeal = filed.appeal
    assert appeal.clocks.count() == 2
    assert Clock.history.filter(appeal_id=appeal.pk, history_change_reason="started").count() == 2
    assert TimelineEvent.objects.filter(appeal=appeal).count() == 1
    assert AuditRecord.objects.filter(event="appeal.filed", object_id=str(appeal.pk)).exists()
    assert Notification.objects.filter(appeal=appeal).count() == 3


@pytest.mark.parametrize(
    ("what", "pattern", "times"),
    [
        (
            "the number",
            r'(WITH issued AS \()?(INSERT INTO|SELECT .* FROM|UPDATE) "appeals_numbersequence"',
            1,
        ),
        # Held by the process (filing.ID_BLOCK): taken from the sequence once a block.
        ("the appeal's id", r"SELECT nextval", 0),
        ("the clocks", r'INSERT INTO "sla_clock"', 1),
        ("the clocks' history", r'INSERT INTO "sla_historicalclock"', 1),
        ("the outbox", r'(INSERT INTO|SELECT .* FROM) "appeals_notification"', 1),
        # Inserted green, which its new clocks are: no second write of the appeal's row.
        ("the appeal's colour", r'(SELECT .* FROM "sla_clock"|UPDATE "appeals_appeal")', 0),
        ("the appeal's history", r'INSERT INTO "appeals_historicalappeal"', 1),
        ("the audit record", r'INSERT INTO "departments_auditrecord"', 1),
        ("the timeline event", r'INSERT INTO "appeals_timelineevent"', 1),
        # Held by the process (sla.selectors.DEADLINES): never read by a filing.
        ("the policy", r'SELECT .* FROM "sla_policy"', 0),
        ("the escalation steps", r'SELECT .* FROM "sla_escalationstep"', 0),
        ("the categories", r'SELECT .* FROM "departments_category"', 0),
    ],
)
def test_each_part_of_a_filing_is_one_statement_or_none(
    filed_with_commissioner, what, pattern, times
):
    with CaptureQueriesContext(connection) as ctx:
        filed_with_commissioner()

    assert _statements(ctx, pattern) == times, what


def test_a_filing_publishes_its_notifications_once_when_it_commits(
    filed_with_commissioner, django_capture_on_commit_callbacks
):
    with (
        mock.patch("appeals.services.notify.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        filed = filed_with_commissioner()

    unsent = set(
        Notification.objects.filter(appeal=filed.appeal, sent_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert len(unsent) == 2  # the commissioner's e-mail and the SMS; in-app is delivered
    assert enqueue.call_count == 1
    (name, ids), _ = enqueue.call_args
    assert name == "appeals.notifications_send"
    assert set(ids) == unsent


def test_a_lone_sms_is_published_as_one_send(enterprise_user, django_capture_on_commit_callbacks):
    with (
        mock.patch("appeals.services.notify.enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        filed = workflow.file_appeal(actor=enterprise_user)

    sms = Notification.objects.get(appeal=filed.appeal, channel=Notification.Channel.SMS)
    enqueue.assert_called_once_with("appeals.notification_send", sms.pk)


def test_the_number_is_taken_after_every_read(filed_with_commissioner):
    """The year's number row stays locked until the filing commits, and the next filing waits
    for it: nothing is read while it is held (the opt-out check comes first), only the rows
    are written."""
    with CaptureQueriesContext(connection) as ctx:
        filed_with_commissioner()

    sql = [q["sql"] for q in ctx.captured_queries]
    number = next(i for i, s in enumerate(sql) if '"appeals_numbersequence"' in s)
    # On PostgreSQL the opt-out is read in the number's own statement.
    assert any('FROM "appeals_smsoptout"' in s for s in sql[: number + 1])
    after = [s for s in sql[number + 1 :] if not s.startswith(("RELEASE", "SAVEPOINT"))]
    assert all(s.startswith(("INSERT", "UPDATE")) for s in after), after


def test_an_urgent_filing_whose_triage_is_due_today_is_stored_yellow(commissioner):
    # Inserted green, like every appeal; its clocks say yellow (an urgent appeal's triage is due
    # the day it is filed), and that is what is stored.
    with time_machine.travel(NOW, tick=False):  # a Monday morning, a working day
        filed = workflow.file_appeal(actor=commissioner, priority=Appeal.Priority.URGENT)

    filed.appeal.refresh_from_db()
    assert filed.appeal.colour == "yellow"


def test_a_new_appeal_is_stored_green(enterprise_user):
    filed = workflow.file_appeal(actor=enterprise_user)

    filed.appeal.refresh_from_db()
    assert filed.appeal.colour == "green"
