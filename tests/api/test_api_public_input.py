"""Public input sets no privilege (issue #15): an anonymous or enterprise filing cannot choose
`priority`; nested JSON, however deep, is a 400; a retry with the same Idempotency-Key is not
counted against the filing limit; a body past Django's limits is refused in the API's shape;
publishing is the office's alone (403 for anyone else)."""

import json
from urllib.parse import urlencode

import pytest
from rest_framework.throttling import ScopedRateThrottle

from appeals.models import Appeal
from departments.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FILE_URL = "/api/v1/appeals/"
FILING = {"title": "园区道路破损", "content": "三号路塌陷，请尽快修复。", "is_anonymous": True}


# --- Priority ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["anonymous", "enterprise_user", "handler_a"])
def test_the_public_and_enterprises_cannot_file_an_urgent_appeal(request, api, persona):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)

    response = api(user).post(FILE_URL, {**FILING, "priority": "urgent"}, format="json")

    assert response.status_code == 201, response.content.decode()
    assert Appeal.objects.get().priority == Appeal.Priority.NORMAL


@pytest.mark.parametrize("persona", ["commissioner", "office"])
def test_those_who_triage_may_file_an_urgent_appeal(request, api, persona):
    user = request.getfixturevalue(persona)

    response = api(user).post(FILE_URL, {**FILING, "priority": "urgent"}, format="json")

    assert response.status_code == 201, response.content.decode()
    assert Appeal.objects.get().priority == Appeal.Priority.URGENT


# --- Nested JSON ---------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("field", ["category", "region", "title"])
def test_an_id_nested_in_lists_is_a_400_when_filing(api, field):
    client = api()
    client.raise_request_exception = False
    body = json.dumps(FILING)[:-1] + f', "{field}": {_nested(500)}}}'

    response = client.post(FILE_URL, body, content_type="application/json")

    assert response.status_code == 400, response.content[:200]
    assert set(response.json()["fields"]) == {field}
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("field", ["category", "lead", "region", "co_handlers"])
def test_an_id_nested_in_lists_is_a_400_when_routing(api, office, appeal_at, field):
    appeal = appeal_at(Appeal.Status.TRIAGE)
    client = api(office)
    client.raise_request_exception = False

    response = client.post(
        f"/api/v1/appeals/{appeal.number}/route/",
        f'{{"{field}": {_nested(500)}}}',
        content_type="application/json",
    )

    assert response.status_code == 400, response.content[:200]
    assert field in response.json()["fields"]
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.TRIAGE


# --- Idempotent retries and the filing limit -----------------------------------------------


def test_retries_with_the_same_key_do_not_count_against_the_filing_limit(api, monkeypatch):
    # DRF reads the rates into a class attribute at import time; the attribute is what counts.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"filing": "2/minute"})
    client = api()

    first = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-1")
    retries = [
        client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-1") for _ in range(3)
    ]
    second = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-2")
    third = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-3")

    assert first.status_code == 201
    assert [r.status_code for r in retries] == [200, 200, 200]
    assert {r.json()["number"] for r in retries} == {first.json()["number"]}
    assert second.status_code == 201
    assert third.status_code == 429 and third.json()["code"] == "throttled"
    assert Appeal.objects.count() == 2


def test_another_callers_key_is_not_a_free_pass(api, enterprise_user, monkeypatch):
    """The key is the caller's own: an anonymous caller naming an account's key still counts."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"filing": "1/minute"})
    api(enterprise_user).post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-1")
    client = api()

    assert client.post(FILE_URL, FILING, format="json").status_code == 201
    stranger = client.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-1")

    assert stranger.status_code == 429


# --- Bodies past Django's limits -------------------------------------------------------------


def _assert_api_shape(response, code: str) -> None:
    assert response.status_code == 400, response.content[:200]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}
    assert body["code"] == code and body["message"]
    assert body["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("content", ["json", "form", "multipart"])
def test_a_body_past_the_upload_limit_is_refused_in_the_api_shape(api, settings, content):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api()
    client.raise_request_exception = False
    big = {**FILING, "content": "长" * 2000}

    if content == "json":
        response = client.post(FILE_URL, json.dumps(big), content_type="application/json")
    elif content == "form":
        response = client.post(
            FILE_URL, urlencode(big), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(FILE_URL, big, format="multipart")

    _assert_api_shape(response, "request_too_large")
    assert not Appeal.objects.exists()


def test_a_form_with_too_many_fields_is_refused_in_the_api_shape(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    client = api()
    client.raise_request_exception = False
    body = urlencode({**FILING, **{f"f{i}": "x" for i in range(20)}})

    response = client.post(FILE_URL, body, content_type="application/x-www-form-urlencoded")

    _assert_api_shape(response, "request_too_large")


def test_a_page_past_the_upload_limit_keeps_the_html_answer(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.raise_request_exception = False

    response = client.post("/accounts/login/", {"username": "x" * 2000, "password": "y"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- Publishing is the office's --------------------------------------------------------------


@pytest.mark.parametrize("persona", ["handler_a", "handler_b", "head_a", "commissioner"])
def test_anyone_but_the_office_is_refused_publicising_with_403(request, api, appeal_at, persona):
    # handler_b cannot see the appeal at all: still 403, the same answer for every number.
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client = api(request.getfixturevalue(persona))

    response = client.post(
        f"/api/v1/appeals/{appeal.number}/publicise/", {"public": True}, format="json"
    )
    unknown = client.post("/api/v1/appeals/XC-2099-999999/publicise/", {"public": True})

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert unknown.status_code == 403
    assert Appeal.objects.get(pk=appeal.pk).on_public_board is False


def test_anyone_but_the_office_is_refused_publishing_a_league_table_with_403(api):
    leader = UserFactory(username="leader", roles=[Role.LEADER])

    response = api(leader).post("/api/v1/league/2026Q1/publish/", format="json")

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
