"""The top bar's unread badge: the real number up to 99, then "99+", counted without reading
every unread message (every page shows it)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appeals.models import Notification
from appeals.selectors import unread_count

pytestmark = pytest.mark.django_db


def _unread(user, n):
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            channel=Notification.Channel.INAPP,
            event="filed",
            dedupe_key=f"badge:{user.pk}:{i}",
            subject="新诉求",
            body="有新的诉求待分办。",
        )
        for i in range(n)
    )


def _badge(client, user) -> str:
    client.force_login(user)
    page = client.get(reverse("notifications")).content.decode()
    start = page.index('<span class="badge text-bg-danger">') + len(
        '<span class="badge text-bg-danger">'
    )
    return page[start : page.index("</span>", start)]


def test_the_badge_shows_the_number_up_to_99(client, commissioner):
    _unread(commissioner, 99)
    assert _badge(client, commissioner) == "99"


def test_beyond_99_the_badge_says_99_plus_and_the_count_stops_at_100(client, commissioner):
    _unread(commissioner, 250)
    assert _badge(client, commissioner) == "99+"
    with CaptureQueriesContext(connection) as queries:
        assert unread_count(commissioner) == 100
    assert "LIMIT 100" in queries[-1]["sql"]
