"""Scenarios against a real streaming replica, run by tests/replica/test_replica.py in a
pytest whose DATABASE_URL is a throwaway primary and DATABASE_REPLICA_URL its replica. Replay
on the replica is paused to make it lag: what it shows is then visibly older than the primary.
"""

import csv
import io
import os
import time

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from config.middleware import PRIMARY_PIN_COOKIE
from core import db
from departments.models import Department
from reports import jobs
from reports.models import ExportJob
from tests.factories import DepartmentFactory

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("REPLICA_SCENARIOS") != "1", reason="run by tests/replica/test_replica.py"
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


def _replica(sql: str):
    with connections[db.REPLICA].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def _caught_up() -> None:
    assert db._replayed(db.wal_position(), wait=30), "the replica did not catch up"


@pytest.fixture
def lagging():
    """The replica stops replaying here: it shows what was committed until now, no more."""
    _caught_up()
    _replica("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while _replica("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield
    finally:
        _replica("SELECT pg_wal_replay_resume()")


def test_the_replica_is_a_real_streaming_replica():
    assert db.replica_configured()
    assert _replica("SELECT pg_is_in_recovery()") == (True,)
    assert (
        connections[db.REPLICA].settings_dict["PORT"]
        != connections["default"].settings_dict["PORT"]
    )


def test_a_scope_reads_from_the_replica_but_never_inside_a_transaction(lagging):
    DepartmentFactory(code="late")  # on the primary only, for now

    with db.replica_reads() as alias:
        on_replica = Department.objects.filter(code="late").exists()
        with transaction.atomic():
            in_transaction = Department.objects.filter(code="late").exists()
    outside_the_scope = Department.objects.filter(code="late").exists()

    assert alias == db.REPLICA
    assert (on_replica, in_transaction, outside_the_scope) == (False, True, True)


def test_after_a_position_the_scope_waits_for_the_replica_or_reads_the_primary(lagging):
    DepartmentFactory(code="late")
    position = db.wal_position()

    with db.replica_reads(after=position, wait=0.2) as behind:
        seen_while_behind = Department.objects.filter(code="late").exists()
    _replica("SELECT pg_wal_replay_resume()")
    with db.replica_reads(after=position, wait=10) as caught_up:
        seen_once_caught_up = Department.objects.filter(code="late").exists()

    assert (behind, seen_while_behind) == (db.PRIMARY, True)
    assert (caught_up, seen_once_caught_up) == (db.REPLICA, True)


def test_a_user_never_misses_their_own_write(
    client, office, file_appeal, lagging, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(jobs, "REPLICA_WAIT_SECONDS", 0.2)
    for _ in range(2):
        file_appeal()  # while the replica lags: only the primary has these appeals
    client.force_login(office)
    page = reverse("exports")

    asked = client.post(reverse("export_download", args=["full", "csv"]))
    job = ExportJob.objects.get()
    link = reverse("export_job", args=[job.pk])
    cache.clear()  # the browser's pin alone
    pinned_by_browser = client.get(page).content.decode()
    client.cookies.pop(PRIMARY_PIN_COOKIE)
    unpinned = client.get(page).content.decode()
    # The same user writes from elsewhere (another browser, an API client): the user's pin.
    elsewhere = Client()
    elsewhere.force_login(office)
    elsewhere.post(reverse("export_download", args=["closed", "csv"]))
    pinned_by_user = client.get(page).content.decode()
    csv_text = b"".join(client.get(reverse("export_job_file", args=[job.pk])).streaming_content)

    assert asked.status_code == 302 and PRIMARY_PIN_COOKIE in asked.cookies
    # The office's own export job shows on the page it reads next.
    assert link in pinned_by_browser and link in pinned_by_user
    # Without any pin the same page reads the lagging replica, which has not seen the job.
    assert link not in unpinned
    # The job waited for the replica to replay the office's writes, then read the primary:
    # every appeal filed before it was asked for is in the file.
    rows = list(csv.reader(io.StringIO(csv_text.decode("utf-8-sig"))))
    assert job.status == "done" and len(rows) == 1 + 2
