"""Every request gets an id that the response returns and every log line of the request
carries; one access line per request without the query string or anything personal; one line
per task, carrying the id of the request that sent it."""

import logging
import re

import pytest
from django.test import Client

from config.logs import current_request_id, request_id_set
from sla import tasks

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_a_safe_incoming_request_id_comes_back_in_the_response():
    response = Client().get("/healthz", headers={"X-Request-ID": "lb-2026-abc-123"})
    assert response["X-Request-ID"] == "lb-2026-abc-123"


@pytest.mark.parametrize(
    "incoming",
    [None, "", "has space", "line\nbreak", "semi;colon", "é-accent", "x" * 65],
    ids=["missing", "empty", "space", "newline", "semicolon", "non-ascii", "too-long"],
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = Client().get("/healthz", headers=headers)
    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_two_requests_get_two_ids_and_none_lingers_after_the_response():
    client = Client()
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second
    assert current_request_id() == ""


def test_one_access_line_per_request_without_query_string_or_personal_data(caplog, enterprise_user):
    client = Client()
    client.force_login(enterprise_user)
    session_key = client.session.session_key
    with caplog.at_level(logging.INFO, logger="qihu.access"):
        response = client.get(
            "/track/?number=XC-2026-000001&code=ABCD-EFGH-IJKL&phone=13805630001",
            headers={"X-Request-ID": "req-access-1"},
        )
    (line,) = [r for r in caplog.records if r.name == "qihu.access"]
    message = line.getMessage()
    assert re.fullmatch(
        rf"GET /track/ {response.status_code} \d+ms user={enterprise_user.pk}", message
    ), message
    assert line.request_id == "req-access-1"
    for secret in (
        "?",
        "XC-2026-000001",
        "ABCD",
        "13805630001",
        enterprise_user.username,
        enterprise_user.first_name,
        session_key,
    ):
        assert secret not in message


def test_an_anonymous_request_is_logged_without_a_user(caplog):
    with caplog.at_level(logging.INFO, logger="qihu.access"):
        Client().get("/healthz")
    (line,) = [r for r in caplog.records if r.name == "qihu.access"]
    assert line.getMessage().endswith(" user=-")


def test_a_path_cannot_forge_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="qihu.access"):
        Client().get("/no-such-page%0AINFO%20forged/")
    (line,) = [r for r in caplog.records if r.name == "qihu.access"]
    assert "\n" not in line.getMessage()
    assert line.getMessage().startswith("GET /no-such-page?INFO forged/ 404 ")


def test_every_line_of_a_request_carries_its_id(caplog):
    # No sweep has run in the test database: /healthz answers 503, which Django logs too.
    with caplog.at_level(logging.INFO):
        response = Client().get("/healthz", headers={"X-Request-ID": "req-every-line"})
    assert response.status_code == 503
    names = {r.name for r in caplog.records}
    assert {"qihu.access", "django.request"} <= names
    assert {r.request_id for r in caplog.records} == {"req-every-line"}


def test_a_task_logs_one_line_with_its_state_and_the_id_of_the_request_that_sent_it(caplog):
    request_id_set("req-sent-the-sweep")
    try:
        with caplog.at_level(logging.INFO, logger="qihu.tasks"):
            tasks.sweep.delay()  # run inline (tests/conftest.py)
    finally:
        request_id_set("")
    (line,) = [r for r in caplog.records if r.name == "qihu.tasks"]
    assert re.fullmatch(r"task sla\.sweep id=\S+ state=SUCCESS duration_ms=\d+", line.getMessage())
    assert line.request_id == "req-sent-the-sweep"
