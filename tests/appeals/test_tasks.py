"""The appeals app's scheduled tasks, each run twice: the purge of stored filing receipts."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals import tasks
from appeals.models import IdempotencyKey
from config.celery import app
from core.sealing import lookup_hash, seal

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _receipt(key: str, age: timedelta) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        key_hash=lookup_hash(key),
        owner="anon:203.0.113.7",
        request_hash="0" * 64,
        sealed_receipt=seal({"number": "XC-2026-000001"}, secret=key, context="anon:203.0.113.7"),
        created_at=NOW - age,
    )


def test_receipts_older_than_a_day_are_purged_and_fresh_ones_kept():
    _receipt("old", timedelta(hours=25))
    _receipt("just-past", timedelta(hours=24, seconds=1))
    _receipt("fresh", timedelta(hours=1))
    _receipt("almost", timedelta(hours=23, minutes=59))

    with time_machine.travel(NOW, tick=False):
        assert tasks.idempotency_purge.delay().get() == 2
        assert tasks.idempotency_purge.delay().get() == 0

    kept = set(IdempotencyKey.objects.values_list("key_hash", flat=True))
    assert kept == {lookup_hash("fresh"), lookup_hash("almost")}


def test_the_purge_runs_every_hour():
    schedules = [
        entry["schedule"]
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "appeals.idempotency_purge"
    ]
    assert schedules == [3600.0]
