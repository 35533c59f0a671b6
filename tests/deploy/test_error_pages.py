"""Error pages: a generic message in the user's language; for a failure, the request id (so
the user can quote it, and the people on call find its log lines) and nothing of the error."""

import pytest
from django.conf import settings
from django.test import Client

from tests.deploy.urls_failing import SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_site(settings):
    settings.ROOT_URLCONF = "tests.deploy.urls_failing"
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_a_failure_shows_a_generic_page_with_the_request_id_and_nothing_of_the_error(
    failing_site,
):
    response = failing_site.get("/fail/", headers={"X-Request-ID": "req-quote-me-42"})
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-quote-me-42"
    page = response.content.decode()
    assert "系统出错" in page and "req-quote-me-42" in page
    for leak in (*SECRET.split(), "RuntimeError", "Traceback", "failing_view", "database"):
        assert leak not in page


def test_the_failure_page_follows_the_chosen_language(failing_site):
    failing_site.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = failing_site.get("/fail/", headers={"X-Request-ID": "req-en-1"}).content.decode()
    assert "Something went wrong" in page and "req-en-1" in page


def test_a_failure_in_the_api_answers_in_the_api_s_shape_with_the_request_id(failing_site):
    response = failing_site.get("/api/v1/fail/", headers={"X-Request-ID": "req-api-7"})
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "系统出错，请稍后再试。",
        "request_id": "req-api-7",
    }


def test_a_missing_page_and_a_refusal_are_the_site_s_own_generic_pages(client, commissioner):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "页面不存在" in missing.content.decode()

    client.force_login(commissioner)
    refused = client.get("/my/")  # an enterprise's page
    assert refused.status_code == 403
    assert "没有权限" in refused.content.decode()
