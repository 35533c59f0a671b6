"""Password reset (issue #15): throttled per network address and per account, with the same
answer either way, and audited for each request and each completed reset."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from departments.models import AuditRecord
from departments.password_reset import RESETS_PER_ACCOUNT, RESETS_PER_ADDRESS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
NEW_PASSWORD = "Jingting-Shan-2027!"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _user(n: int):
    return UserFactory(username=f"reset_user_{n}", email=f"user{n}@example.gov.cn")


def _ask(client: Client, email: str):
    response = client.post(RESET, {"email": email})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    return response


def test_one_address_gets_only_so_many_reset_mails_an_hour_whoever_they_are_for():
    users = [_user(n) for n in range(RESETS_PER_ADDRESS + 2)]
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for user in users:
        _ask(stranger, user.email)  # the same answer every time
    assert len(mail.outbox) == RESETS_PER_ADDRESS
    outcomes = list(
        AuditRecord.objects.filter(event="auth.password_reset_requested")
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["success"] * RESETS_PER_ADDRESS + ["locked"] * 2


def test_one_account_gets_only_so_many_reset_mails_an_hour_from_any_addresses():
    user = _user(1)
    for n in range(RESETS_PER_ACCOUNT + 2):
        _ask(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), user.email)
    assert len(mail.outbox) == RESETS_PER_ACCOUNT
    assert (
        AuditRecord.objects.filter(
            event="auth.password_reset_requested", object_id=str(user.pk)
        ).count()
        == RESETS_PER_ACCOUNT + 2
    )


def test_a_completed_reset_leaves_an_audit_record_of_the_account():
    user = _user(1)
    client = Client()
    _ask(client, user.email)
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    record = AuditRecord.objects.get(event="auth.password_reset")
    assert record.actor == user and record.outcome == "success"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
