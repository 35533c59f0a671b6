"""notify_users_many: the escalation sweep's fan-out. Every person told once per key on each
channel, the in-app message delivered by being written, the e-mails queued once after commit,
a second run writing and queueing nothing, and many rows in a few statements (issue #16)."""

import re
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.events import notification_body, notification_subject, say
from appeals.models import Notification
from appeals.services import notify
from tests.appeals.services.helpers import NOW

pytestmark = pytest.mark.django_db

INAPP, EMAIL = Notification.Channel.INAPP, Notification.Channel.EMAIL


def _notice(appeal, users, key: str) -> notify.Notice:
    return notify.Notice(
        users=users,
        appeal=appeal,
        event="escalation:dept_red",
        key=key,
        subject=say("escalated_subject", step="红色预警", n=appeal.number, t=appeal.title),
        body="请尽快办理。",
    )


@pytest.fixture
def appeal(file_appeal):
    return file_appeal().appeal


@pytest.fixture
def with_address(handler_a):
    handler_a.email = "handler@example.org"
    handler_a.save()
    return handler_a


def test_each_person_gets_an_inapp_message_and_an_email_only_with_an_address(
    appeal, with_address, handler_b, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(notify, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        offered = notify.notify_users_many([_notice(appeal, [with_address, handler_b], "k:1")])

    rows = Notification.objects.filter(dedupe_key__startswith="k:1:")
    assert offered == 3
    assert sorted(rows.values_list("recipient__username", "channel", "address")) == sorted(
        [
            (with_address.username, INAPP, ""),
            (with_address.username, EMAIL, "handler@example.org"),
            (handler_b.username, INAPP, ""),
        ]
    )
    for row in rows:
        assert row.appeal == appeal
        assert row.event == "escalation:dept_red"
        assert row.created_at == NOW
        assert notification_subject(row) == f"【红色预警】{appeal.number} {appeal.title}"
        assert notification_body(row) == "请尽快办理。"
    # In-app is delivered by being written; the e-mail waits for its task, queued once.
    assert rows.get(channel=INAPP, recipient=handler_b).sent_at == NOW
    email = rows.get(channel=EMAIL)
    assert email.sent_at is None
    enqueue.assert_called_once_with("appeals.notification_send", email.pk)


def test_a_second_run_writes_nothing_and_queues_nothing(
    appeal, with_address, handler_b, django_capture_on_commit_callbacks
):
    notices = [_notice(appeal, [with_address, handler_b], "k:2")]
    notify.notify_users_many(notices)
    before = list(Notification.objects.order_by("pk").values_list("pk", "dedupe_key"))

    with (
        mock.patch.object(notify, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify.notify_users_many(notices)

    assert list(Notification.objects.order_by("pk").values_list("pk", "dedupe_key")) == before
    enqueue.assert_not_called()


def test_many_rows_are_written_in_a_few_statements_and_their_emails_queued_in_batches(
    appeal, with_address, django_capture_on_commit_callbacks
):
    notices = [_notice(appeal, [with_address], f"k:3:{n}") for n in range(150)]

    with (
        mock.patch.object(notify, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as ctx,
    ):
        notify.notify_users_many(notices)

    inserts = [
        q for q in ctx.captured_queries if re.match(r'INSERT INTO "appeals_notification"', q["sql"])
    ]
    # 300 rows: one statement on PostgreSQL, five on SQLite (66 rows of 15 parameters each).
    assert len(inserts) <= 5
    assert Notification.objects.filter(dedupe_key__startswith="k:3:").count() == 300
    queued = [pk for call in enqueue.call_args_list for pk in call.args[1]]
    assert {call.args[0] for call in enqueue.call_args_list} == {"appeals.notifications_send"}
    assert sorted(queued) == sorted(
        Notification.objects.filter(dedupe_key__startswith="k:3:", channel=EMAIL).values_list(
            "pk", flat=True
        )
    )
