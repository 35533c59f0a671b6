"""The filer keeps the query code: the receipt says it is shown once, has copy buttons and
prints cleanly; the tracking form takes the code as kept (any case, with or without dashes
or spaces), in a field that shows what is typed."""

import re
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appeals.codes import query_code_hash, query_code_new
from appeals.models import Appeal

pytestmark = pytest.mark.django_db


def _file(client):
    response = client.post(
        reverse("appeal_file"),
        {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"},
    )
    assert response.status_code == 302
    page = client.get(reverse("appeal_receipt")).content.decode()
    number = re.search(r'id="receipt-number">([^<]+)<', page)[1]
    code = re.search(r'id="receipt-code">([^<]+)<', page)[1]
    return page, number, code


@pytest.mark.parametrize(
    "kept",
    [
        lambda c: c.lower(),
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", " "),
        lambda c: " " + c.replace("-", "—").lower() + "\n",
        lambda c: c.replace("-", "－"),  # a full-width dash from a Chinese input method
    ],
)
def test_a_code_kept_in_another_form_is_the_same_code(kept):
    code = query_code_new()
    assert query_code_hash(kept(code)) == query_code_hash(code)


def test_different_codes_stay_different():
    assert query_code_hash(query_code_new()) != query_code_hash(query_code_new())


def test_the_tracking_form_takes_the_code_in_lower_case_without_dashes(client):
    _, number, code = _file(client)

    tracker = client.__class__()
    response = tracker.post(
        reverse("track"), {"number": number, "code": code.replace("-", "").lower()}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("track_detail", args=[number])


def test_the_code_field_shows_what_is_typed_and_the_page_is_not_cached(client):
    response = client.get(reverse("track"))
    page = response.content.decode()

    field = re.search(r'<input[^>]*name="code"[^>]*>', page)[0]
    assert 'type="text"' in field and 'autocomplete="off"' in field
    assert 'type="password"' not in page
    assert response["Cache-Control"] == "no-store"


def test_the_receipt_says_plainly_the_code_is_shown_once_and_offers_copy_and_print(client):
    page, _, _ = _file(client)

    assert "查询码只显示这一次" in page
    for target in re.findall(r'data-copy-text="([^"]+)"', page):
        assert f'id="{target}"' in page
    assert sorted(re.findall(r'data-copy-text="([^"]+)"', page)) == [
        "receipt-code",
        "receipt-number",
    ]
    assert "data-print" in page
    # Under the CSP nothing on the page may be inline script.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_the_receipt_and_the_tracking_form_in_english_show_no_chinese(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page, _, _ = _file(client)
    page = page.replace("报装迟迟未办理", "")  # the filer's own title
    page += client.get(reverse("track")).content.decode()

    assert "shown only this once" in page and "Copy" in page
    assert set(re.findall(r"[\u3400-\u9fff]+", page)) <= {"中文"}


def test_a_receipt_that_cannot_be_kept_files_nothing(client):
    """The receipt is kept with the appeal in one transaction: a filer whose query code could
    not be kept does not leave an appeal behind that nobody can track."""
    with mock.patch(
        "departments.sessions.SessionStore.save_with", side_effect=OperationalError("gone")
    ):
        response = client.post(
            reverse("appeal_file"),
            {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"},
        )

    assert response.status_code == 503
    assert not Appeal.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_receipt_commits_with_the_appeal():
    client = Client()
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(
            reverse("appeal_file"),
            {"is_anonymous": "on", "title": "报装迟迟未办理", "content": "三个月无进展。"},
        )

    assert response.status_code == 302
    round_trips = [q["sql"] for q in ctx.captured_queries]
    commits = [i for i, sql in enumerate(round_trips) if sql == "COMMIT"]
    session_writes = [
        i
        for i, sql in enumerate(round_trips)
        for statement in sql.split(";\n")  # the statements a round trip ran together
        if statement.startswith(('INSERT INTO "django_session"', 'UPDATE "django_session"'))
    ]
    assert len(commits) == 1 and session_writes and max(session_writes) < commits[0]
    assert not [sql for sql in round_trips if sql.startswith("SAVEPOINT")]  # nor round trips
    if connection.vendor == "postgresql":
        # The new session's row goes in the round trip of the filing's own rows.
        (together,) = session_writes
        assert 'INSERT INTO "appeals_timelineevent"' in round_trips[together]
    page = client.get(reverse("appeal_receipt")).content.decode()
    assert Appeal.objects.get().number in page
