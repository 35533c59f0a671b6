"""Similar appeals at triage and the filing form's duplicate check (issue #18)."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appeals.models import Appeal
from appeals.search import appeals_similar
from tests.factories import credit_code

pytestmark = pytest.mark.django_db

ARREARS = {
    "title": "区住建局拖欠我司工程款",
    "content": "我公司承建的市政道路工程已于去年竣工验收，区住建局至今拖欠工程款三百二十万元，"
    "多次催要无果，企业资金周转困难。",
}
# The same matter written again by the same enterprise: other words, other order, a typo.
ARREARS_AGAIN = {
    "title": "工程款被拖欠一年多，请督促住建局支付",
    "content": "市政道路工程竣工验收一年多了，住建局仍拖欠我司工程欵三百多万元，催要多次无果，"
    "资金周转十分困难。",
}
POWER = {
    "title": "新厂房用电增容报装三个月无进展",
    "content": "我司新厂房需要增容至800千伏安，供电公司受理后三个月无进展，影响投产。",
}
CODE = credit_code("MA1XY0002")


def _page(user, appeal):
    client = Client()
    client.force_login(user)
    return client, client.get(reverse("appeal_detail", args=[appeal.number])).content.decode()


def test_the_commissioner_sees_the_earlier_appeal_on_the_same_matter_with_its_reasons(
    file_appeal, commissioner
):
    first = file_appeal(**ARREARS, credit_code=CODE).appeal
    file_appeal(**POWER)
    again = file_appeal(**ARREARS_AGAIN, credit_code=CODE).appeal
    suggestions = appeals_similar(commissioner, again, now=timezone.now())
    assert [s.appeal.number for s in suggestions] == [first.number]
    assert suggestions[0].may_merge
    reasons = " ".join(suggestions[0].reasons)
    assert "同一企业" in reasons
    assert "内容相似" in reasons
    assert "拖欠" in reasons


def test_text_alone_finds_the_same_matter_from_another_enterprise(file_appeal, commissioner):
    first = file_appeal(**ARREARS).appeal
    again = file_appeal(**ARREARS_AGAIN, enterprise_name="宣城另一建设有限公司").appeal
    assert [s.appeal for s in appeals_similar(commissioner, again, now=timezone.now())] == [first]


def test_a_later_appeal_is_suggested_without_a_merge_button(file_appeal, commissioner):
    first = file_appeal(**ARREARS).appeal
    again = file_appeal(**ARREARS_AGAIN).appeal
    (suggestion,) = appeals_similar(commissioner, first, now=timezone.now())
    assert suggestion.appeal == again
    assert not suggestion.may_merge
    _, page = _page(commissioner, first)
    assert f'name="into_number" value="{again.number}"' not in page


def test_appeals_closed_long_ago_are_not_suggested(file_appeal, walk_to, commissioner):
    first = walk_to(file_appeal(**ARREARS).appeal, "closed")
    again = file_appeal(**ARREARS_AGAIN).appeal
    assert [s.appeal for s in appeals_similar(commissioner, again, now=timezone.now())] == [first]
    later = timezone.now() + timedelta(days=91)
    assert appeals_similar(commissioner, again, now=later) == []


def test_the_commissioner_merges_from_a_suggestion_with_one_click(file_appeal, commissioner):
    first = file_appeal(**ARREARS, credit_code=CODE).appeal
    again = file_appeal(**ARREARS_AGAIN, credit_code=CODE).appeal
    client, page = _page(commissioner, again)
    form = re.search(
        r'<form method="post" action="(/appeals/[^"]+/merge/)" class="mt-1">(.*?)</form>',
        page,
        re.S,
    )
    assert form is not None
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(2)))
    assert fields["into_number"] == first.number
    response = client.post(form.group(1), fields)
    assert response.status_code == 302
    again.refresh_from_db()
    assert again.status == Appeal.Status.MERGED
    assert again.merged_into == first
    assert first.number in again.triage_explanation


def test_departments_are_not_offered_suggestions(file_appeal, walk_to, handler_a):
    file_appeal(**ARREARS)
    again = walk_to(file_appeal(**ARREARS_AGAIN).appeal, "assigned")
    _, page = _page(handler_a, again)
    assert 'id="similar"' not in page


def _check(credit_code_value, title):
    return Client().get(
        reverse("appeal_file_check"), {"credit_code": credit_code_value, "title": title}
    )


def test_the_filer_is_told_an_open_appeal_of_their_code_is_on_the_same_matter(file_appeal):
    cache.clear()
    first = file_appeal(**ARREARS, credit_code=CODE).appeal
    told = _check(CODE.lower(), "住建局拖欠工程款").content.decode()
    assert "正在办理中" in told
    # Nothing of the other appeal is shown: not its number, not its title.
    assert first.number not in told
    assert ARREARS["title"] not in told
    assert "正在办理中" not in _check(CODE, "用电增容报装").content.decode()
    assert "正在办理中" not in _check(credit_code("MA1XY0003"), "拖欠工程款").content.decode()
    assert "正在办理中" not in _check("not a code", "拖欠工程款").content.decode()


def test_a_closed_appeal_is_not_an_open_duplicate(file_appeal, walk_to):
    cache.clear()
    walk_to(file_appeal(**ARREARS, credit_code=CODE).appeal, "closed")
    assert "正在办理中" not in _check(CODE, "住建局拖欠工程款").content.decode()


def test_the_filing_form_asks_with_htmx_and_no_inline_script(client):
    page = client.get(reverse("appeal_file")).content.decode()
    assert f'hx-get="{reverse("appeal_file_check")}"' in page
    assert "<script>" not in page
