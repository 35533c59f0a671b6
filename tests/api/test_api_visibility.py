"""Who sees what through the API: the matrix of tests/appeals/test_views.py, object-level
checks on ids in URLs, mass assignment, the filter and ordering allow-list, query counts,
pagination, and one error shape for every failure."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.throttling import ScopedRateThrottle

from appeals.models import Appeal
from departments.roles import Role
from tests import workflow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/appeal-list/"
MY_URL = "/api/v1/my/appeals/"
FILE_URL = "/api/v1/appeals/"
MISSING = "XC-2099-999999"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _detail(number: str) -> str:
    return f"/api/v1/appeals/{number}/"


def _numbers(response) -> list[str]:
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    rows = body["results"]
    return [row["appeal"]["number"] if "appeal" in row else row["number"] for row in rows]


def _assert_error(response, status: int, code: str) -> dict:
    """Every error is {"code", "message"[, "fields"]} with a stable code and Chinese text."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert set(body) <= {"code", "message", "fields"}
    assert CJK.search(body["message"]), body["message"]
    return body


@pytest.fixture
def routed(appeal_at):
    """An appeal routed to dept_a (lead), filed by enterprise_user."""
    return appeal_at(Appeal.Status.ASSIGNED)


# persona → (detail status, the shape it gets, in /appeal-list/, in dept A's inbox, in /my/)
# Anonymous callers get 401 everywhere; an appeal the caller may not see is a 404 exactly like
# a number that does not exist. The enterprise gets the public view of its own appeal (the
# HTML staff page answers it 403 and sends it to the tracking page instead).
MATRIX = [
    ("anonymous", 401, None, None, None, None),
    ("office", 200, "staff", True, False, False),
    ("commissioner", 200, "staff", True, False, False),
    ("leader", 200, "staff", True, False, False),
    ("supervisor", 404, None, False, False, False),
    ("handler_a", 200, "staff", True, True, False),
    ("head_a", 200, "staff", True, True, False),
    ("handler_b", 404, None, False, False, False),
    ("enterprise_user", 200, "public", True, False, True),
    ("other_enterprise", 404, None, False, False, False),
]


@pytest.mark.parametrize(("persona", "detail", "shape", "in_list", "in_inbox", "in_my"), MATRIX)
def test_each_role_sees_through_the_api_only_the_appeals_it_may_see(
    request, api, routed, dept_a, persona, detail, shape, in_list, in_inbox, in_my
):
    makers = {
        "anonymous": lambda: None,
        "leader": lambda: UserFactory(username="leader", roles=[Role.LEADER]),
        "supervisor": lambda: UserFactory(username="supervisor", roles=[Role.SUPERVISOR]),
        "other_enterprise": lambda: UserFactory(username="ent_b", roles=[Role.ENTERPRISE]),
    }
    user = makers.get(persona, lambda: request.getfixturevalue(persona))()
    client = api(user)

    response = client.get(_detail(routed.number))
    assert response.status_code == detail
    if detail == 401:
        _assert_error(response, 401, "not_authenticated")
        for url in (LIST_URL, f"/api/v1/inbox/?department={dept_a.pk}", MY_URL):
            _assert_error(client.get(url), 401, "not_authenticated")
        return
    if detail == 404:
        missing = client.get(_detail(MISSING))
        assert response.json() == missing.json() == {"code": "not_found", "message": "未找到。"}
    else:
        body = response.json()
        assert body["number"] == routed.number
        # The staff view lists the assignments; the enterprise's view never does.
        assert ("assignments" in body) == (shape == "staff")
        assert ("awaiting_material" in body) == (shape == "public")

    assert (routed.number in _numbers(client.get(LIST_URL))) == in_list
    inbox = client.get(f"/api/v1/inbox/?department={dept_a.pk}&tab=to_sign")
    assert (routed.number in _numbers(inbox)) == in_inbox
    assert (routed.number in _numbers(client.get(MY_URL))) == in_my
    if persona == "enterprise_user":
        assert client.get(f"/api/v1/my/appeals/{routed.number}/").status_code == 200
    else:
        mine = client.get(f"/api/v1/my/appeals/{routed.number}/")
        _assert_error(mine, 404, "not_found")


def test_a_handler_of_another_department_acting_on_dept_a_assignment_gets_404(
    api, routed, handler_b
):
    lead = workflow.lead_assignment(routed)
    before = workflow.snapshot(routed)
    client = api(handler_b)
    base = f"/api/v1/appeals/{routed.number}/assignments/{lead.pk}"
    for action, body in [
        ("sign", {}),
        ("return", {"reason": "不属于我局职责范围。"}),
        ("reply", {"outcome": "resolved", "content": "已处理。"}),
        ("extension", {"days": 5, "reason": "需要现场勘查。"}),
    ]:
        response = client.post(f"{base}/{action}/", body, format="json")
        _assert_error(response, 404, "not_found")
    assert workflow.snapshot(routed) == before
    lead.refresh_from_db()
    assert lead.state == "assigned"


def test_a_co_handler_acting_on_the_lead_assignment_is_refused_and_nothing_changes(
    api, appeal_at, handler_b, dept_b
):
    """dept B sees the appeal (it co-handles it), so the refusal is a 403, not a 404."""
    appeal = appeal_at(Appeal.Status.ASSIGNED, co_handlers=[dept_b])
    lead = workflow.lead_assignment(appeal)
    before = workflow.snapshot(appeal)
    response = api(handler_b).post(
        f"/api/v1/appeals/{appeal.number}/assignments/{lead.pk}/sign/", format="json"
    )
    _assert_error(response, 403, "forbidden")
    assert workflow.snapshot(appeal) == before


def test_an_assignment_of_another_appeal_in_the_url_is_404(api, appeal_at, handler_a):
    first, second = appeal_at(Appeal.Status.ASSIGNED), appeal_at(Appeal.Status.ASSIGNED)
    other_lead = workflow.lead_assignment(second)
    before = workflow.snapshot(second)
    response = api(handler_a).post(
        f"/api/v1/appeals/{first.number}/assignments/{other_lead.pk}/sign/", format="json"
    )
    _assert_error(response, 404, "not_found")
    assert workflow.snapshot(second) == before


def test_a_reply_of_another_appeal_in_the_url_is_404(api, appeal_at, office):
    first, second = appeal_at(Appeal.Status.REPLIED), appeal_at(Appeal.Status.REPLIED)
    other_reply = second.replies.get()
    response = api(office).post(
        f"/api/v1/appeals/{first.number}/replies/{other_reply.pk}/review/",
        {"approve": True},
        format="json",
    )
    _assert_error(response, 404, "not_found")


def test_fields_the_filer_may_not_set_are_ignored(api, dept_b, office, enterprise):
    response = api().post(
        FILE_URL,
        {
            "title": "园区道路破损",
            "content": "三号路塌陷，请尽快修复。",
            "is_anonymous": True,
            # None of these is a filing field: each must be ignored, none may be stored.
            "status": "closed",
            "number": "HACK-0001",
            "department": dept_b.pk,
            "lead": dept_b.pk,
            "enterprise": enterprise.pk,
            "filed_by": office.pk,
            "commissioner": office.pk,
            "query_code_hash": "0" * 64,
            "is_blocked": True,
            "reopened_count": 9,
        },
        format="json",
    )
    assert response.status_code == 201, response.content.decode()
    appeal = Appeal.objects.get()
    assert response.json()["number"] == appeal.number
    assert re.fullmatch(r"XC-\d{4}-\d{6}", appeal.number)
    assert appeal.status == Appeal.Status.TRIAGE
    assert appeal.assignments.count() == 0
    assert appeal.enterprise is None and appeal.filed_by is None and appeal.commissioner is None
    assert not appeal.is_blocked and appeal.reopened_count == 0
    assert appeal.query_code_hash != "0" * 64


def test_an_ordering_outside_the_allow_list_is_refused(api, office, appeal_at):
    appeal_at(Appeal.Status.TRIAGE)
    client = api(office)
    for field in ("query_code_hash", "-query_code_hash", "contact_phone", "enterprise__name"):
        body = _assert_error(client.get(f"{LIST_URL}?ordering={field}"), 400, "invalid")
        assert set(body["fields"]) == {"ordering"}


def test_allowed_orderings_and_filters_work(api, office, file_appeal, walk_to):
    first = file_appeal().appeal
    second = walk_to(file_appeal().appeal, Appeal.Status.ASSIGNED)
    client = api(office)
    assert _numbers(client.get(f"{LIST_URL}?ordering=number")) == [first.number, second.number]
    assert _numbers(client.get(f"{LIST_URL}?ordering=-number")) == [second.number, first.number]
    assert _numbers(client.get(f"{LIST_URL}?status=assigned")) == [second.number]
    _assert_error(client.get(f"{LIST_URL}?status=bogus"), 400, "invalid")


@pytest.mark.parametrize(
    "param",
    [
        "contact_phone__startswith=1",
        "query_code_hash__startswith=a",
        "enterprise__users__username=enterprise_user",
        "ordering__x=1",
    ],
)
def test_a_filter_with_a_lookup_path_is_refused(api, appeal_at, office, param):
    appeal_at(Appeal.Status.ASSIGNED)
    body = _assert_error(api(office).get(f"{LIST_URL}?{param}"), 400, "invalid")
    assert set(body["fields"]) == {param.split("=")[0]}


@pytest.mark.parametrize("param", ["contact_phone=13805630001", "filed_by=1"])
def test_a_filter_outside_the_allow_list_is_ignored_and_leaks_no_row(
    api, appeal_at, handler_a, handler_b, office, param
):
    """django-filter ignores parameters it does not declare (200, unfiltered), so a probe on a
    hidden column learns nothing and the caller still sees only its own rows."""
    visible = appeal_at(Appeal.Status.ASSIGNED)
    for user, expected in [(office, [visible.number]), (handler_b, [])]:
        client = api(user)
        plain = client.get(LIST_URL)
        probed = client.get(f"{LIST_URL}?{param}")
        assert probed.status_code == 200
        assert probed.json() == plain.json()
        assert _numbers(probed) == expected
    rows = api(handler_a).get(f"{LIST_URL}?{param}").json()["results"]
    assert all(
        set(row) & {"contact_phone", "contact_name", "query_code_hash"} == set() for row in rows
    )


def test_the_appeal_list_costs_the_same_queries_for_3_and_30_appeals(
    api, file_appeal, commissioner, django_assert_num_queries
):
    def fresh_client():
        # A fresh user object each time: roles are cached on it, and a real request starts
        # without that cache.
        return api(get_user_model().objects.get(pk=commissioner.pk))

    for _ in range(3):
        file_appeal()
    # 1. the user's groups (roles_of: commissioners see every appeal)
    # 2. COUNT(*) of the visible appeals, for the paginator
    # 3. the page of appeals joined with category (and its parent), region and enterprise
    client = fresh_client()
    with django_assert_num_queries(3):
        response = client.get(LIST_URL)
    assert response.json()["count"] == 3
    for _ in range(27):
        file_appeal()
    client = fresh_client()
    with django_assert_num_queries(3):
        response = client.get(LIST_URL)
    assert response.json()["count"] == 30 and len(response.json()["results"]) == 25


def test_a_department_user_list_costs_one_more_query_for_the_memberships(
    api, appeal_at, handler_a, django_assert_num_queries
):
    for _ in range(3):
        appeal_at(Appeal.Status.ASSIGNED)
    # 1. groups (roles), 2. memberships (department ids), 3. COUNT(*), 4. the page of appeals
    client = api(get_user_model().objects.get(pk=handler_a.pk))
    with django_assert_num_queries(4):
        response = client.get(LIST_URL)
    assert response.json()["count"] == 3


@pytest.mark.parametrize(
    "query", ["page=last", "page=0", "page=abc", "page=1&page=2", "page_size=10&page_size=20"]
)
def test_a_page_or_page_size_that_is_not_one_whole_number_is_refused(api, office, query):
    """Not silently the first page, or the last value given (schemathesis found both)."""
    _assert_error(api(office).get(f"{LIST_URL}?{query}"), 400, "invalid")


def test_lists_are_paginated_with_count_next_and_results(api, office, file_appeal):
    for _ in range(30):
        file_appeal()
    client = api(office)
    body = client.get(LIST_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 30 and len(body["results"]) == 25
    assert body["next"].endswith(f"{LIST_URL}?page=2") and body["previous"] is None
    second = client.get(body["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    seen = {r["number"] for r in body["results"]} | {r["number"] for r in second["results"]}
    assert len(seen) == 30
    small = client.get(f"{LIST_URL}?page_size=10").json()
    assert len(small["results"]) == 10
    # page_size is capped at 100 (max_page_size).
    assert len(client.get(f"{LIST_URL}?page_size=1000").json()["results"]) == 30
    _assert_error(client.get(f"{LIST_URL}?page=99"), 404, "not_found")
    for url in (MY_URL, "/api/v1/triage/", "/api/v1/reviews/", "/api/v1/categories/"):
        assert {"count", "next", "results"} <= set(client.get(url).json())


def test_a_validation_error_is_400_with_fields_and_a_chinese_message(api):
    body = _assert_error(api().post(FILE_URL, {}, format="json"), 400, "invalid")
    assert body["message"] == "请检查输入。"
    assert set(body["fields"]) == {"title", "content"}
    assert Appeal.objects.count() == 0


def test_a_refused_filing_is_400_with_the_service_code(api):
    body = _assert_error(
        api().post(FILE_URL, {"title": "标题", "content": "内容"}, format="json"), 400, "required"
    )
    assert "企业名称" in body["message"]


def test_not_signed_in_is_401_with_a_token_challenge(api):
    response = api().get(LIST_URL)
    body = _assert_error(response, 401, "not_authenticated")
    assert body["message"] == "请先登录或提供有效令牌。"
    assert response["WWW-Authenticate"] == "Token"


def test_an_enterprise_asking_for_staff_only_things_gets_403(api, enterprise_user, routed):
    client = api(enterprise_user)
    _assert_error(client.get("/api/v1/triage/"), 403, "forbidden")
    before = workflow.snapshot(routed)
    _assert_error(
        client.post(f"/api/v1/appeals/{routed.number}/blocked/", {"blocked": True}, format="json"),
        403,
        "forbidden",
    )
    assert workflow.snapshot(routed) == before


def test_a_wrong_code_and_an_unknown_number_get_the_same_404(api, file_appeal):
    filed = file_appeal()
    client = api()
    wrong = client.post("/api/v1/track/", {"number": filed.appeal.number, "code": "AAAA"})
    unknown = client.post("/api/v1/track/", {"number": MISSING, "code": filed.query_code})
    assert wrong.json() == unknown.json() == {"code": "not_found", "message": "未找到。"}
    assert wrong.status_code == unknown.status_code == 404


def test_an_unsupported_method_is_405_in_the_same_shape(api, office):
    _assert_error(api(office).delete(LIST_URL), 405, "method_not_allowed")


def test_filing_past_the_throttle_is_429_and_files_nothing_more(api, settings, monkeypatch):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"filing": "2/minute", "tracking": "20/minute"},
    }
    # DRF reads the rates into a class attribute at import time, so the setting alone does not
    # reach a running process; the class attribute is what the throttle consults.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"filing": "2/minute"})
    client = api()
    body = {"title": "标题", "content": "内容", "is_anonymous": True}
    assert [client.post(FILE_URL, body, format="json").status_code for _ in range(2)] == [201, 201]
    response = client.post(FILE_URL, body, format="json")
    _assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert Appeal.objects.count() == 2
