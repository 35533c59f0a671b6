"""Filings that come fast share one message to the broker (issue #16): a process that has just
published queues one `appeals.notifications_drain` a moment later instead, and its commits
until then publish nothing; the drain sends every notification not yet tried, once."""

from unittest import mock

import pytest
from celery import current_app

from appeals.models import Notification
from appeals.services import notify

pytestmark = pytest.mark.django_db

SMS = Notification.Channel.SMS


@pytest.fixture
def broker(monkeypatch):
    """A broker that queues (not the tests' eager one), a clock that stands still unless moved,
    and a process that has published nothing yet. Yields the mocked `enqueue` and the clock."""
    monkeypatch.setattr(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(notify, "_published", notify._Published())
    clock = [1_000_000.0]
    monkeypatch.setattr(notify.time, "time", lambda: clock[0])
    with mock.patch.object(notify, "enqueue") as enqueue:
        yield enqueue, clock


def _file(file_appeal, django_capture_on_commit_callbacks, n: int):
    with django_capture_on_commit_callbacks(execute=True):
        return file_appeal(title=f"道路破损 {n}").appeal


def test_a_lone_filing_publishes_its_sms_at_once(
    broker, file_appeal, django_capture_on_commit_callbacks
):
    enqueue, _clock = broker

    appeal = _file(file_appeal, django_capture_on_commit_callbacks, 1)

    sms = Notification.objects.get(appeal=appeal, channel=SMS)
    enqueue.assert_called_once_with("appeals.notification_send", sms.pk)


def test_filings_in_quick_succession_share_one_drain(
    broker, file_appeal, django_capture_on_commit_callbacks
):
    enqueue, clock = broker

    first = _file(file_appeal, django_capture_on_commit_callbacks, 1)
    clock[0] += 0.01
    _file(file_appeal, django_capture_on_commit_callbacks, 2)  # just after a publish: a drain
    clock[0] += 0.01
    _file(file_appeal, django_capture_on_commit_callbacks, 3)  # the drain is on its way
    clock[0] += 0.2
    _file(file_appeal, django_capture_on_commit_callbacks, 4)

    sms = Notification.objects.get(appeal=first, channel=SMS)
    assert enqueue.call_args_list == [
        mock.call("appeals.notification_send", sms.pk),
        mock.call("appeals.notifications_drain", countdown=notify.DRAIN_DELAY),
    ]


def test_a_filing_close_to_the_drains_start_does_not_count_on_it(
    broker, file_appeal, django_capture_on_commit_callbacks
):
    enqueue, clock = broker
    _file(file_appeal, django_capture_on_commit_callbacks, 1)
    clock[0] += 0.01
    _file(file_appeal, django_capture_on_commit_callbacks, 2)  # queues the drain
    enqueue.reset_mock()

    # The drain's query may already have run (the worker's clock may be ahead of this one's):
    # the filing publishes (still within DRAIN_DELAY of the last message: another drain).
    clock[0] += notify.DRAIN_DELAY - notify.DRAIN_MARGIN / 2
    _file(file_appeal, django_capture_on_commit_callbacks, 3)
    # Long after the last message, a filing publishes its own at once.
    clock[0] += 10 * notify.DRAIN_DELAY
    late = _file(file_appeal, django_capture_on_commit_callbacks, 4)

    sms = Notification.objects.get(appeal=late, channel=SMS)
    assert enqueue.call_args_list == [
        mock.call("appeals.notifications_drain", countdown=notify.DRAIN_DELAY),
        mock.call("appeals.notification_send", sms.pk),
    ]


def test_the_drain_sends_every_untried_notification_once(
    file_appeal, sms_outbox, django_capture_on_commit_callbacks
):
    with mock.patch.object(notify, "enqueue"):  # nothing sent when filed
        appeals = [_file(file_appeal, django_capture_on_commit_callbacks, n) for n in range(3)]
    failed = Notification.objects.get(appeal=appeals[2], channel=SMS)
    failed.attempts = 1  # tried once and failed: the re-drive sweep's, after its wait
    failed.save()

    sent = notify.notifications_drain()
    again = notify.notifications_drain()

    assert (sent, again) == (2, 0)
    assert [phone for phone, _text in sms_outbox] == ["13805630001", "13805630001"]
    unsent = Notification.objects.filter(sent_at__isnull=True)
    assert list(unsent.values_list("pk", flat=True)) == [failed.pk]


def test_a_full_drain_queues_the_next(file_appeal, sms_outbox, django_capture_on_commit_callbacks):
    with mock.patch.object(notify, "enqueue"):
        for n in range(3):
            _file(file_appeal, django_capture_on_commit_callbacks, n)

    with mock.patch.object(notify, "enqueue") as enqueue:
        sent = notify.notifications_drain(batch=2)

    assert sent == 2
    enqueue.assert_called_once_with("appeals.notifications_drain")
    assert Notification.objects.filter(sent_at__isnull=True).count() == 1


def test_a_notification_that_cannot_be_sent_does_not_hold_up_the_rest(
    file_appeal, sms_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    with mock.patch.object(notify, "enqueue"):
        appeals = [_file(file_appeal, django_capture_on_commit_callbacks, n) for n in range(2)]
    broken = Notification.objects.get(appeal=appeals[0], channel=SMS)
    deliver = notify.notification_deliver

    def deliver_or_fail(*, notification_id):
        if notification_id == broken.pk:
            raise LookupError("a text code this version does not know")
        return deliver(notification_id=notification_id)

    monkeypatch.setattr(notify, "notification_deliver", deliver_or_fail)

    assert notify.notifications_drain() == 1
    assert Notification.objects.filter(sent_at__isnull=True).get().pk == broken.pk
