"""Accounts (issue #6): login lockout after repeated failures (django-axes), the 等保 level-3
password rules, the idle-session timeout, a new session id at login, and every other session
of a user signed out when the password changes. Each login, failure and lockout leaves one
audit record."""

import time

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from departments.models import AuditRecord
from departments.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Xuancheng-2026!"
LOGIN = "/accounts/login/"


@pytest.fixture
def officer(db):
    user = UserFactory(username="zrj_handler", roles=[Role.HANDLER])
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def _logged_in(client) -> bool:
    return client.get(reverse("notifications")).status_code == 200


def test_an_account_is_locked_after_five_failures_even_with_the_right_password(officer, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, officer.username, "wrong-guess").status_code == 200
    locked = _login(client, officer.username, "wrong-guess")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "账号已被暂时锁定" in page and "30 分钟" in page
    # From that address, even with the right password: still locked.
    assert _login(client, officer.username, PASSWORD).status_code == 429
    assert not _logged_in(client)


def test_a_stranger_cannot_keep_an_account_locked_out_from_another_address(officer, settings):
    stranger = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        _login(stranger, officer.username, "wrong-guess")
    assert _login(stranger, officer.username, PASSWORD).status_code == 429
    owner = Client(REMOTE_ADDR="10.9.9.9")  # the owner, at the office
    assert _login(owner, officer.username, PASSWORD).status_code == 302
    assert _logged_in(owner)


def test_the_lock_lifts_after_the_cool_off(officer, settings):
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        client = Client()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _login(client, officer.username, "wrong-guess")
        assert _login(client, officer.username, PASSWORD).status_code == 429
        traveller.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 60)
        assert _login(client, officer.username, PASSWORD).status_code == 302
        assert _logged_in(client)


def test_each_login_failure_and_lockout_leaves_exactly_one_audit_record(officer, settings):
    client = Client()
    assert _login(client, officer.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, officer.username, "wrong-guess")
    _login(client, officer.username, PASSWORD)  # refused: locked
    _login(client, "nobody-such", "x")

    records = list(AuditRecord.objects.filter(event__startswith="auth.").order_by("pk"))
    summary = [(r.event, r.outcome, r.actor_name) for r in records]
    name = officer.username
    assert summary == [
        ("auth.login", "success", name),
        ("auth.logout", "success", name),
        *[("auth.login", "failure", name)] * 4,
        # The fifth failure locks the account: django-axes reports the lockout first.
        ("auth.lockout", "locked", name),
        ("auth.login", "failure", name),
        ("auth.login", "locked", name),
        ("auth.login", "failure", "nobody-such"),
    ]
    assert all(r.ip_address == "127.0.0.1" for r in records)
    assert records[0].actor == officer
    assert not any(PASSWORD in str(r.detail) or "wrong-guess" in str(r.detail) for r in records)


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Xuancheng-2026!", True),
        ("xuancheng2026!", True),  # three classes: lower, digit, symbol
        ("Short-1a", False),  # under 10 characters
        ("xuanchengshi", False),  # one class
        ("xuancheng2026", False),  # two classes
        ("Password1234", False),  # a common password, though of three classes
        ("1234567890123", False),  # digits only
        ("zrj_handler-2026A", False),  # like the user name
    ],
)
def test_passwords_follow_the_level_3_rules(officer, password, accepted):
    try:
        validate_password(password, user=officer)
    except ValidationError:
        assert not accepted
    else:
        assert accepted


def test_the_password_change_page_refuses_a_weak_password_in_chinese(officer):
    client = Client()
    _login(client, officer.username, PASSWORD)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "abcdefgh", "new_password2": "abcdefgh"},
    )
    assert response.status_code == 200
    assert "密码须包含大写字母、小写字母、数字、符号中的至少 3 类" in response.content.decode()


def test_a_session_idle_for_longer_than_the_limit_is_signed_out(officer, settings):
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        client = Client()
        _login(client, officer.username, PASSWORD)
        traveller.shift(settings.SESSION_IDLE_SECONDS - 60)
        assert _logged_in(client)  # working: each request moves the idle clock on
        traveller.shift(settings.SESSION_IDLE_SECONDS - 60)
        assert _logged_in(client)
        traveller.shift(settings.SESSION_IDLE_SECONDS + 1)
        response = client.get(reverse("notifications"))
        assert response.status_code == 302 and LOGIN in response["Location"]


def test_login_issues_a_new_session_id(officer, settings):
    client = Client()
    client.get(reverse("track"))
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-chosen-session-id"
    _login(client, officer.username, PASSWORD)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "attacker-chosen-session-id"
    assert _logged_in(client)


def test_a_password_change_signs_out_every_other_session_of_the_user(officer):
    office_pc, phone = Client(), Client()
    _login(office_pc, officer.username, PASSWORD)
    _login(phone, officer.username, PASSWORD)
    assert _logged_in(office_pc) and _logged_in(phone)
    response = office_pc.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Jingkai-Qu-2027#",
            "new_password2": "Jingkai-Qu-2027#",
        },
    )
    assert response.status_code == 302
    assert _logged_in(office_pc)  # the session that changed it stays signed in
    assert not _logged_in(phone)


def test_the_idle_clock_is_not_written_on_every_request(officer, django_assert_num_queries):
    client = Client()
    _login(client, officer.username, PASSWORD)
    client.get(reverse("notifications"))
    started = time.time()
    # 1. the session, 2. the user, 3. roles, 4. notifications page, 5. unread count: no
    # session write within a minute of the last one.
    with django_assert_num_queries(5, exact=False) as captured:
        client.get(reverse("notifications"))
    if time.time() - started < 50:
        assert not any("UPDATE" in q["sql"] and "django_session" in q["sql"] for q in captured)
