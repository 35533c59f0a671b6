"""Staff log in with two factors, on a phone: a handler types a wrong code, is refused and
throttled, then gets in with the right one; a colleague's first login enrols an authenticator
and shows the recovery codes, and a later login with one of them gets in and says how many are
left. (The other journeys log in the same way: support.Journey.login.)"""

import time
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.demo import PASSWORD
from tests.browser.support import (
    CHINESE,
    VERIFY_PATH,
    assert_fits_phone,
    assert_reachable_on_phone,
    expect,
    expect_message,
    one_time_code,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DEMO_APPEALS = 5
# Once, in Chinese: every other journey logs in with two factors (Journey.login) in both
# languages.
JOURNEY_LANGUAGES = [CHINESE]


def _password_step(journey, username: str):
    page = journey.page(phone=True)
    page.goto(journey.url("/accounts/login/"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="登录").click()
    return page


def test_staff_give_a_code_after_the_password_and_enrol_on_their_first_login(journey, demo_city):
    handler = get_user_model().objects.get(username="zrj_handler")
    device = TOTPDevice.objects.create(user=handler, name="authenticator")

    # -- a wrong code, refused and throttled; then the right one ------------------------------
    page = _password_step(journey, "zrj_handler")
    assert urlsplit(page.url).path == VERIFY_PATH
    expect(page.get_by_role("heading", name="第二步验证")).to_be_visible()
    assert_fits_phone(page)
    assert_reachable_on_phone(page.get_by_role("button", name="验证"))
    journey.shot(page, "verify")
    page.get_by_label("验证码").fill(f"{(int(one_time_code(device)) + 1) % 10**6:06d}")
    page.get_by_role("button", name="验证").click()
    expect(page.get_by_role("alert").filter(has_text="验证码不正确")).to_be_visible()
    page.get_by_label("验证码").fill(one_time_code(device))
    page.get_by_role("button", name="验证").click()
    expect(page.get_by_role("alert").filter(has_text="错误次数过多")).to_be_visible()
    journey.shot(page, "throttled")
    time.sleep(2)  # one wrong code: the next try waits a second
    page.get_by_label("验证码").fill(one_time_code(device))
    with page.expect_navigation():
        page.get_by_role("button", name="验证").click()
    page.goto(journey.url("/inbox/"))
    assert urlsplit(page.url).path == "/inbox/"
    expect(page.get_by_role("heading", name="市自然资源规划局")).to_be_visible()

    # -- a first login enrols; a later one uses a recovery code ---------------------------
    journey.login("zjj_handler", phone=True)
    codes = list(StaticToken.objects.filter(device__user__username="zjj_handler"))
    assert len(codes) == 10
    page = _password_step(journey, "zjj_handler")
    assert urlsplit(page.url).path == VERIFY_PATH
    page.get_by_label("验证码").fill(codes[0].token.upper())
    with page.expect_navigation():
        page.get_by_role("button", name="验证").click()
    expect_message(page, "还剩 9 个")
    assert_fits_phone(page)
    journey.shot(page, "recovery-code-used")
    assert not StaticToken.objects.filter(pk=codes[0].pk).exists()
