"""The in-app inbox: one row per appeal and day with a count, and "mark all read" (one
service, up to the newest message the reader was shown)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from appeals.models import Notification
from appeals.selectors import unread_count
from appeals.services.notify import notifications_mark_all_read
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _message(user, appeal=None, *, at, channel=Notification.Channel.INAPP, read=False):
    n = Notification.objects.count()
    return Notification.objects.create(
        recipient=user,
        channel=channel,
        appeal=appeal,
        event="filed",
        dedupe_key=f"inbox:{user.pk}:{n}",
        subject=f"消息{n}",
        body="有新的诉求待分办。",
        created_at=at,
        read_at=at if read else None,
    )


def _day(d, hour):
    return datetime(2026, 3, d, hour, tzinfo=SHANGHAI)


def test_mark_all_read_marks_only_the_readers_own_in_app_messages(commissioner, office):
    mine = [_message(commissioner, at=_day(2, h)) for h in (9, 10)]
    email = _message(commissioner, at=_day(2, 11), channel=Notification.Channel.EMAIL)
    others = _message(office, at=_day(2, 9))

    assert notifications_mark_all_read(actor=commissioner) == 2

    assert all(Notification.objects.get(pk=m.pk).read_at for m in mine)
    assert Notification.objects.get(pk=email.pk).read_at is None
    assert Notification.objects.get(pk=others.pk).read_at is None


def test_mark_all_read_leaves_a_message_that_came_after_the_page_was_shown(commissioner):
    seen = _message(commissioner, at=_day(2, 9))
    later = _message(commissioner, at=_day(2, 10))

    notifications_mark_all_read(actor=commissioner, up_to=seen.pk)

    assert Notification.objects.get(pk=seen.pk).read_at is not None
    assert Notification.objects.get(pk=later.pk).read_at is None


def test_the_inbox_shows_one_row_per_appeal_and_day_with_a_count(client, commissioner, file_appeal):
    first, second = file_appeal().appeal, file_appeal().appeal
    Notification.objects.all().delete()
    for hour in (9, 10, 11):
        _message(commissioner, first, at=_day(2, hour))
    _message(commissioner, first, at=_day(3, 9), read=True)
    _message(commissioner, second, at=_day(3, 10))
    client.force_login(commissioner)

    page = client.get(reverse("notifications")).content.decode()

    rows = re.findall(r'class="list-group-item notification-group.*?\n  </div>', page, re.S)
    assert len(rows) == 3
    # Newest first: the second appeal today, the first appeal today, the first yesterday.
    assert second.number in rows[0] and first.number in rows[1] and first.number in rows[2]
    assert "当天共 3 条" in rows[2] and "3 条未读" in rows[2]
    assert "notification-count" not in rows[1] and "未读" not in rows[1]


def test_the_inbox_button_marks_all_read_and_clears_the_badge(client, commissioner):
    for hour in (9, 10, 11):
        _message(commissioner, at=_day(2, hour))
    client.force_login(commissioner)
    page = client.get(reverse("notifications")).content.decode()
    up_to = re.search(r'name="up_to" value="(\d+)"', page).group(1)

    response = client.post(reverse("notifications"), {"up_to": up_to})

    assert response.status_code == 302
    assert unread_count(commissioner) == 0
    assert "全部标为已读" not in client.get(reverse("notifications")).content.decode()


def test_the_inbox_costs_the_same_queries_for_any_number_of_groups(
    client, django_assert_num_queries, file_appeal
):
    reader = UserFactory(username="reader")
    appeals = [file_appeal().appeal for _ in range(5)]
    for i, appeal in enumerate(appeals):
        _message(reader, appeal, at=_day(2 + i, 9))
        _message(reader, appeal, at=_day(2 + i, 10))
    client.force_login(reader)
    client.get(reverse("notifications"))  # warm the session

    # 1 session, 2 user, 3 count of the groups, 4 the page's groups, 5 their newest messages
    # with their appeals, 6 the user's roles (the nav), 7 the unread badge
    with django_assert_num_queries(7):
        client.get(reverse("notifications"))


def test_the_inbox_in_english_shows_no_chinese_outside_the_messages(client, settings):
    # Users' data (the subject and body, stored in Chinese) is left out; the page's own
    # words, counts and button are English.
    reader = UserFactory(username="reader", first_name="Ann")
    for hour in (9, 10):
        _message(reader, at=_day(2, hour))
    client.force_login(reader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("notifications")).content.decode()

    assert "2 messages that day" in page and "2 unread" in page and "Mark all as read" in page
    for message in Notification.objects.all():
        page = page.replace(message.subject, "").replace(message.body, "")
    assert set(re.findall(r"[\u3400-\u9fff]+", page)) <= {"中文"}
