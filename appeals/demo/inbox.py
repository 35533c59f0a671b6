"""The demo's inboxes as people would have left them: read as they worked, a few waiting.

The replay sends every notification the services send over two months, and nobody reads
them, so a first login showed 141 unread and the badge meant nothing. People read their
messages as they come; what is left unread on a given morning is the last day or two's few.
"""

import random
from datetime import timedelta

from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Least

from appeals.models import Notification

UNREAD_AT_MOST = 6  # a handful per person, never a wall
UNREAD_WITHIN = timedelta(days=3)  # older messages were read when they came
READ_AFTER = timedelta(hours=2)  # how long after arriving a message was read


def inbox_settle(*, usernames: list[str], rng: random.Random, now) -> None:
    """Mark the demo users' in-app messages read, an hour or two after each arrived, except
    each person's newest few (0 to UNREAD_AT_MOST) of the last UNREAD_WITHIN."""
    inapp = Notification.objects.filter(
        channel=Notification.Channel.INAPP,
        recipient__username__in=usernames,
        read_at__isnull=True,
    )
    for recipient_id in sorted(set(inapp.values_list("recipient_id", flat=True))):
        mine = inapp.filter(recipient_id=recipient_id)
        kept = list(
            mine.filter(created_at__gte=now - UNREAD_WITHIN)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[: rng.randint(1, UNREAD_AT_MOST)]
        )
        # A receipt, not a workflow status (as notifications_mark_read): no history to keep.
        mine.exclude(pk__in=kept).update(
            read_at=Least(F("created_at") + READ_AFTER, Value(now, output_field=DateTimeField()))
        )
