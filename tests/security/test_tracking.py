"""Anonymous tracking (issue #6): a wrong code, an unknown number, or both give the same
answer; repeated failures are throttled; the query code has at least 128 random bits, is
stored hashed, and never appears in a URL or a log."""

import logging
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from appeals.codes import query_code_new, query_code_normalize
from appeals.models import Appeal
from appeals.views.public import TRACK_FAILURES_LIMIT

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _file(client) -> tuple[str, str]:
    response = client.post(
        reverse("appeal_file"),
        {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("appeal_receipt")
    page = client.get(reverse("appeal_receipt")).content.decode()
    number = re.search(r'id="receipt-number">([^<]+)<', page)[1]
    code = re.search(r'id="receipt-code">([^<]+)<', page)[1]
    return number, code


def _html_answer(number: str, code: str) -> tuple[int, str]:
    response = Client().post(reverse("track"), {"number": number, "code": code})
    # The CSRF token differs per response and the form keeps what was typed; a probe must
    # learn nothing from the rest.
    page = CSRF.sub("", response.content.decode()).replace(number, "N").replace(code, "C")
    return response.status_code, page


def _api_answer(number: str, code: str) -> tuple[int, dict]:
    response = APIClient().post("/api/v1/track/", {"number": number, "code": code}, format="json")
    return response.status_code, response.json()


def test_a_wrong_code_an_unknown_number_or_both_give_the_same_answer():
    number, code = _file(Client())
    wrong_code = query_code_new()
    unknown = "XC-2026-999999"
    html = {
        _html_answer(*pair)
        for pair in [(number, wrong_code), (unknown, code), (unknown, wrong_code)]
    }
    assert len(html) == 1
    status, page = html.pop()
    assert status == 400 and "登记号或查询码不正确" in page
    cache.clear()
    api = [
        _api_answer(*pair)
        for pair in [(number, wrong_code), (unknown, code), (unknown, wrong_code)]
    ]
    assert api[0] == api[1] == api[2]
    assert api[0][0] == 404


def test_repeated_failures_are_throttled_even_for_the_right_code_afterwards():
    number, code = _file(Client())
    prober = Client()
    for _ in range(TRACK_FAILURES_LIMIT):
        prober.post(reverse("track"), {"number": number, "code": query_code_new()})
    response = prober.post(reverse("track"), {"number": number, "code": code})
    assert response.status_code == 400
    assert "查询失败次数过多" in response.content.decode()
    # The owner, from another address, is not locked out by the prober.
    owner = Client(REMOTE_ADDR="10.1.2.3")
    assert owner.post(reverse("track"), {"number": number, "code": code}).status_code == 302


def test_the_api_throttles_repeated_tracking_calls(settings):
    number, _code = _file(Client())
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/track/", {"number": number, "code": query_code_new()}, format="json"
        ).status_code
        for _ in range(25)
    ]
    assert statuses[:20] == [404] * 20  # API_TRACKING_RATE: 20/minute
    assert set(statuses[20:]) == {429}


def test_the_code_carries_at_least_128_random_bits():
    codes = [query_code_normalize(query_code_new()) for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    # Base32: 5 bits a character, from the operating system's random source (secrets).
    assert all(len(c) * 5 >= 128 and re.fullmatch(r"[A-Z2-7]+", c) for c in codes)
    assert len(set("".join(codes))) == 32  # every symbol of the alphabet turns up


def test_the_code_is_stored_only_as_a_hash_and_never_appears_in_a_url_or_a_log(caplog):
    caplog.set_level(logging.DEBUG)
    client = Client()
    number, code = _file(client)
    tracked = client.post(reverse("track"), {"number": number, "code": code})
    detail = client.get(tracked["Location"])
    api = APIClient().post("/api/v1/track/", {"number": number, "code": code}, format="json")
    assert detail.status_code == api.status_code == 200

    appeal = Appeal.objects.get(number=number)
    normalized = query_code_normalize(code)
    stored = [str(v) for v in Appeal.objects.filter(pk=appeal.pk).values_list()[0]]
    stored += [str(v) for row in appeal.history.values_list() for v in row]
    assert not any(normalized in v.upper().replace("-", "") for v in stored)
    assert appeal.query_code_hash != normalized and len(appeal.query_code_hash) == 64

    assert code not in tracked["Location"] and normalized not in tracked["Location"]
    assert code not in detail.content.decode()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert code not in logged and normalized not in logged
