"""The English catalogue: pages switch to English, Chinese stays the default, and the
catalogue in locale/en has no untranslated or fuzzy entries and a .mo that matches it."""

import ast
import gettext
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from tests.english import chinese_outside_user_data

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO = LOCALE_DIR / "django.po"
MO = LOCALE_DIR / "django.mo"

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")


def _english_client(via_setlang: bool) -> Client:
    client = Client()
    if via_setlang:
        response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        assert response.status_code == 302
        assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    else:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _po_entries(path: Path) -> list[dict]:
    """The live entries of a .po file (header and obsolete #~ entries left out), each with its
    msgid, its msgstr list (one per plural form) and its flags."""
    entries: list[dict] = []
    entry: dict = {"msgstr": ["?"]}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#~"):
            continue
        if entry["msgstr"] and line.startswith(("#", "msgctxt ", "msgid ")):
            entry = {"msgid": "", "msgstr": [], "flags": set()}
            entries.append(entry)
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if current == "msgid":
                entry["msgid"] += ast.literal_eval(line)
            elif current == "msgstr":
                entry["msgstr"][-1] += ast.literal_eval(line)
        else:
            current, _, value = line.partition(" ")
            if current == "msgid":
                entry["msgid"] = ast.literal_eval(value)
            elif current.startswith("msgstr"):
                current = "msgstr"
                entry["msgstr"].append(ast.literal_eval(value))
    return [e for e in entries if e["msgid"]]


@pytest.mark.django_db
@pytest.mark.parametrize("via_setlang", [True, False], ids=["setlang", "cookie"])
def test_home_page_in_english(via_setlang):
    response = _english_client(via_setlang).get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "File an appeal" in html
    assert "Track progress with a registration number" in html
    assert "我要提诉求" not in html
    assert not chinese_outside_user_data([html])


@pytest.mark.django_db
@pytest.mark.parametrize("via_setlang", [True, False], ids=["setlang", "cookie"])
def test_filing_form_in_english(via_setlang):
    response = _english_client(via_setlang).get("/file/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("File an appeal", "Submit without a name", "Appeal title", "Submit appeal"):
        assert text in html
    for text in ("我要提诉求", "无署名提交", "诉求标题", "诉求内容", "提交诉求"):
        assert text not in html


@pytest.mark.django_db
def test_filing_form_attachment_help_in_english():
    html = _english_client(via_setlang=False).get("/file/").content.decode()
    assert "You may upload PDF" in html
    assert "可上传" not in html


@pytest.mark.django_db
def test_chinese_is_the_default():
    response = Client().get("/")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "我要提诉求" in html
    assert "File an appeal" not in html


@pytest.mark.django_db
def test_switching_back_to_chinese():
    client = _english_client(via_setlang=True)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/file/"})
    html = client.get("/file/").content.decode()
    assert "我要提诉求" in html
    assert "File an appeal" not in html


def test_catalogue_complete():
    entries = _po_entries(PO)
    assert len(entries) > 400
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"])]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"
    header = PO.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "#, fuzzy" not in header


def test_catalogue_placeholders_kept():
    for entry in _po_entries(PO):
        expected = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for msgstr in entry["msgstr"]:
            assert sorted(PLACEHOLDER.findall(msgstr)) == expected, entry["msgid"]


def test_compiled_catalogue_matches_po():
    """The committed .mo is what Django loads: it must hold every translation in the .po."""
    with MO.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    stale = [
        e["msgid"]
        for e in _po_entries(PO)
        if len(e["msgstr"]) == 1 and compiled.gettext(e["msgid"]) != e["msgstr"][0]
    ]
    assert not stale, f"run compilemessages; the .mo is out of date for: {stale[:5]}"


def test_catalogue_passes_msgfmt_check():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) is not installed")
    result = subprocess.run(  # noqa: S603 (msgfmt found on PATH, fixed arguments)
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr


def test_lazy_labels_follow_the_active_language():
    from appeals.models import Appeal

    with translation.override("en"):
        assert str(Appeal._meta.verbose_name) == "Appeal"
        assert str(Appeal.Status.TRIAGE.label) == "Awaiting triage"
    with translation.override("zh-hans"):
        assert str(Appeal._meta.verbose_name) == "诉求"


# --- English staff pages: no Chinese outside user data ----------------------------------------


@pytest.fixture
def english_city(
    commissioner, office, handler_a, head_a, dept_a, dept_b, category, enterprise_user, appeal_at
):
    """A city whose user data (names, titles, texts) is all in English, walked through the loop
    in English: any Chinese left on an English page is the platform's own words."""
    from appeals import services
    from appeals.models import (
        Appeal,
        Enterprise,
        EnterpriseTag,
        Rating,
        Reply,
        TimelineEvent,
    )
    from departments.models import Category, Department, Region
    from reports.boards import board_freeze, board_publish

    # Named in English before the walk: the timeline keeps the names it was written with.
    Region.objects.update(name="Harbour City")
    Department.objects.filter(pk=dept_a.pk).update(name="Housing Bureau")
    Department.objects.filter(pk=dept_b.pk).update(name="Planning Bureau")
    Category.objects.update(name="Urban works")
    dept_a.refresh_from_db()
    dept_b.refresh_from_db()
    with translation.override("en"):
        at_triage = appeal_at(Appeal.Status.TRIAGE)
        in_progress = appeal_at(Appeal.Status.IN_PROGRESS, co_handlers=[dept_b])
        appeal_at(Appeal.Status.REPLIED)
        closed = appeal_at(Appeal.Status.CLOSED)
        services.appeal_flag_blocked(
            actor=office, appeal_id=in_progress.pk, blocked=True, reason="Waiting on the province."
        )
    Enterprise.objects.update(name="Example Tech Ltd", contact_name="Mr Wang")
    Appeal.objects.update(
        title="Power upgrade delayed",
        content="We asked for more power.",
        contact_name="Wang",
        blocked_reason="Waiting on the province.",
    )
    Reply.objects.update(content="Done.", review_note="")
    Rating.objects.update(comment="Thanks.")
    get_user_model().objects.update(first_name="Staff", last_name="Member")
    TimelineEvent.objects.update(note="A note.", internal_note="")
    EnterpriseTag.objects.update(name="Key enterprise")
    Appeal.objects.update(search_text="power upgrade delayed")
    board_freeze()
    board_publish()
    return {
        "triage": at_triage.number,
        "in_progress": in_progress.number,
        "closed": closed.number,
    }


def _english_page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


STAFF_PAGES = [
    ("office", "dashboard", None),
    ("office", "board_appeals", "?status=in_progress&colour=green"),
    ("office", "exports", None),
    ("office", "bulletin", None),
    ("office", "league", None),
    ("office", "lobby", None),
    ("office", "kiosk_list", None),
    ("office", "staff_list", None),
    ("office", "review_queue", None),
    ("office", "appeal_search", "?q=power"),
    ("office", "notifications", None),
    ("commissioner", "triage_queue", None),
    ("commissioner", "staff_file", None),
    ("commissioner", "appeal_detail", "triage"),
    ("handler_a", "inbox", None),
    ("handler_a", "appeal_detail", "in_progress"),
    ("office", "appeal_detail", "closed"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "name", "extra"), STAFF_PAGES)
def test_english_staff_pages_show_no_chinese_outside_user_data(
    request, english_city, persona, name, extra
):
    from django.urls import reverse

    if name == "appeal_detail":
        url = reverse(name, args=[english_city[extra]])
    else:
        url = reverse(name) + (extra or "")

    html = _english_page(request.getfixturevalue(persona), url)

    found = chinese_outside_user_data([html])
    assert not found, f"{url}: {sorted(found)}"


@pytest.mark.django_db
def test_english_lists_say_registered_not_register(english_city, commissioner):
    from django.urls import reverse

    html = _english_page(commissioner, reverse("triage_queue"))

    assert ">Registered<" in html and ">Register<" not in html
