"""notifications_mark_read: the in-app inbox's receipt."""

import pytest

from appeals.models import Notification
from appeals.services import notify
from tests.appeals.services.helpers import NOW

pytestmark = pytest.mark.django_db


def _message(recipient, n: int) -> Notification:
    return Notification.objects.create(
        recipient=recipient,
        channel=Notification.Channel.INAPP,
        event="routed",
        dedupe_key=f"test:{recipient.pk}:{n}",
        subject="新交办",
        body="请签收。",
    )


def test_a_user_marks_only_their_own_messages_read(handler_a, handler_b):
    own = _message(handler_a, 1)
    someone_elses = _message(handler_b, 2)

    notify.notifications_mark_read(actor=handler_a, ids=[own.pk, someone_elses.pk])

    own.refresh_from_db()
    someone_elses.refresh_from_db()
    assert own.read_at == NOW
    assert someone_elses.read_at is None
