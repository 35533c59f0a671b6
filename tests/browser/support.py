"""What every browser journey shares: Debian's Chromium driven by Playwright for Python, a
guard that fails the journey on any JavaScript error (a Content-Security-Policy violation
included), any script, style sheet, image or fetch that fails, any server error, and any
request to a host other than the live server; logins through the real login form, with the
staff's second factor (the code an authenticator app would show, computed from the device's
key; a user without a device enrols one on the way); numbered screenshots.

Each journey runs in Chinese and again in English, from the same code: it finds buttons, labels
and messages by their Chinese msgid through Django's own catalogue (`t("签收")`, gettext in the
journey's language), so an English page without its translation fails the locator; a visitor
chooses English with the top bar's language switch, as a user does; and at each screenshot an
English page may show no Chinese outside user data (tests/english.py).

Screenshots go to artifacts/screenshots/<language>/<journey>/<nn>-<step>.png (git-ignored; CI
keeps the artifacts/ folder)."""

import os
import struct
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import translation

from appeals.demo import PASSWORD as DEMO_PASSWORD
from tests.english import NOT_ENGLISH, chinese_outside_user_data

VERIFY_PATH = "/accounts/two-factor/"
ENROL_PATH = "/accounts/two-factor/setup/"

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail under REQUIRE_SERVICES=1) before a test runs
    expect = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
# A phone: the public form and the tracking page must work at 375 px.
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
PHONE_WIDTH = PHONE["viewport"]["width"]
HTTP_STATUS_LOGGED = "Failed to load resource: the server responded with a status of"
CHINESE = "zh-hans"
ENGLISH = "en"
# The browser's own locale in each run (dates and numbers the browser formats itself).
BROWSER_LOCALE = {CHINESE: "zh-CN", ENGLISH: "en-US"}
# The language of the journey running now: what t() translates into.
_running = {"language": CHINESE}


def t(msgid: str, **params) -> str:
    """The platform's text `msgid` (its Chinese source) as the running journey's pages show
    it: gettext under the journey's language, `params` filled in. In English, a msgid with no
    English in the catalogue fails here, so a missing translation is a failing locator rather
    than a check quietly looking for the Chinese."""
    language = _running["language"]
    with translation.override(language):
        text = translation.gettext(msgid)
    _translated(msgid, text, language)
    return text % params if params else text


def tn(singular: str, plural: str, count: int, **params) -> str:
    """t() for a msgid with a plural ({% blocktranslate count %}); `params` name the count."""
    language = _running["language"]
    with translation.override(language):
        text = translation.ngettext(singular, plural, count)
    _translated(singular, text, language)
    return text % params


def p(mark: str) -> str:
    """A Chinese punctuation mark as the running journey's pages write it ({% punct %})."""
    from appeals.templatetags.appeals_tags import punct

    with translation.override(_running["language"]):
        return punct(mark)


def _translated(msgid: str, text: str, language: str) -> None:
    if language != CHINESE and NOT_ENGLISH.search(text):
        pytest.fail(f"no {language} translation of {msgid!r} in the catalogue")


def in_english() -> bool:
    return _running["language"] == ENGLISH


def sync_playwright_or_skip():
    """sync_playwright, or skip (fail when REQUIRE_SERVICES=1) if the browser stack is absent."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed"
    else:
        if not CHROMIUM.exists():
            missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is None:
        return sync_playwright
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {missing}")
    pytest.skip(f"browser tests need a browser: {missing}")


def open_phone_menu(page, name: str) -> None:
    """On a phone, open the collapsed top bar and wait until it has opened: Bootstrap animates
    it ("collapsing") first, and a press inside it during the animation could land on nothing
    (CI once waited 10 s for the language switch's navigation)."""
    page.get_by_role("button", name=name).click()
    expect(page.locator("#nav.collapse.show")).to_be_visible()


class Journey:
    """One user journey: browser contexts (one per persona), the guard over all of them, and
    the journey's screenshots."""

    def __init__(self, *, name: str, browser, base_url: str, language: str = CHINESE):
        self.name = name
        self.language = language
        _running["language"] = language
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self.origin = urlsplit(self.base_url).netloc
        self.problems: list[str] = []
        self.contexts: list = []
        self.shots = 0
        self.folder = SCREENSHOTS / language / name
        for old in self.folder.glob("*.png"):  # a previous run's, which may have had more
            old.unlink()

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- browsers -------------------------------------------------------------------------

    def page(self, *, phone: bool = False):
        """A page in a fresh context (its own cookies: a new visitor), watched by the guard;
        in the English run the visitor has chosen English in the top bar."""
        context = self.browser.new_context(
            locale=BROWSER_LOCALE[self.language],
            accept_downloads=True,
            **(PHONE if phone else DESKTOP),
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        # Nothing leaves the site: a request to any other host is recorded and refused.
        context.route(lambda url: self._foreign(url), self._refuse)
        context.on("page", self._watch)
        context.on("response", self._check_response)
        page = context.new_page()
        if self.language != CHINESE:
            self._choose_language(page, phone=phone)
        return page

    def _choose_language(self, page, *, phone: bool) -> None:
        """What a visitor does on the Chinese home page: (on a phone, open the menu and) press
        the language switch, which offers the other language by its own name."""
        page.goto(self.url("/"))
        if phone:
            open_phone_menu(page, "菜单")
        name = {ENGLISH: "English"}[self.language]
        with page.expect_navigation():
            page.get_by_role("button", name=name, exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", self.language)

    def login(self, username: str, *, password: str = DEMO_PASSWORD, phone: bool = False):
        """A page logged in as `username` through the real login form, on the role's home."""
        page = self.page(phone=phone)
        page.goto(self.url("/accounts/login/"))
        page.get_by_label(t("用户名")).fill(username)
        page.get_by_label(t("密码")).fill(password)
        with page.expect_navigation():
            page.locator("main").get_by_role("button", name=t("登录")).click()
        assert urlsplit(page.url).path != "/accounts/login/", f"{username} could not log in"
        if urlsplit(page.url).path == ENROL_PATH:
            self._enrol(page, username, phone=phone)
        elif urlsplit(page.url).path == VERIFY_PATH:
            page.get_by_label(t("验证码")).fill(one_time_code(_authenticator_of(username)))
            with page.expect_navigation():
                page.get_by_role("button", name=t("验证")).click()
        assert urlsplit(page.url).path not in (VERIFY_PATH, ENROL_PATH), f"{username}: no 2FA"
        return page

    def _enrol(self, page, username: str, *, phone: bool) -> None:
        """A first login: scan the QR code (here: read the key), type the app's code, keep the
        ten recovery codes shown once, go on."""
        expect(page.get_by_role("heading", name=t("设置身份验证器"))).to_be_visible()
        expect(page.get_by_role("img", name=t("身份验证器二维码"))).to_be_visible()
        if phone:
            assert_fits_phone(page)
        self.shot(page, f"enrol-{username}")
        device = _authenticator_of(username, confirmed=False)
        page.get_by_label(t("6位验证码")).fill(one_time_code(device))
        page.get_by_role("button", name=t("完成设置")).click()
        expect(page.get_by_role("heading", name=t("身份验证器已设置"))).to_be_visible()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        if phone:
            assert_fits_phone(page)
        self.shot(page, f"recovery-codes-{username}")
        with page.expect_navigation():
            page.get_by_role("link", name=t("我已保存，继续")).click()

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # -- the guard ------------------------------------------------------------------------

    def _foreign(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("data", "blob", "about") and parts.netloc != self.origin

    def _refuse(self, route) -> None:
        self.problems.append(f"request outside the site: {route.request.url}")
        route.abort()

    def _check_response(self, response) -> None:
        # A page answered 400 (a form with errors, shown again) or 404 is the site at work; a
        # script, style sheet, image or fetch that fails, or any server error, is a fault.
        failed = response.status >= 500 or (
            response.status >= 400 and response.request.resource_type != "document"
        )
        if failed:
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def _watch(self, page) -> None:
        def console(message):
            # Chromium also logs every 4xx/5xx response as a console error, the page's own
            # included; _check_response judges those.
            if message.type == "error" and not message.text.startswith(HTTP_STATUS_LOGGED):
                self.problems.append(f"console error on {page.url}: {message.text}")

        page.on("console", console)
        page.on(
            "pageerror", lambda error: self.problems.append(f"page error on {page.url}: {error}")
        )

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)

    # -- screenshots ----------------------------------------------------------------------

    def shot(self, page, step: str) -> Path:
        """Save the whole page as <nn>-<step>.png, after checking nothing went wrong so far
        and, in English, that the page shows no Chinese outside user data."""
        self.assert_clean()
        if self.language == ENGLISH:
            assert_english(page)
        self.shots += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.shots:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


# Every piece of text a page holds, one string per block (an inline element such as a search
# hit's <mark> stays part of its sentence): the <title> and hidden menus included, not scripts,
# styles or what is typed in a text box; the strings inside its JSON data islands (chart data);
# and the attributes a reader meets (placeholders, tooltips, screen-reader labels, buttons).
_PAGE_TEXTS = """() => {
  const blocks = new Map();
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    let block = walker.currentNode.parentElement;
    if (!block || block.closest("script, style, textarea")) { continue; }
    while (block.parentElement && getComputedStyle(block).display === "inline") {
      block = block.parentElement;
    }
    blocks.set(block, (blocks.get(block) || "") + walker.currentNode.data);
  }
  const texts = [...blocks.values()];
  const leaves = value => typeof value === "string" ? texts.push(value)
    : value && typeof value === "object" ? Object.values(value).forEach(leaves) : null;
  document.querySelectorAll('script[type="application/json"]').forEach(
    script => leaves(JSON.parse(script.textContent)));
  const attributes = ["placeholder", "title", "aria-label", "alt", "data-copied"];
  document.querySelectorAll("*").forEach(element => {
    attributes.forEach(name => element.hasAttribute(name) && texts.push(element.getAttribute(name)));
    if (element.matches("input[type=submit], input[type=button]")) { texts.push(element.value); }
  });
  return texts;
}"""

# What people wrote or named, which stays in their language on an English page.
USER_DATA = {
    "departments.Region": ["name"],
    "departments.Department": ["name"],
    "departments.Category": ["name"],
    "appeals.EnterpriseTag": ["name"],
    "appeals.Enterprise": ["name", "contact_name"],
    "appeals.Appeal": [
        "enterprise_name",
        "contact_name",
        "title",
        "content",
        "triage_explanation",
        "blocked_reason",
    ],
    "appeals.Assignment": ["return_reason"],
    "appeals.Opinion": ["content"],
    "appeals.Reply": ["content", "review_note"],
    "appeals.Rating": ["comment"],
    "appeals.FollowUp": ["content"],
    "appeals.Attachment": ["original_name"],
    "appeals.TimelineEvent": ["note", "internal_note"],
    "appeals.ExtensionRequest": ["reason", "decision_note"],
    "leads.Lead": ["place", "description", "close_reason", "attachment_name"],
    "leads.Referral": ["referred_to", "what"],
    "engagement.Meeting": ["title", "place", "presiding_leader"],
    "engagement.Grid": ["name", "park"],
    "engagement.Contact": ["summary"],
    "reports.KioskLink": ["label"],
    "sla.CalendarOverride": ["name"],
    # Named by the office in the admin, like the categories (seeded in Chinese by a migration).
    "sla.EscalationStep": ["name"],
}


def user_data() -> set[str]:
    """Every piece of user data in the database, each person's name as pages show it, and
    each contact name as a page masks it (张**)."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from appeals.models import Appeal, Enterprise, TimelineEvent
    from appeals.validators import mask_name
    from departments.names import person_name

    found: set[str] = set()
    for label, fields in USER_DATA.items():
        for row in apps.get_model(label).objects.values_list(*fields):
            found.update(value for value in row if value)
    found.update(person_name(user) for user in get_user_model().objects.all())
    # What a timeline sentence quotes (a department's name, a note for the enterprise).
    for params in TimelineEvent.objects.values_list("params", flat=True):
        found.update(_strings(params))
    for model in (Appeal, Enterprise):
        found.update(
            mask_name(name) for name in model.objects.values_list("contact_name", flat=True)
        )
    return found


def _strings(value) -> list[str]:
    """The strings inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def user_words() -> set[str]:
    """The words of the appeals' texts as the similar-appeals reasons quote them."""
    from appeals.models import Appeal
    from appeals.text import content_words

    words: set[str] = set()
    for text in Appeal.objects.values_list("search_text", flat=True):
        words |= content_words(text)
    return words


def assert_english(page) -> None:
    """The page shows no Chinese of the platform's own: only user data may be Chinese."""
    texts = page.evaluate(_PAGE_TEXTS)
    data, words = user_data(), user_words()
    found = chinese_outside_user_data(texts, data, words)
    where = [
        " ".join(text.split())[:120]
        for text in texts
        if chinese_outside_user_data([text], data, words)
    ]
    assert not found, f"Chinese on the English page {page.url}: {sorted(found)} in {where}"


def _authenticator_of(username: str, *, confirmed: bool = True):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.get(user__username=username, confirmed=confirmed)


def one_time_code(device) -> str:
    """The code the user's authenticator app shows now (django_otp.oath.TOTP on the device's
    key), or in the next time step when this one's code was already used: the device accepts
    each step once."""
    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    step = max(totp.t(), device.last_t + 1)
    if step > totp.t() + device.tolerance:  # only after a code of the step after next
        time.sleep(device.step)
    totp.time = device.t0 + step * device.step
    return f"{totp.token():0{device.digits}d}"


def staff_authenticators() -> None:
    """A confirmed authenticator for every staff user of the demo city, as if each had
    enrolled already (the commissioner's journey enrols through the page instead)."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from departments.roles import STAFF_ROLES

    staff = get_user_model().objects.filter(groups__name__in=[r.value for r in STAFF_ROLES])
    for user in staff.distinct():
        TOTPDevice.objects.get_or_create(user=user, defaults={"name": "authenticator"})


def assert_fits_phone(page) -> None:
    """No horizontal scrolling at phone width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide at {PHONE_WIDTH} px"


def assert_reachable_on_phone(button) -> None:
    """The button is visible, inside the screen's width, and can be clicked (not covered)."""
    expect(button).to_be_visible()
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, box
    button.click(trial=True)


def tiny_png() -> bytes:
    """A real 1×1 PNG, for an upload the platform checks by its bytes."""
    row = b"\x00\xff\x00\x00"  # filter byte, one red pixel
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(row))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def expect_message(page, text: str) -> None:
    """The page shows `text` as a message (Django's messages framework, role="alert")."""
    expect(page.get_by_role("alert").filter(has_text=text)).to_be_visible()
