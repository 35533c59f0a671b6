"""Exports off the request: a list longer than EXPORT_INLINE_MAX_ROWS (and the bulletin) is
built by a task into a file, with progress on the job's page, a download for the requester or
the office only, expiry of old files, and one audit record per export."""

import csv
import dataclasses
import io
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.urls import reverse
from openpyxl import load_workbook

from departments.models import AuditRecord
from departments.roles import Role
from reports import exports, spreadsheets, tasks
from reports.models import ExportJob
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _short_lists_and_media(settings, tmp_path):
    # Three appeals make a "long" list here.
    settings.EXPORT_INLINE_MAX_ROWS = 2
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def three_appeals(travel, file_appeal):
    return [file_appeal(title=f"诉求{i}").appeal for i in range(3)]


def _ask(client, kind="full", fmt="xlsx", **params):
    # As the page's form does: the filters in the URL, the same as the download link's.
    query = urlencode(params, doseq=True)
    return client.post(
        reverse("export_download", args=[kind, fmt]) + (f"?{query}" if query else "")
    )


def _workbook_rows(response) -> list[list]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_a_long_list_is_not_built_in_the_request_but_asked_for_as_a_job(
    client, office, three_appeals, django_capture_on_commit_callbacks
):
    client.force_login(office)

    at_once = client.get(reverse("export_download", args=["full", "xlsx"]), {"status": "triage"})
    page = client.get(at_once["Location"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        asked = _ask(client, status=["triage"])

    # The GET answers with the exports page, not a file; the page offers the background job.
    assert at_once.status_code == 302 and at_once["Location"].startswith(reverse("exports"))
    assert "status=triage" in at_once["Location"]
    assert "超过 2 条" in page.content.decode() and "后台生成 Excel" in page.content.decode()
    # The page's form posts the filters in its URL, as _ask does.
    assert 'action="/board/exports/full.xlsx?status=triage"' in page.content.decode()
    # The POST made a job and left; the file is built only once the task runs.
    job = ExportJob.objects.get()
    assert asked.status_code == 302 and asked["Location"] == reverse("export_job", args=[job.pk])
    assert (job.status, job.file.name, job.filters) == ("queued", "", {"status": ["triage"]})
    assert len(queued) == 1


def test_a_short_list_is_still_sent_at_once(client, office, travel, file_appeal):
    file_appeal()
    client.force_login(office)

    response = client.get(reverse("export_download", args=["full", "csv"]))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert not ExportJob.objects.exists()


def test_the_job_reports_its_progress_then_offers_the_file(
    client, office, three_appeals, monkeypatch, django_capture_on_commit_callbacks
):
    client.force_login(office)
    monkeypatch.setattr(spreadsheets, "PROGRESS_EVERY", 1)
    export = exports.LISTS["full"]
    seen: list[str] = []

    def rows_watched(appeals, *, today):
        for index, row in enumerate(export.rows(appeals, today=today)):
            if index == 3:  # the header and two rows are written: what does the page show?
                job = ExportJob.objects.get()
                seen.append(client.get(reverse("export_job_progress", args=[job.pk])).content)
            yield row

    monkeypatch.setitem(exports.LISTS, "full", dataclasses.replace(export, rows=rows_watched))

    with django_capture_on_commit_callbacks(execute=True):
        job_page = client.get(_ask(client)["Location"])
    job = ExportJob.objects.get()
    finished = client.get(reverse("export_job_progress", args=[job.pk])).content.decode()
    download = client.get(reverse("export_job_file", args=[job.pk]))

    assert job_page.status_code == 200
    midway = seen[0].decode()
    assert "已处理 2 / 3 条" in midway and 'hx-trigger="every 2s"' in midway
    assert job.status == "done" and job.progress_count == 3 and job.expires_at is not None
    # Finished: no more polling, a link to the file.
    assert "hx-trigger" not in finished
    assert reverse("export_job_file", args=[job.pk]) in finished
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    rows = _workbook_rows(download)
    assert rows[0][0] == "登记号" and sorted(r[1] for r in rows[1:]) == ["诉求0", "诉求1", "诉求2"]


def test_a_csv_job_writes_a_csv_file(
    client, office, three_appeals, django_capture_on_commit_callbacks
):
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, "full", "csv")
    job = ExportJob.objects.get()

    text = b"".join(client.get(reverse("export_job_file", args=[job.pk])).streaming_content)

    rows = list(csv.reader(io.StringIO(text.decode("utf-8").lstrip("\ufeff"))))
    assert job.format == "csv" and len(rows) == 1 + 3


def test_the_file_is_refused_to_another_leader_but_given_to_the_office(
    client, office, leader, three_appeals, django_capture_on_commit_callbacks
):
    client.force_login(leader)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client)
    job = ExportJob.objects.get()
    other_leader = UserFactory(username="leader2", roles=[Role.LEADER])

    client.force_login(other_leader)
    refused = [
        client.get(reverse(name, args=[job.pk])).status_code
        for name in ("export_job", "export_job_progress", "export_job_file")
    ]
    client.force_login(office)
    by_office = client.get(reverse("export_job_file", args=[job.pk]))
    client.force_login(leader)
    by_requester = client.get(reverse("export_job_file", args=[job.pk]))

    assert refused == [404, 404, 404]
    assert by_office.status_code == 200 and by_requester.status_code == 200


def test_expired_files_are_deleted_and_a_second_sweep_changes_nothing(
    client, office, three_appeals, travel, settings, django_capture_on_commit_callbacks
):
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client)
    job = ExportJob.objects.get()
    name = job.file.name
    assert default_storage.exists(name)

    travel.shift(timedelta(hours=settings.EXPORT_KEEP_HOURS) - timedelta(minutes=1))
    assert tasks.exports_sweep() == (0, 0)
    assert default_storage.exists(name)
    travel.shift(timedelta(minutes=2))
    first, second = tasks.exports_sweep(), tasks.exports_sweep()

    job.refresh_from_db()
    assert (first, second) == ((1, 0), (0, 0))
    assert not default_storage.exists(name)
    assert (job.status, job.file.name) == ("expired", "")
    client.force_login(office)  # a day later: the idle session has ended
    assert client.get(reverse("export_job_file", args=[job.pk])).status_code == 410


def test_a_job_run_twice_builds_one_file_and_leaves_one_audit_record(
    client, office, three_appeals, django_capture_on_commit_callbacks
):
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=False):
        _ask(client, status=["triage"])
    job = ExportJob.objects.get()

    tasks.export_run(job.pk)
    job.refresh_from_db()
    built = job.file.name
    tasks.export_run(job.pk)
    job.refresh_from_db()

    assert job.status == "done" and job.file.name == built
    assert len(default_storage.listdir(default_storage.path(built).rsplit("/", 1)[0])[1]) == 1
    records = list(AuditRecord.objects.filter(event__startswith="export."))
    assert [(r.event, r.actor, r.outcome) for r in records] == [("export.full", office, "success")]
    assert records[0].detail == {"format": "xlsx", "rows": 3, "filters": {"status": ["triage"]}}


def test_a_job_no_worker_took_is_queued_again_by_the_sweep(
    client, office, three_appeals, travel, django_capture_on_commit_callbacks
):
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got it
        _ask(client)

    early = tasks.exports_sweep()
    travel.shift(timedelta(minutes=6))
    late = tasks.exports_sweep()

    assert early == (0, 0) and late == (0, 1)
    assert ExportJob.objects.get().status == "done"


def test_a_failed_export_says_so_and_is_audited_as_a_failure(
    client, office, three_appeals, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(appeals, *, today):
        yield ("登记号",)
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        exports.LISTS, "full", dataclasses.replace(exports.LISTS["full"], rows=broken)
    )
    client.force_login(office)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client)
    job = ExportJob.objects.get()

    page = client.get(reverse("export_job_progress", args=[job.pk])).content.decode()

    assert job.status == "failed" and "生成失败" in page
    assert AuditRecord.objects.get(event="export.full").outcome == "failure"


def test_the_exports_page_lists_my_jobs(client, office, three_appeals):
    client.force_login(office)
    _ask(client)
    job = ExportJob.objects.get()

    page = client.get(reverse("exports")).content.decode()

    assert "我的导出" in page and reverse("export_job", args=[job.pk]) in page
