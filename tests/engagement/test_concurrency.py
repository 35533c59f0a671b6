"""Races the row locks must win (PostgreSQL only: SQLite ignores select_for_update)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from appeals.models import Appeal
from core.errors import ServiceError
from engagement import services
from engagement.services import MeetingRow

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locking is only exercised on PostgreSQL; run with DATABASE_URL=postgres://…",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _own_connection(func):
    def run(*args):
        try:
            return func(*args)
        finally:
            connection.close()

    return run


def test_one_table_submitted_twice_at_once_is_registered_once(meeting, office, invited):
    start = threading.Barrier(2, timeout=30)
    rows = [MeetingRow(enterprise_id=e.pk, content="融资难。") for e in invited]

    @_own_connection
    def submit(_n: int) -> str:
        actor = get_user_model().objects.get(pk=office.pk)
        start.wait()
        try:
            services.meeting_appeals_enter(
                actor=actor, meeting_id=meeting.pk, rows=rows, batch_key="same-table"
            )
        except ServiceError as error:
            return error.code
        return "entered"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(submit, [1, 2]))
    assert outcomes == ["batch_already_entered", "entered"]
    assert Appeal.objects.count() == 2


def test_two_clicks_at_once_raise_one_appeal_from_a_contact(commissioner, grid_enterprise):
    contact = services.contact_log(
        actor=commissioner,
        enterprise_id=grid_enterprise.pk,
        kind="visit",
        contacted_on=timezone.localdate(),
        summary="用地指标不足。",
    )
    start = threading.Barrier(2, timeout=30)

    @_own_connection
    def raise_it(_n: int) -> str:
        actor = get_user_model().objects.get(pk=commissioner.pk)
        start.wait()
        try:
            services.contact_raise_appeal(
                actor=actor, contact_id=contact.pk, title="用地", content="用地指标不足。"
            )
        except ServiceError as error:
            return error.code
        return "raised"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(raise_it, [1, 2]))
    assert outcomes == ["already_raised", "raised"]
    assert Appeal.objects.count() == 1
