"""Staff log in with two factors (issue #15, 等保 level 3, GB/T 22239 §8.1.4.1 d): after the
password, a staff session reaches nothing but the second-factor pages until it gives a code
from its authenticator app or a recovery code; a user without an authenticator enrols one and
is shown ten recovery codes once. Wrong codes are throttled; enterprise accounts and API
tokens are never asked; with STAFF_2FA_REQUIRED off (the demo) nobody is."""

import os
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from departments.models import AuditRecord
from departments.roles import Role
from departments.tokens import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 18, 2, 0, 0, tzinfo=UTC)
VERIFY = "/accounts/two-factor/"
ENROL = "/accounts/two-factor/setup/"


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True


@pytest.fixture
def admin_user(db):
    """Someone who may open the admin and holds no role: asked all the same."""
    return UserFactory(username="configurer", is_staff=True)


def _code(device: TOTPDevice, *, at: datetime | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = (at or datetime.now(tz=UTC)).timestamp()
    return f"{totp.token():0{device.digits}d}"


def _authenticator(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def _recovery_codes(user, codes=("abcd2efg", "hijk3lmn")) -> list[str]:
    device = StaticDevice.objects.create(user=user, name="recovery")
    for code in codes:
        StaticToken.objects.create(device=device, token=code)
    return list(codes)


def _client(user) -> Client:
    """A browser whose user gave the right password (and nothing more yet)."""
    client = Client()
    client.force_login(user)
    return client


# -- the gate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("commissioner", "/triage/"),
        ("handler_a", "/inbox/"),
        ("head_a", "/reviews/"),
        ("office", "/board/"),
        ("office", "/board/exports/"),
        ("admin_user", "/admin/"),
        ("commissioner", "/"),
    ],
)
def test_a_staff_session_without_its_second_factor_is_sent_to_it_from_every_page(
    request, persona, url
):
    user = request.getfixturevalue(persona)
    _authenticator(user)
    response = _client(user).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next={url}"


def test_the_session_api_refuses_a_staff_session_without_its_second_factor(commissioner):
    response = _client(commissioner).get("/api/v1/triage/")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_an_unverified_staff_session_may_still_log_out(commissioner):
    client = _client(commissioner)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_staff_user_without_an_authenticator_is_sent_to_enrol(commissioner):
    response = _client(commissioner).get(f"{VERIFY}?next=/triage/")
    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2Ftriage%2F"


@pytest.mark.parametrize("persona", ["leader", "supervisor"])
def test_leaders_and_supervisors_give_a_second_factor_too(persona):
    user = UserFactory(username=persona, roles=[Role(persona)])
    assert _client(user).get("/board/")["Location"].startswith(VERIFY)


# -- enrolment ----------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_drawn_here_and_the_key_to_type(commissioner):
    page = _client(commissioner).get(ENROL).content.decode()
    device = TOTPDevice.objects.get(user=commissioner)
    assert not device.confirmed
    assert 'src="data:image/svg+xml;base64,' in page
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "请先完成以下设置" in page
    # The same key on a second visit, until a code confirms it.
    _client(commissioner).get(ENROL)
    assert list(TOTPDevice.objects.filter(user=commissioner)) == [device]


def test_enrolment_confirms_the_authenticator_and_shows_ten_recovery_codes_once(commissioner):
    client = _client(commissioner)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=commissioner)
    response = client.post(ENROL, {"code": _code(device), "next": "/triage/"})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    stored = set(StaticToken.objects.filter(device__user=commissioner).values_list("token", flat=1))
    assert len(stored) == 10
    shown = {code.replace("-", "") for code in response.context["codes"]}
    assert shown == stored
    assert client.get("/triage/").status_code == 200
    assert AuditRecord.objects.filter(
        event="auth.second_factor_enrol", actor=commissioner, outcome="success"
    ).exists()


def test_a_wrong_code_does_not_enrol(commissioner):
    client = _client(commissioner)
    client.get(ENROL)
    response = client.post(ENROL, {"code": "000000"})
    assert response.status_code == 400
    assert "验证码不正确" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=commissioner, confirmed=True).exists()
    assert client.get("/triage/").status_code == 302


def test_a_password_alone_cannot_enrol_a_second_authenticator(commissioner):
    # Else a stolen password would be enough to add the thief's phone.
    _authenticator(commissioner)
    response = _client(commissioner).get(ENROL)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=commissioner).count() == 1


# -- each login ---------------------------------------------------------------------------


def test_the_right_code_lets_a_staff_user_in_and_is_audited(handler_a):
    device = _authenticator(handler_a)
    client = _client(handler_a)
    old_session = client.session.session_key
    response = client.post(VERIFY, {"code": _code(device), "next": "/inbox/"})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200
    assert client.session.session_key != old_session  # a new id as the session gains rights
    record = AuditRecord.objects.get(event="auth.second_factor")
    assert (record.actor, record.outcome, record.detail) == (
        handler_a,
        "success",
        {"method": "totp"},
    )


def test_a_wrong_code_is_refused_and_wrong_codes_are_throttled(handler_a):
    device = _authenticator(handler_a)
    with time_machine.travel(NOW, tick=False) as clock:
        client = _client(handler_a)
        wrong = client.post(VERIFY, {"code": f"{(int(_code(device)) + 1) % 10**6:06d}"})
        assert wrong.status_code == 400
        assert "验证码不正确" in wrong.content.decode()
        # At once, even the right code waits for the throttle (1 s after one failure).
        throttled = client.post(VERIFY, {"code": _code(device)})
        assert throttled.status_code == 400
        assert "错误次数过多" in throttled.content.decode()
        assert client.get("/inbox/").status_code == 302
        clock.shift(timedelta(seconds=2))
        assert client.post(VERIFY, {"code": _code(device)}).status_code == 302
        assert client.get("/inbox/").status_code == 200
    outcomes = list(
        AuditRecord.objects.filter(event="auth.second_factor")
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["failure", "locked", "success"]


def test_the_throttle_doubles_with_each_wrong_code_in_a_row(handler_a, settings):
    device = _authenticator(handler_a)
    assert settings.OTP_TOTP_THROTTLE_FACTOR >= 1
    with time_machine.travel(NOW, tick=False) as clock:
        client = _client(handler_a)
        for wait in (1, 2, 4):
            client.post(VERIFY, {"code": "000000"})
            clock.shift(timedelta(seconds=wait - 0.5))
            assert "错误次数过多" in client.post(VERIFY, {"code": _code(device)}).content.decode()
            clock.shift(timedelta(seconds=0.5))
    device.refresh_from_db()
    assert device.throttling_failure_count == 3


def test_a_recovery_code_works_once(handler_a):
    _authenticator(handler_a)
    code, _other = _recovery_codes(handler_a)
    first = _client(handler_a)
    response = first.post(VERIFY, {"code": f"{code[:4]}-{code[4:].upper()}", "next": "/inbox/"})
    assert response.status_code == 302
    assert first.get("/inbox/").status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()
    again = _client(handler_a)
    assert again.post(VERIFY, {"code": code}).status_code == 400
    assert again.get("/inbox/").status_code == 302
    assert AuditRecord.objects.filter(
        event="auth.second_factor", outcome="success", detail={"method": "recovery"}
    ).exists()


def test_a_code_for_one_user_does_not_let_another_in(handler_a, handler_b):
    other = _authenticator(handler_a)  # the first device of all: no accidental pick
    _authenticator(handler_b)
    client = _client(handler_b)
    assert client.post(VERIFY, {"code": _code(other)}).status_code == 400
    assert client.get("/inbox/").status_code == 302


def test_it_never_sends_a_verified_user_to_another_site(handler_a):
    device = _authenticator(handler_a)
    response = _client(handler_a).post(
        VERIFY, {"code": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_the_full_login_asks_for_the_second_factor_after_the_password(handler_a):
    handler_a.set_password("Xuancheng-2026!")
    handler_a.save()
    device = _authenticator(handler_a)
    client = Client()
    login = client.post(
        "/accounts/login/", {"username": "handler_a", "password": "Xuancheng-2026!"}
    )
    assert login.status_code == 302
    home = client.get(login["Location"])
    assert home["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": _code(device)})["Location"] == "/"
    assert client.get("/inbox/").status_code == 200


# -- who is not asked ---------------------------------------------------------------------


def test_an_enterprise_account_is_not_asked(enterprise_user):
    client = _client(enterprise_user)
    assert client.get("/my/").status_code == 200
    assert client.get(VERIFY).status_code == 302  # nothing to do there: sent on
    assert not TOTPDevice.objects.exists()


def test_an_api_token_still_works(handler_a, dept_a):
    _authenticator(handler_a)
    _token, key = api_token_issue(
        actor=handler_a, user=handler_a, role=Role.HANDLER, name="12345热线"
    )
    response = Client().get(
        f"/api/v1/inbox/?department={dept_a.pk}", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200, response.content


def test_with_the_setting_off_no_second_factor_is_asked(settings, commissioner, office):
    settings.STAFF_2FA_REQUIRED = False
    _authenticator(office)  # even a user who has an authenticator
    assert _client(commissioner).get("/triage/").status_code == 200
    assert _client(office).get("/board/").status_code == 200
    assert _client(commissioner).get(ENROL).status_code == 302
    assert not TOTPDevice.objects.filter(user=commissioner).exists()


# -- the setting --------------------------------------------------------------------------


def _setting(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STAFF_2FA"))}
    base.update(VAR_DIR=str(tmp_path), DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.STAFF_2FA_REQUIRED)",
        ],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_DEBUG": "false"}, "True"),  # production: on unless said otherwise
        ({"DJANGO_DEBUG": "true"}, "False"),  # bin/serve's demo: off
        ({"DJANGO_DEBUG": "true", "STAFF_2FA_REQUIRED": "true"}, "True"),
    ],
)
def test_the_second_factor_is_on_in_production_and_off_in_the_demo(tmp_path, env, expected):
    result = _setting(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_mistyped_setting_stops_the_start(tmp_path):
    result = _setting(tmp_path, DJANGO_DEBUG="false", STAFF_2FA_REQUIRED="ture")
    assert result.returncode != 0
    assert "STAFF_2FA_REQUIRED" in result.stderr


# -- resetting a lost authenticator -------------------------------------------------------


def test_the_office_may_reset_an_authenticator_but_never_read_its_key(settings, office):
    settings.STAFF_2FA_REQUIRED = False  # the admin page itself, not the gate
    office.is_staff = True
    office.save()
    device = _authenticator(UserFactory(username="lost_phone", roles=[Role.HANDLER]))
    assert office.has_perm("otp_totp.delete_totpdevice")
    assert office.has_perm("otp_static.delete_staticdevice")
    assert not office.has_perm("otp_totp.add_totpdevice")
    assert not office.has_perm("otp_totp.change_totpdevice")
    page = _client(office).get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()


@pytest.mark.parametrize("url", [VERIFY, ENROL])
def test_the_second_factor_pages_speak_english_too(settings, commissioner, url):
    if url == VERIFY:
        _authenticator(commissioner)
    client = _client(commissioner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    main = client.get(url).content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    assert re.findall(r"[\u3400-\u9fff]+", main) == []
