"""Staff search (issue #18): who finds what, Chinese and English words, identifiers, and bad
queries answered with a reason, never a 500."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import services
from appeals.models import Reply
from appeals.search import SearchRefused, appeals_search, highlight, parse_query
from tests import workflow
from tests.factories import credit_code

pytestmark = pytest.mark.django_db

POWER = {
    "title": "新厂房用电增容报装三个月无进展",
    "content": "我司新厂房需要增容至800千伏安，供电公司受理后三个月无进展，影响投产。",
    "enterprise_name": "宣城示范科技有限公司",
}
ROAD = {
    "title": "厂区门前道路破损，货车无法通行",
    "content": "园区三号路多处塌陷，雨天积水，请尽快安排修复。",
    "enterprise_name": "宣城绿源食品有限公司",
    "contact_phone": "13905630002",
}


def _page(user, q, **params):
    client = Client()
    client.force_login(user)
    return client.get(reverse("appeal_search"), {"q": q, **params})


def _listed(response) -> set[str]:
    """The numbers of the appeals the results page links to."""
    import re

    return set(
        re.findall(
            r'class="list-group-item [^"]*search-hit" href="/appeals/([^/]+)/"',
            response.content.decode(),
        )
    )


def _numbers(user, q) -> set[str]:
    return set(appeals_search(user, parse_query(q)).values_list("number", flat=True))


@pytest.fixture
def power(file_appeal):
    return file_appeal(**POWER).appeal


@pytest.fixture
def road(file_appeal, walk_to):
    return walk_to(file_appeal(**ROAD).appeal, "in_progress")


def test_nobody_finds_an_appeal_they_cannot_open(power, road, handler_a, handler_b, commissioner):
    # road is routed to dept_a; power is still in triage, seen by no department.
    assert _numbers(commissioner, "厂房") == {power.number}
    assert _numbers(commissioner, "道路 破损") == {road.number}
    assert _numbers(handler_a, "道路破损") == {road.number}
    assert _numbers(handler_a, "用电增容") == set()
    assert _numbers(handler_b, "道路破损") == set()
    assert _listed(_page(handler_b, road.number)) == set()
    assert _listed(_page(handler_a, road.number)) == {road.number}


def test_it_finds_chinese_words_whatever_characters_the_query_is_written_in(power, commissioner):
    assert _numbers(commissioner, "增容") == {power.number}
    # Traditional characters and full-width letters find the simplified text.
    assert _numbers(commissioner, "用電增容") == {power.number}
    assert _numbers(commissioner, "報裝") == {power.number}
    # All words must be there: a query with a word the appeal lacks finds nothing.
    assert _numbers(commissioner, "增容 塌陷") == set()


def test_it_finds_english_words_and_enterprise_names(file_appeal, commissioner):
    appeal = file_appeal(
        title="Export licence delayed",
        content="Our Export licence for ORGANIC tea has waited six weeks.",
        enterprise_name="宣城绿茶进出口有限公司",
    ).appeal
    assert _numbers(commissioner, "organic TEA") == {appeal.number}
    assert _numbers(commissioner, "绿茶进出口") == {appeal.number}


def test_it_finds_words_of_the_replies(road, commissioner, handler_a):
    assert _numbers(commissioner, "沥青") == set()
    services.reply_submit(
        actor=handler_a,
        assignment_id=workflow.lead_assignment(road).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已协调施工单位重新铺设沥青路面。",
    )
    assert _numbers(commissioner, "沥青") == {road.number}


def test_it_finds_by_number_credit_code_and_phone_without_showing_the_phone(
    file_appeal, commissioner
):
    code = credit_code("MA1XY0001")
    appeal = file_appeal(**ROAD, credit_code=code).appeal
    assert _numbers(commissioner, appeal.number) == {appeal.number}
    assert _numbers(commissioner, appeal.number.lower()) == {appeal.number}
    assert _numbers(commissioner, code.lower()) == {appeal.number}
    assert _numbers(commissioner, "139-0563-0002") == {appeal.number}
    response = _page(commissioner, "13905630002")
    assert _listed(response) == {appeal.number}
    # The phone is found, never shown: only the search box holds what was typed.
    assert response.content.decode().count("13905630002") == response.content.decode().count(
        'value="13905630002"'
    ) + response.content.decode().count("q=13905630002")


def test_an_appeal_filed_without_a_name_is_not_found_by_who_filed_it(file_appeal, commissioner):
    appeal = file_appeal(**{**ROAD, "is_anonymous": True}).appeal
    assert _numbers(commissioner, "13905630002") == set()
    assert _numbers(commissioner, "绿源食品") == set()
    assert _numbers(commissioner, "道路破损") == {appeal.number}


def test_filters_narrow_the_results(power, road, commissioner):
    response = _page(commissioner, "厂", status="triage")
    assert response.status_code == 400  # one character: refused, see below
    assert _listed(_page(commissioner, "三个月 厂房")) == {power.number}
    assert _listed(_page(commissioner, "塌陷", status="in_progress")) == {road.number}
    assert _listed(_page(commissioner, "塌陷", status="triage")) == set()


def test_the_words_found_are_marked_and_the_text_is_escaped():
    marked = highlight("<b>用電</b>增容报装", ["用电", "增容"])
    assert marked == "&lt;b&gt;<mark>用電</mark>&lt;/b&gt;<mark>增容</mark>报装"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("厂", "too_short"),
        ("！？。，……", "no_words"),
        ("'\";--", "no_words"),
        ("厂" * 10_000, "too_long"),
    ],
)
def test_a_query_with_nothing_to_search_by_is_refused_with_a_reason(query, code, commissioner):
    with pytest.raises(SearchRefused) as refused:
        parse_query(query)
    assert refused.value.code == code
    response = _page(commissioner, query)
    assert response.status_code == 400
    assert refused.value.message in response.content.decode()


def test_a_query_that_looks_like_sql_is_searched_as_words(power, commissioner):
    response = _page(commissioner, "'; DROP TABLE appeals_appeal; --")
    assert response.status_code == 200
    assert "没有找到符合条件的诉求" in response.content.decode()
    assert _numbers(commissioner, "增容 OR 1=1") == set()


def test_the_api_searches_with_the_same_scope_and_refuses_bad_queries(
    power, road, handler_a, handler_b, commissioner
):
    cache.clear()
    api = APIClient()
    api.force_authenticate(handler_a)
    answer = api.get(reverse("api_search"), {"q": "道路破损"}).json()
    assert [r["number"] for r in answer["results"]] == [road.number]
    assert "<mark>道路</mark>" in answer["results"][0]["title_html"]
    api.force_authenticate(handler_b)
    assert api.get(reverse("api_search"), {"q": "道路破损"}).json()["results"] == []
    refused = api.get(reverse("api_search"), {"q": "厂" * 10_000})
    assert refused.status_code == 400
    assert "100" in str(refused.json())
    api.force_authenticate(commissioner)
    filtered = api.get(reverse("api_search"), {"q": "塌陷", "status": "triage"}).json()
    assert filtered["results"] == []


def test_refreshing_the_search_words_writes_no_history_row(power):
    from appeals.services._common import search_text_refresh

    before = power.history.count()
    power.search_text = ""
    search_text_refresh(power)
    power.refresh_from_db()
    assert "增容" in power.search_text.split()
    assert power.history.count() == before


def test_search_reindex_fills_the_appeals_without_words_in_batches(
    power, road, commissioner, monkeypatch
):
    """`manage.py search_reindex` after a bulk load: the appeals without words get them (the
    others are left as they are unless --all), searching finds them again, no history row."""
    from io import StringIO

    from django.core.management import call_command

    from appeals.management.commands import search_reindex
    from appeals.models import Appeal

    monkeypatch.setattr(search_reindex, "BATCH", 1)  # two batches for two appeals
    Appeal.objects.filter(pk=power.pk).update(search_text="")
    Appeal.objects.filter(pk=road.pk).update(search_text=" stale ")
    history = power.history.count()
    assert not appeals_search(commissioner, parse_query("增容")).exists()

    out = StringIO()
    call_command("search_reindex", stdout=out)
    assert "done: 1 appeals" in out.getvalue()
    assert set(appeals_search(commissioner, parse_query("增容"))) == {power}
    assert Appeal.objects.get(pk=road.pk).search_text == " stale "
    assert power.history.count() == history

    call_command("search_reindex", "--all", stdout=out)
    assert "塌陷" in Appeal.objects.get(pk=road.pk).search_text.split()
    assert "增容" in Appeal.objects.get(pk=power.pk).search_text.split()


def test_past_the_count_cap_the_page_says_more_and_lists_the_newest(
    file_appeal, commissioner, monkeypatch
):
    """Counting stops at the cap (a count reads every match): the page says there are more,
    lists the newest ones up to the cap, and asks for a narrower search."""
    from appeals.views import search as search_view

    monkeypatch.setattr(search_view, "COUNT_CAP", 2)
    filed = [file_appeal(**POWER).appeal for _ in range(3)]

    response = _page(commissioner, "增容")

    text = response.content.decode()
    assert "找到超过 2 件诉求，列出最新的 2 件；请加上条件缩小范围。" in text
    assert _listed(response) == {filed[2].number, filed[1].number}

    monkeypatch.setattr(search_view, "COUNT_CAP", 3)
    response = _page(commissioner, "增容")
    assert "找到 3 件诉求。" in response.content.decode()
    assert len(_listed(response)) == 3
