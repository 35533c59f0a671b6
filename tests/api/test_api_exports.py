"""Exports through the API, as a city dashboard would take them: start a job, poll it, then
download its file, with a token; the same jobs, checks and files as the exports page."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from departments.roles import Role
from reports.models import ExportJob
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def appeals(file_appeal):
    with time_machine.travel(NOW, tick=False):
        yield [file_appeal(title=f"诉求{i}").appeal for i in range(3)]


def test_an_office_token_starts_polls_and_downloads_an_export(
    token_api, office, appeals, django_capture_on_commit_callbacks
):
    client, _ = token_api(office, Role.OFFICE)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(
            "/api/v1/exports/",
            {"kind": "full", "format": "csv", "filters": {"status": ["triage"]}},
            format="json",
        )
    assert started.status_code == 202
    job = started.json()
    assert (job["status"], job["file_url"]) == ("queued", None)
    assert client.get(f"/api/v1/exports/{job['id']}/file/").status_code == 404

    for callback in queued:  # the worker runs the task
        callback()
    polled = client.get(f"/api/v1/exports/{job['id']}/").json()
    assert polled["status"] == "done" and polled["progress_count"] == 3
    download = client.get(polled["file_url"])
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert {r[0] for r in rows[1:]} == {a.number for a in appeals}


def test_someone_else_gets_404_for_a_job_and_others_may_not_start_one(api, office, appeals):
    job = api(office).post("/api/v1/exports/", {"kind": "full"}, format="json").json()
    leader = UserFactory(username="leader2", roles=[Role.LEADER])
    assert api(leader).get(f"/api/v1/exports/{job['id']}/").status_code == 404
    assert api(office).get(f"/api/v1/exports/{job['id']}/").status_code == 200
    commissioner = UserFactory(username="c2", roles=[Role.COMMISSIONER])
    answer = api(commissioner).post("/api/v1/exports/", {"kind": "full"}, format="json")
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "full", "filters": {"colour": ["purple"]}}, "filters"),
        ({"kind": "bulletin", "period": "2026Q9"}, "period"),
        ({"kind": "everything"}, "kind"),
    ],
)
def test_bad_filters_are_refused_and_no_job_is_made(api, office, body, field):
    answer = api(office).post("/api/v1/exports/", body, format="json")
    assert answer.status_code == 400 and field in answer.json()["fields"]
    assert not ExportJob.objects.exists()
