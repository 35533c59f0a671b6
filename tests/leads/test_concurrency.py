"""A lead is checked once even when two of the office act on it at the same moment.
PostgreSQL only: SQLite ignores select_for_update."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from appeals.models import Appeal
from core.errors import ServiceError
from departments.roles import Role
from leads.models import Lead, Referral
from leads.services import lead_close, lead_refer, lead_to_appeal
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locking (select_for_update) is only exercised on PostgreSQL; "
        "run with DATABASE_URL=postgres://…",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_simultaneous_checks_of_one_lead_let_exactly_one_through(file_lead, office):
    other = UserFactory(username="office2", roles=[Role.OFFICE])
    User = get_user_model()
    checks = {
        "appeal": lambda actor, pk: lead_to_appeal(
            actor=actor, lead_id=pk, title="窗口违规收费", content="请核查窗口收费。"
        ),
        "refer": lambda actor, pk: lead_refer(
            actor=actor, lead_id=pk, referred_to="市纪委监委", what="收费线索"
        ),
        "close": lambda actor, pk: lead_close(actor=actor, lead_id=pk, reason="经核查不属实。"),
    }
    for first, second in (("appeal", "close"), ("refer", "appeal"), ("close", "refer")):
        lead = file_lead()
        made_before = Appeal.objects.count() + Referral.objects.count()
        start = threading.Barrier(2, timeout=30)

        def check(args, lead_id=lead.pk, start=start) -> str:
            user_id, kind = args
            actor = User.objects.get(pk=user_id)
            start.wait()
            try:
                checks[kind](actor, lead_id)
            except ServiceError as error:
                return error.code
            finally:
                connection.close()
            return "done"

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(check, [(office.pk, first), (other.pk, second)]))
        assert outcomes == ["done", "invalid_transition"]
        lead.refresh_from_db()
        assert lead.history.exclude(history_change_reason="filed").count() == 1
        # One outcome recorded: at most one appeal or referral made, never both.
        assert Appeal.objects.count() + Referral.objects.count() - made_before <= 1
    assert Lead.objects.exclude(status=Lead.Status.SUBMITTED).count() == 3
