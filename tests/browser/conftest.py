"""Fixtures of the browser journeys (tests/browser/support.py says what they share).

One Chromium for the whole package, a context per persona; each journey runs against
pytest-django's live server with the demo city (`manage.py demo_data`) in its database."""

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import override_settings

from tests.browser.support import (
    CHINESE,
    CHROMIUM,
    CHROMIUM_ARGS,
    ENGLISH,
    Journey,
    staff_authenticators,
    sync_playwright_or_skip,
)

# A small demo city: every state of the loop, a few appeals of each colour, in a few seconds.
# A journey module may ask for fewer (DEMO_APPEALS = 10) when it needs only the city.
DEMO_APPEALS = 30
# Each journey runs in Chinese, then in English; a module may say otherwise
# (JOURNEY_LANGUAGES = [CHINESE]) when its pages are no one's reading but the guard's.
JOURNEY_LANGUAGES = [CHINESE, ENGLISH]


def pytest_generate_tests(metafunc):
    if "journey_language" in metafunc.fixturenames:
        languages = getattr(metafunc.module, "JOURNEY_LANGUAGES", JOURNEY_LANGUAGES)
        metafunc.parametrize("journey_language", languages)


@pytest.fixture(scope="session", autouse=True)
def _media_url_the_live_server_can_parse():
    """settings.MEDIA_URL is None on purpose (uploads are served only through a view that
    checks access), but Django's LiveServerThread wraps every request in a media-files handler
    that calls urlparse(MEDIA_URL): None gives a bytes path and every request a 500. The server
    builds that handler when it starts (once per session), so the URL is set before then, to a
    path nothing links to."""
    with override_settings(MEDIA_URL="/media-never-served/"):
        yield


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # The live server speaks plain HTTP: secure-only cookies would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def _staff_log_in_with_two_factors(settings):
    # As in production (the demo's default, DEBUG, leaves it off): every staff login in the
    # journeys gives its authenticator's code, or enrols one (Journey.login).
    settings.STAFF_2FA_REQUIRED = True


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(scope="package")
def browser(django_db_setup):
    """Debian's Chromium, started once for all the journeys."""
    sync_playwright = sync_playwright_or_skip()
    # While Playwright runs, the test code runs in another context, where Django's connection
    # handler makes new connection objects: without the data migrations' rows serialized at
    # set-up (`_test_serialized_contents`), so `serialized_rollback` would silently restore
    # nothing and every later test would find the policies, escalation steps and tags gone.
    # Kept on the connection class, every connection object has them.
    connection = connections[DEFAULT_DB_ALIAS]
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is not None:
        type(connection)._test_serialized_contents = contents
    # Playwright's sync API keeps an asyncio loop on the main thread while it runs, and Django
    # refuses ORM calls from a thread with a running loop. The journeys set up data and check
    # the database between browser steps, in plain synchronous code, so allow it for as long
    # as the browser lives (Django documents this switch for exactly such environments).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def journey(request, browser, live_server, journey_language):
    """The journey of this test module (test_<name>.py) in one language: screenshots in
    artifacts/screenshots/<language>/<name>/, and no JavaScript error nor outside request
    anywhere."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    trip = Journey(name=name, browser=browser, base_url=live_server.url, language=journey_language)
    yield trip
    trip.close()
    trip.assert_clean()


@pytest.fixture
def demo_city(request):
    """The demo 宣城市 with a few dozen appeals in every state; the demo logins' password is
    appeals.demo.PASSWORD."""
    appeals = getattr(request.module, "DEMO_APPEALS", DEMO_APPEALS)
    call_command("demo_data", "--appeals", str(appeals), "--force", stdout=StringIO())


@pytest.fixture
def authenticators(demo_city):
    """Every staff user of the demo city has enrolled an authenticator already."""
    staff_authenticators()
