"""Identifiers and words people type: what is valid passes (full-width digits, spaces, emoji in
prose), the rest is refused with a 400 and a Chinese message — never a 500 — through the API
and the HTML form alike.

Decisions (documented in appeals/validators.py):
- Full-width digits and letters are normalised with NFKC and accepted: Chinese IMEs type them.
- Codes and phone numbers: zero-width characters are removed; emoji and other letters refuse.
- Titles, names and prose accept any printable text including emoji; zero-width characters,
  control characters and bidirectional overrides are removed (not refused), and titles and
  names become one line.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from appeals import services
from appeals.models import Appeal, Notification, Reply
from appeals.services.notify import notifications_redrive
from appeals.validators import clean_prose, clean_words, normalize_phone, validate_phone
from tests import workflow
from tests.appeals.test_validators import PUBLISHED_CODES, full_width

pytestmark = pytest.mark.django_db

VALID_CODE = PUBLISHED_CODES[0]  # the worked example of GB 32100-2015
WRONG_CHECK = VALID_CODE[:17] + ("4" if VALID_CODE[17] != "4" else "5")


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def _signed(**fields) -> dict:
    data = {
        "is_anonymous": False,
        "enterprise_name": "宣城示范科技有限公司",
        "contact_name": "张三",
        "contact_phone": "13805630001",
        "title": "用电增容报装迟迟未办理",
        "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
    }
    data.update(fields)
    return data


def _api_file(**fields):
    # Sent as ASCII JSON ("\\ud800" escapes), the way a client with any string may send it.
    body = json.dumps(_signed(**fields), ensure_ascii=True)
    return APIClient().post(reverse("api_appeal_file"), body, content_type="application/json")


def _form_file(**fields):
    data = {k: v for k, v in _signed(**fields).items() if k != "is_anonymous"}
    return Client().post(reverse("appeal_file"), data)


def _assert_api_refused(response, field: str, words: str) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert field in body["fields"]
    assert words in " ".join(map(str, body["fields"][field])) + body["message"]


# --- Credit codes ---------------------------------------------------------------------------

GOOD_CODES = {
    "worked example": VALID_CODE,
    "another published code": PUBLISHED_CODES[1],
    "lowercase": VALID_CODE.lower(),
    "full-width": full_width(VALID_CODE),
    "zero-width inside": VALID_CODE[:9] + "\u200b" + VALID_CODE[9:],
    "spaces": f" {VALID_CODE[:6]} {VALID_CODE[6:]} ",
}
BAD_CODES = {
    "wrong check character": WRONG_CHECK,
    "emoji": VALID_CODE[:9] + "😀" + VALID_CODE[10:],
    "emoji added": VALID_CODE + "😀",
    "letter O": VALID_CODE[:8] + "O" + VALID_CODE[9:],
    "rtl override inside": VALID_CODE[:9] + "\u202e" + VALID_CODE[9:],
    "arabic-indic digit": VALID_CODE[:3] + "\u0663" + VALID_CODE[4:],
    "17 characters": VALID_CODE[:17],
    "markup": "<script>alert(1)</script>",
}


@pytest.mark.parametrize("case", GOOD_CODES, ids=list(GOOD_CODES))
def test_a_valid_credit_code_is_accepted_through_the_api(case):
    response = _api_file(credit_code=GOOD_CODES[case])
    assert response.status_code == 201, response.content[:300]
    assert Appeal.objects.get().credit_code in (VALID_CODE, PUBLISHED_CODES[1])


@pytest.mark.parametrize("case", BAD_CODES, ids=list(BAD_CODES))
def test_an_invalid_credit_code_is_a_400_naming_the_field_through_the_api(case):
    _assert_api_refused(_api_file(credit_code=BAD_CODES[case]), "credit_code", "统一社会信用代码")
    assert Appeal.objects.count() == 0


@pytest.mark.parametrize("case", ["wrong check character", "emoji", "rtl override inside"])
def test_an_invalid_credit_code_re_renders_the_form_in_chinese_with_the_input_kept(case):
    response = _form_file(credit_code=BAD_CODES[case])
    page = response.content.decode()
    assert response.status_code == 400
    assert "统一社会信用代码" in page and "用电增容报装迟迟未办理" in page
    assert Appeal.objects.count() == 0


# --- Phone numbers --------------------------------------------------------------------------

GOOD_PHONES = {
    "mobile": ("13805630001", "13805630001"),
    "mobile in groups with spaces": ("138 0563 0001", "13805630001"),
    "mobile in groups with dashes": ("138-0563-0001", "13805630001"),
    "mobile with +86": ("+86 138 0563 0001", "13805630001"),
    "full-width mobile": ("１３８０５６３０００１", "13805630001"),
    "landline with area code": ("0571-87654321", "0571-87654321"),
    "landline with a space": ("0571 87654321", "057187654321"),
    "landline run together": ("057187654321", "057187654321"),
    "three-digit area code": ("010-12345678", "010-12345678"),
    "zero-width inside": ("138\u200b0563\u200d0001", "13805630001"),
}
BAD_PHONES = {
    "letters": "1380563000a",
    "emoji": "138😀05630001",
    "too short": "1380563000",
    "too long": "138056300011",
    "12 prefix": "12805630001",
    "landline too short": "0571-123456",
    "no trunk zero": "571-87654321",
    "chinese numerals": "一三八零五六三零零零一",
    "bidi override": "138\u202e05630001",
    "markup": "<img src=x onerror=alert(1)>",
}


@pytest.mark.parametrize("case", GOOD_PHONES, ids=list(GOOD_PHONES))
def test_a_valid_phone_number_is_accepted_and_stored_normalised(case):
    typed, stored = GOOD_PHONES[case]
    validate_phone(typed)
    assert normalize_phone(typed) == stored
    response = _api_file(contact_phone=typed)
    assert response.status_code == 201, response.content[:300]
    assert Appeal.objects.get().contact_phone == stored


@pytest.mark.parametrize("case", BAD_PHONES, ids=list(BAD_PHONES))
def test_an_invalid_phone_number_is_a_400_naming_the_field_through_the_api(case):
    _assert_api_refused(_api_file(contact_phone=BAD_PHONES[case]), "contact_phone", "电话")
    assert Appeal.objects.count() == 0


@pytest.mark.parametrize("case", ["letters", "emoji", "too long"])
def test_an_invalid_phone_number_re_renders_the_form_in_chinese_with_the_input_kept(case):
    response = _form_file(contact_phone=BAD_PHONES[case])
    page = response.content.decode()
    assert response.status_code == 400
    assert "请输入有效的手机号码" in page and "宣城示范科技有限公司" in page


# --- Words: titles, names, prose ------------------------------------------------------------


def test_emoji_in_a_title_and_a_name_are_kept():
    response = _api_file(title="🚧 道路施工围挡三个月未拆 🚧", contact_name="王🌸")
    assert response.status_code == 201
    appeal = Appeal.objects.get()
    assert appeal.title == "🚧 道路施工围挡三个月未拆 🚧" and appeal.contact_name == "王🌸"


def test_zero_width_control_and_bidi_characters_are_removed_from_a_title():
    response = _api_file(
        title="道路\u200b破损\u202e严重\x07\n请修复",
        enterprise_name="\ufeff宣城\u200d示范科技有限公司\u2066",
        content="第一行\r\n第二行\x1b[31m\t完",
    )
    assert response.status_code == 201, response.content[:300]
    appeal = Appeal.objects.get()
    assert appeal.title == "道路破损严重 请修复"
    assert appeal.enterprise_name == "宣城示范科技有限公司"
    assert appeal.content == "第一行\n第二行[31m\t完"


def test_a_title_of_only_invisible_characters_is_refused_as_empty():
    response = _api_file(title="\u200b\u200c\u202e\x00\u2060")
    assert response.status_code == 400
    assert set(response.json()) <= {"code", "message", "fields"}
    assert Appeal.objects.count() == 0


@pytest.mark.parametrize("field", ["title", "content", "contact_name", "enterprise_name"])
@pytest.mark.parametrize("junk", ["\x00", "\ud800"], ids=["nul", "lone surrogate"])
def test_a_nul_or_a_lone_surrogate_in_any_text_field_is_a_400(field, junk):
    """PostgreSQL cannot store NUL and no database can encode a lone surrogate: refused at
    the door, before they reach a query."""
    response = _api_file(**{field: f"道路{junk}破损"})
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_nul_in_a_form_field_re_renders_the_form():
    response = _form_file(title="道路\x00破损")
    assert response.status_code == 400
    assert Appeal.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "one_line", "prose"),
    [
        ("a\r\nb", "a b", "a\nb"),
        ("a\rb", "a b", "a\nb"),
        ("a\tb", "a b", "a\tb"),
        ("\u200ba\u2060", "a", "a"),
        ("a\u202eb\u2066c", "abc", "abc"),
        ("a\x00\x1b\x7fb", "ab", "ab"),
        ("  ＡＢＣ，１２３！  ", "ＡＢＣ，１２３！", "ＡＢＣ，１２３！"),  # prose keeps full width
        ("😀👍🏽", "😀👍🏽", "😀👍🏽"),
    ],
)
def test_words_and_prose_are_cleaned_the_documented_way(typed, one_line, prose):
    assert clean_words(typed) == one_line
    assert clean_prose(typed) == prose


# --- Random input ---------------------------------------------------------------------------

# Any code point, lone surrogates included (JSON can carry them as escapes).
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=120)
_ANY_ID = st.one_of(st.none(), st.integers(), st.text(max_size=25), st.booleans())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=_ANY_TEXT,
    content=_ANY_TEXT,
    enterprise_name=_ANY_TEXT,
    credit_code=_ANY_TEXT,
    contact_name=_ANY_TEXT,
    contact_phone=_ANY_TEXT,
    is_anonymous=st.one_of(st.booleans(), st.text(max_size=5)),
    category=_ANY_ID,
    region=_ANY_ID,
    priority=_ANY_TEXT,
)
def test_random_unicode_in_every_api_filing_field_never_gives_a_500(**fields):
    cache.clear()  # the filing throttle would otherwise answer 429 after 30 examples
    client = APIClient()
    client.raise_request_exception = False
    body = json.dumps(fields, ensure_ascii=True)
    response = client.post(reverse("api_appeal_file"), body, content_type="application/json")
    assert response.status_code in (201, 400), response.content[:300]
    body = response.json()
    if response.status_code == 400:
        assert {"code", "message"} <= set(body) <= {"code", "message", "fields"}


# --- Through the services directly (imports, commands, future callers) ---------------------


def test_a_line_break_in_a_title_never_breaks_the_e_mail_subject(
    settings, file_appeal, walk_to, handler_a
):
    """A subject with a line break makes Django refuse to send (BadHeaderError): the
    notification would fail five times and never arrive."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    handler_a.email = "handler_a@example.cn"
    handler_a.save(update_fields=["email"])
    appeal = file_appeal(title="道路破损\r\nBcc: everyone@example.cn").appeal
    walk_to(appeal, Appeal.Status.ASSIGNED)
    notifications_redrive(now=timezone.now() + timedelta(hours=1))
    assert [m.subject for m in mail.outbox] == [
        f"新交办诉求待签收：{appeal.number} 道路破损 Bcc: everyone@example.cn"
    ]
    assert not Notification.objects.exclude(last_error="").exists()


def test_nul_and_control_characters_from_any_caller_are_removed_before_saving(
    file_appeal, walk_to, handler_a
):
    """The forms and serializers refuse NUL; a service called from elsewhere removes it, so
    PostgreSQL ("cannot contain NUL") never sees one."""
    appeal = file_appeal(
        title="道路\x00破损", content="第一行\x00\n第二行\x1b", contact_name="张\x00三"
    ).appeal
    assert (appeal.title, appeal.content, appeal.contact_name) == (
        "道路破损",
        "第一行\n第二行",
        "张三",
    )
    appeal = walk_to(appeal, Appeal.Status.IN_PROGRESS)
    reply = services.reply_submit(
        actor=handler_a,
        assignment_id=workflow.lead_assignment(appeal).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已修复\x00。",
    )
    assert reply.content == "已修复。"


def test_a_lone_surrogate_in_a_choice_field_is_a_400_not_a_500():
    # Hypothesis found it: the choice field's error message echoed the surrogate and the JSON
    # response could not be encoded.
    client = APIClient()
    client.raise_request_exception = False
    body = '{"priority": "\\ud800", "title": "标题"}'
    response = client.post(reverse("api_appeal_file"), body, content_type="application/json")
    assert response.status_code == 400
    assert "priority" in response.json()["fields"]


def test_json_nested_deeper_than_python_can_read_is_refused_with_a_400():
    client = APIClient()
    client.raise_request_exception = False
    body = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(reverse("api_appeal_file"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
