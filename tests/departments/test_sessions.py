"""The session store (departments.sessions.SessionStore): Django's database sessions without
the look-up before a new session's insert, and without a transaction or savepoint of its own
around its one statement. A new session still never takes a key in use, in a transaction or outside one."""

from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.writes import Writes
from departments.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_one_insert():
    store = SessionStore()
    store["receipt"] = {"number": "XC-2026-000001"}

    with CaptureQueriesContext(connection) as ctx:
        store.save()

    # In the test's transaction: no savepoint around it either.
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["INSERT"]
    assert SessionStore(store.session_key)["receipt"] == {"number": "XC-2026-000001"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_a_session_is_written_in_one_statement():
    store = SessionStore()
    store["receipt"] = {"number": "XC-2026-000001"}
    with CaptureQueriesContext(connection) as created:
        store.save()
    store["receipt"] = {"number": "XC-2026-000002"}
    with CaptureQueriesContext(connection) as updated:
        store.save()

    # No BEGIN and COMMIT around it: the statement is its own transaction (autocommit).
    assert [q["sql"].split()[0] for q in created.captured_queries] == ["INSERT"]
    assert [q["sql"].split()[0] for q in updated.captured_queries] == ["UPDATE"]
    assert SessionStore(store.session_key)["receipt"] == {"number": "XC-2026-000002"}


@pytest.mark.parametrize(
    "in_a_transaction",
    [
        pytest.param(True, marks=pytest.mark.django_db),
        pytest.param(
            False, marks=pytest.mark.django_db(transaction=True, serialized_rollback=True)
        ),
    ],
)
def test_a_key_already_taken_is_never_reused(in_a_transaction):
    assert connection.in_atomic_block == in_a_transaction
    taken = SessionStore()
    taken["user"] = "someone else"
    taken.save()
    fresh = "k" * 32
    store = SessionStore()
    store["receipt"] = "mine"

    with mock.patch(
        "departments.sessions.get_random_string", side_effect=[taken.session_key, fresh]
    ):
        store.save()

    assert store.session_key == fresh
    assert SessionStore(taken.session_key)["user"] == "someone else"  # untouched
    assert Session.objects.count() == 2


def test_a_save_that_would_write_what_was_just_written_writes_nothing(
    django_capture_on_commit_callbacks,
):
    store = SessionStore()
    store["receipt"] = {"number": "XC-2026-000001"}
    with django_capture_on_commit_callbacks(execute=True):
        store.save()

    with CaptureQueriesContext(connection) as again:
        store.save()
    store["receipt"] = {"number": "XC-2026-000002"}
    with CaptureQueriesContext(connection) as changed:
        store.save()

    assert not again.captured_queries
    assert [q["sql"].split()[0] for q in changed.captured_queries] == ["UPDATE"]


def test_a_save_rolled_back_is_written_again():
    store = SessionStore()
    store["receipt"] = {"number": "XC-2026-000001"}
    store.save()  # in the test's transaction: its callbacks never run, as after a rollback

    with CaptureQueriesContext(connection) as again:
        store.save()

    assert [q["sql"].split()[0] for q in again.captured_queries] == ["UPDATE"]


def test_a_new_session_saved_with_writes_is_written_when_they_run(
    django_capture_on_commit_callbacks,
):
    store = SessionStore()
    store["receipt"] = {"number": "XC-2026-000001"}
    writes = Writes()

    with django_capture_on_commit_callbacks(execute=True):  # the caller's transaction commits
        with CaptureQueriesContext(connection) as ctx:
            store.save_with(writes)
        assert not ctx.captured_queries  # nothing yet: the row waits for the caller's round trip
        writes.run()

    assert SessionStore(store.session_key)["receipt"] == {"number": "XC-2026-000001"}
    with CaptureQueriesContext(connection) as ctx:
        store.save()  # the session middleware, after the view
    assert not ctx.captured_queries


def test_a_session_with_a_row_saved_with_writes_is_saved_at_once():
    store = SessionStore()
    store.save()
    store["receipt"] = {"number": "XC-2026-000002"}
    writes = Writes()

    store.save_with(writes)

    assert SessionStore(store.session_key)["receipt"] == {"number": "XC-2026-000002"}
    assert writes.run() == []
