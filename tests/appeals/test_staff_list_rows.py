"""The staff list pages (the triage queue, a department's inbox) show the same rows, colours and
days left as the per-row template tags they used before issue #16 cut their rendering: the old
row templates are kept here as the reference and rendered from the same data."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db.models import Prefetch
from django.template import engines
from django.urls import reverse
from django.utils import translation

from appeals.models import Appeal, EnterpriseTag
from appeals.selectors import department_inbox, triage_queue
from sla.models import Clock
from tests.factories import CategoryFactory, EnterpriseFactory, RegionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday

# What the pages rendered per row before (triage_queue.html included appeal_row.html, which
# reports/appeal_list.html still does).
TRIAGE_ROWS_BEFORE = (
    '{% for appeal in page %}{% include "appeals/partials/appeal_row.html" %}{% endfor %}'
)
INBOX_ROWS_BEFORE = """{% load sla_tags %}{% for a in page %}<tr>
    <td class="text-nowrap">{% colour_dot a.appeal.colour %} <a href="{% url 'appeal_detail' a.appeal.number %}">{{ a.appeal.number }}</a></td>
    <td><a href="{% url 'appeal_detail' a.appeal.number %}">{{ a.appeal.title }}</a></td>
    <td>{{ a.get_role_display }}</td><td>{{ a.appeal.category|default:"—" }}</td>
    <td class="text-nowrap">{{ a.assigned_at|date:"m-d H:i" }}</td>
    <td class="small">{% for c in a.clocks.all %}{% if c.is_open %}<div class="text-nowrap">{% colour_dot c.colour %} {{ c.get_obligation_display }} · {{ c|days_left }}</div>{% endif %}{% endfor %}</td>
    <td>{{ a.get_state_display }}</td>
  </tr>{% endfor %}"""


def _squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def _tbody(page: str) -> str:
    return _squeeze(page.split("<tbody>", 1)[1].split("</tbody>", 1)[0])


def _before(source: str, rows, language: str) -> str:
    with translation.override(language):
        return _squeeze(engines["django"].from_string(source).render({"page": list(rows)}))


def _get(client, user, url: str, language: str) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def small_city(cast, file_appeal, walk_to, dept_b):
    """A handful of appeals in the triage queue (urgent, returned, anonymous, a tagged key
    enterprise, each colour) and in dept_a's inbox, whose clocks are on time, due today,
    overdue and paused."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        key = EnterpriseFactory(name="宣城重点制造有限公司")
        key.tags.add(
            EnterpriseTag.objects.create(code="hi-tech", name="高新技术"),
            EnterpriseTag.objects.create(code="srdi", name="专精特新"),
        )
        queued = [
            file_appeal(title="道路破损", priority=Appeal.Priority.URGENT).appeal,
            file_appeal(title="用电接入慢").appeal,
            file_appeal(title="匿名反映 <b>围标</b>", is_anonymous=True).appeal,
            file_appeal(title="重点企业用地").appeal,
        ]
        Appeal.objects.filter(pk=queued[1].pk).update(returned_count=2, colour="yellow")
        Appeal.objects.filter(pk=queued[2].pk).update(colour="red")
        Appeal.objects.filter(pk=queued[3].pk).update(enterprise=key, colour="")
        # A sub-category ("parent / name") and a region, and a category no longer in use: the
        # rows read the first from what the process holds, the other from the database.
        parent = CategoryFactory(name="要素保障")
        child = CategoryFactory(name="用电用水", parent=parent)
        retired = CategoryFactory(name="旧分类", is_active=False)
        Appeal.objects.filter(pk=queued[0].pk).update(
            category=child, region=RegionFactory(name="宣州区")
        )
        Appeal.objects.filter(pk=queued[1].pk).update(category=retired)
        handled = [
            walk_to(file_appeal(title=f"在办事项{i}").appeal, s)
            for i, s in enumerate(
                [Appeal.Status.ASSIGNED, Appeal.Status.IN_PROGRESS, Appeal.Status.IN_PROGRESS]
            )
        ]
    clocks = Clock.objects.filter(assignment__appeal__in=handled, assignment__department=cast.lead)
    assert clocks.count() >= 3
    first, second, third = (
        clocks.filter(assignment__appeal=a).order_by("pk").first() for a in handled
    )
    Appeal.objects.filter(pk=handled[0].pk).update(category=child)
    Appeal.objects.filter(pk=handled[1].pk).update(category=retired)
    Clock.objects.filter(pk=first.pk).update(due_date=date(2026, 3, 11), colour="yellow")
    Clock.objects.filter(pk=second.pk).update(
        due_date=date(2026, 3, 6), state=Clock.State.BREACHED, colour="red"
    )
    # Paused on Monday 03-09 with two working days to go: it counts from the pause.
    Clock.objects.filter(pk=third.pk).update(
        due_date=date(2026, 3, 11), state=Clock.State.PAUSED, paused_on=date(2026, 3, 9)
    )
    return cast


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_triage_queue_shows_the_same_rows_as_before(client, small_city, language):
    commissioner = small_city.commissioner
    with time_machine.travel(NOW):
        page = _get(client, commissioner, reverse("triage_queue"), language)
        before = _before(TRIAGE_ROWS_BEFORE, triage_queue(commissioner)[:25], language)

    rows = _tbody(page)
    assert rows == before
    assert rows.count("<tr>") == 4
    assert "colour-red" in rows and "colour-yellow" in rows
    assert "匿名反映 &lt;b&gt;围标&lt;/b&gt;" in rows  # user data escaped, as before
    assert "高新技术" in rows and "专精特新" in rows
    assert "要素保障 / 用电用水" in rows and "宣州区" in rows and "旧分类" in rows


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("tab", ["to_sign", "in_progress"])
def test_the_inbox_shows_the_same_rows_colours_and_days_left_as_before(
    client, small_city, language, tab
):
    handler, dept = small_city.lead_handler, small_city.lead
    with time_machine.travel(NOW):
        page = _get(client, handler, reverse("inbox") + f"?tab={tab}", language)
        before = _before(
            INBOX_ROWS_BEFORE,
            # The clocks in the order they started, as the page lists them (before, in the
            # order the database happened to return them).
            department_inbox(handler, department_id=dept.pk, tab=tab)
            .prefetch_related(None)
            .prefetch_related(Prefetch("clocks", queryset=Clock.objects.order_by("pk")))[:25],
            language,
        )

    rows = _tbody(page)
    assert rows == before
    assert rows.count("<tr>") == (1 if tab == "to_sign" else 2)
    assert ("要素保障 / 用电用水" if tab == "to_sign" else "旧分类") in rows


def test_the_inbox_counts_days_left_from_today_and_from_a_pause(client, small_city):
    handler = small_city.lead_handler
    with time_machine.travel(NOW):
        to_sign = _tbody(_get(client, handler, reverse("inbox") + "?tab=to_sign", "zh-hans"))
        in_progress = _tbody(
            _get(client, handler, reverse("inbox") + "?tab=in_progress", "zh-hans")
        )

    assert "今日到期" in to_sign
    assert 'class="colour-dot colour-yellow"' in to_sign
    # Due Friday 03-06, today Wednesday 03-11: three working days late.
    assert "逾期 3 个工作日" in in_progress
    assert 'class="colour-dot colour-red"' in in_progress
    # Paused on Monday 03-09, due Wednesday 03-11: two working days left, however late it is.
    assert "还剩 2 个工作日" in in_progress
