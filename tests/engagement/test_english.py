"""The engagement pages in English show no Chinese outside user data (names, titles, texts)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from appeals.models import Appeal
from engagement import services
from engagement.services import MeetingRow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CJK = re.compile(r"[\u3400-\u9fff]+")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _english(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _chinese_outside(html: str, user_data: list[str]) -> set[str]:
    for text in sorted(user_data, key=len, reverse=True):
        html = html.replace(text, "")
    return set(CJK.findall(html)) - {"中文"}


def test_the_meeting_and_grid_pages_in_english(
    meeting, office, invited, commissioner, grid, grid_enterprise, walk_to, dept_a, dept_b
):
    content = "融资难。"
    filed = services.meeting_appeals_enter(
        actor=office,
        meeting_id=meeting.pk,
        rows=[MeetingRow(enterprise_id=e.pk, content=content) for e in invited],
    )
    for one in filed:
        walk_to(one.appeal, Appeal.Status.CLOSED)
    contact = services.contact_log(
        actor=commissioner,
        enterprise_id=grid_enterprise.pk,
        kind="visit",
        contacted_on=NOW.date(),
        summary="了解需求。",
    )
    data = [
        meeting.title,
        meeting.place,
        meeting.presiding_leader,
        meeting.region.name,
        dept_a.name,
        dept_b.name,
        *(e.name for e in invited),
        content,
        grid.name,
        grid.park,
        grid.region.name,
        grid_enterprise.name,
        "了解需求。",
        "专员",
        "测试",
        "营商办",
        "城市建设",  # the category, named by the office
    ]
    pages = [
        (office, "/meetings/"),
        (office, f"/meetings/{meeting.pk}/"),
        (office, f"/meetings/{meeting.pk}/appeals/"),
        (office, f"/meetings/{meeting.pk}/report/"),
        (office, "/grids/"),
        (office, f"/grids/{grid.pk}/"),
        (office, "/grids/coverage/"),
        (office, "/meetings/new/"),
        (commissioner, "/contacts/new/"),
        (commissioner, f"/contacts/{contact.pk}/"),
    ]
    for user, url in pages:
        response = _english(user).get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        if url == "/meetings/new/":
            continue  # its selects list every region, department and enterprise by name
        assert _chinese_outside(html, data) == set(), url
