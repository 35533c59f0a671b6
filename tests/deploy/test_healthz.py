"""/healthz: 200 when the database, the broker and the deadline sweep are all fine, 503 naming
the part that is not. Public, and nothing in it about appeals or people.

The broker here is the test settings' embedded file broker, or a Redis port nobody listens on;
test_run_prod.py stops and restarts a real Redis under a running installation."""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from config.celery import app
from sla.models import Heartbeat
from sla.services import heartbeat

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _get() -> tuple[int, dict]:
    response = Client().get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.status_code, response.json()


@pytest.fixture
def swept_just_now():
    with time_machine.travel(NOW, tick=False):
        heartbeat("sla.sweep", NOW - timedelta(seconds=30))
        yield


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_unreachable() -> Iterator[None]:
    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app._pool = None  # forget connections to the previous broker (as Celery does after a fork)
    try:
        yield
    finally:
        app.conf.broker_url = saved
        app._pool = None


def test_it_answers_200_when_every_part_is_fine(swept_just_now):
    assert _get() == (
        200,
        {"status": "ok", "checks": {"database": "ok", "broker": "ok", "beat": "ok"}},
    )


def test_it_needs_no_login_and_says_nothing_but_the_checks(swept_just_now):
    status, body = _get()
    assert status == 200
    assert set(body) == {"status", "checks"}
    assert set(body["checks"]) == {"database", "broker", "beat"}


def test_it_answers_503_with_beat_missing_before_the_first_sweep():
    assert not Heartbeat.objects.exists()
    status, body = _get()
    assert status == 503
    assert body == {
        "status": "fail",
        "checks": {"database": "ok", "broker": "ok", "beat": "missing"},
    }


def test_it_answers_503_with_beat_stale_when_the_sweep_stopped(settings):
    settings.HEALTHZ_BEAT_MAX_AGE_SECONDS = 300
    with time_machine.travel(NOW, tick=False):
        heartbeat("sla.sweep", NOW - timedelta(seconds=301))
        status, body = _get()
    assert status == 503
    assert body["checks"]["beat"] == "stale"
    with time_machine.travel(NOW, tick=False):
        heartbeat("sla.sweep", NOW - timedelta(seconds=299))
        assert _get()[0] == 200


def test_it_answers_503_naming_the_broker_when_the_broker_refuses_connections(
    swept_just_now, broker_unreachable
):
    status, body = _get()
    assert status == 503
    assert body == {"status": "fail", "checks": {"database": "ok", "broker": "fail", "beat": "ok"}}


def test_the_file_broker_counts_as_reachable_while_its_folder_exists(
    swept_just_now, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.conf.broker_transport_options, "data_folder_in", str(tmp_path / "gone"))
    monkeypatch.setattr(app.conf, "broker_url", "filesystem://")
    assert _get()[1]["checks"]["broker"] == "fail"
    (tmp_path / "gone").mkdir()
    assert _get()[1]["checks"]["broker"] == "ok"


def test_it_answers_503_naming_the_database_when_the_database_fails(swept_just_now, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    status, body = _get()
    assert status == 503
    # The beat check reads the heartbeat row through the same connection.
    assert body["checks"]["database"] == "fail" and body["checks"]["beat"] == "fail"
