"""What a timeline event or a notification says is stored as a text code and its parameters
and rendered in the reader's language when read, in the recipient's when sent (issue #17):
words stored in the writer's language were wrong for every other reader."""

import importlib
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from appeals import services
from appeals.events import TEXTS, event_text, notification_body, say
from appeals.models import Appeal, EventCode, Notification, TimelineEvent
from appeals.services.notify import notification_deliver
from tests.workflow import lead_assignment

pytestmark = pytest.mark.django_db

fill = importlib.import_module("appeals.migrations.0021_stored_text_codes_fill")

# A reason someone typed that looks like one of our texts: it is data, shown as typed.
TYPED = "不属于本单位职责，已签收。%(dept)s"


def _reader(user, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def returned_appeal(appeal_at, handler_a):
    """An appeal signed and then returned by dept_a, the handler's interface in English."""
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    with translation.override("en"):
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason=TYPED
        )
    return appeal


def test_the_same_timeline_reads_in_each_readers_language(returned_appeal, commissioner, dept_a):
    url = reverse("appeal_detail", args=[returned_appeal.number])

    chinese = _reader(commissioner, "zh-hans").get(url).content.decode()
    english = _reader(commissioner, "en").get(url).content.decode()

    assert f"{dept_a.name}已签收。" in chinese
    assert f"{dept_a.name} signed for the appeal." not in chinese
    assert f"{dept_a.name} signed for the appeal." in english
    assert f"{dept_a.name}已签收。" not in english
    # The typed reason is the same words in both, never translated or formatted.
    assert TYPED in chinese and TYPED in english


def test_the_api_timeline_reads_in_the_callers_language(returned_appeal, commissioner, dept_a):
    url = reverse("api_appeal", args=[returned_appeal.number])

    notes = {
        language: [e["note"] for e in _reader(commissioner, language).get(url).json()["events"]]
        for language in ("zh-hans", "en")
    }

    assert f"{dept_a.name}已签收。" in notes["zh-hans"]
    assert f"{dept_a.name} signed for the appeal." in notes["en"]


def test_the_inbox_reads_in_the_readers_language(returned_appeal, commissioner):
    url = reverse("notifications")

    english = _reader(commissioner, "en").get(url).content.decode()
    chinese = _reader(commissioner, "zh-hans").get(url).content.decode()

    assert f"Appeal returned: {returned_appeal.number}" in english
    assert f"诉求被退回：{returned_appeal.number}" in chinese


def test_an_sms_caused_by_an_english_interface_is_sent_in_chinese(
    appeal_at, handler_a, sms_outbox, django_capture_on_commit_callbacks
):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    appeal.contact_phone = "13805630001"
    appeal.save(update_fields=["contact_phone"])

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.reply_submit(
            actor=handler_a,
            assignment_id=lead_assignment(appeal).pk,
            outcome="resolved",
            content="Road repaired.",
        )

    assert sms_outbox == [
        ("13805630001", f"【企呼政应】您的诉求 {appeal.number} 已有办理反馈，请查看并评价。")
    ]


def test_staff_e_mail_is_sent_in_the_sites_language_whoever_caused_it(
    appeal_at, handler_a, commissioner, django_capture_on_commit_callbacks
):
    # Nobody stores a language preference: staff read Chinese, as the site does by default.
    commissioner.email = "zhuanyuan@example.cn"
    commissioner.save(update_fields=["email"])
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    mail.outbox.clear()

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason=TYPED
        )

    (sent,) = mail.outbox
    assert sent.subject == f"诉求被退回：{appeal.number} {appeal.title}"
    assert sent.body.endswith(f"退回：{TYPED}")


def test_labels_in_a_text_follow_the_reader(appeal_at):
    appeal = appeal_at(Appeal.Status.REPLIED)
    replied = appeal.events.get(code=EventCode.REPLIED)

    assert event_text(replied) == "办理结果：已解决。"
    with translation.override("en"):
        assert event_text(replied) == "Outcome: Resolved."


def test_a_translated_word_is_refused_as_a_parameter():
    with pytest.raises(TypeError):
        say("replied", outcome=Appeal.Status.CLOSED.label)
    with pytest.raises(ValueError):
        say("replied", outcome="已解决")  # a label, not the choice's value


# A value for each parameter that holds a choice; any other parameter is user data.
CHOICES = {
    "channel": "web",
    "status": "closed",
    "role": "lead",
    "outcome": "resolved",
    "reply_state": "published",
    "score": "satisfied",
    "extension_state": "approved",
    "obligation": "sign",
}


def test_every_text_reads_in_english_without_a_chinese_character():
    for code, msgid in TEXTS.items():
        with translation.override("zh-hans"):
            names = re.findall(r"%\((\w+)\)([sd])", str(msgid))
        params = {n: 3 if kind == "d" else CHOICES.get(n, "data") for n, kind in names}
        with translation.override("en"):
            english = str(say(code, **params))
        assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", english), (code, english)


def test_notifications_store_no_words_of_their_own(appeal_at):
    appeal = appeal_at(Appeal.Status.REPLIED)
    sms = Notification.objects.get(appeal=appeal, event="replied", channel="sms")

    assert (sms.subject, sms.body, sms.body_code) == ("", "", "replied_sms")
    with translation.override("en"):
        assert notification_body(sms).startswith("[")  # rendered now, in the active language


def test_old_rows_get_their_code_where_their_words_can_be_read_back(appeal_at, dept_a):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    TimelineEvent.objects.filter(appeal=appeal).delete()
    rows = {
        "zh": f"{dept_a.name}已签收。",
        "en": f"{dept_a.name} signed for the appeal.",
        "routed": f"已交办：{dept_a.name}（牵头）、乙局、丙局（配合）。请尽快办理。",
        "label": "办理结果：部分解决。",
        "typed": "企业电话确认已解决。",
    }
    events = {
        key: TimelineEvent.objects.create(appeal=appeal, code=EventCode.SIGNED, note=note)
        for key, note in rows.items()
    }

    fill.fill(django_apps(), None)

    for event in events.values():
        event.refresh_from_db()
    assert (events["zh"].text_code, events["zh"].params) == ("signed", {"dept": dept_a.name})
    assert (events["en"].text_code, events["en"].params) == ("signed", {"dept": dept_a.name})
    assert events["routed"].text_code == "routed_with_co"
    assert events["routed"].params == {
        "lead": dept_a.name,
        "co": "乙局、丙局",
        "note": "请尽快办理。",
    }
    assert events["label"].params == {"outcome": "partly_resolved"}
    assert (events["typed"].text_code, events["typed"].note) == ("", rows["typed"])
    with translation.override("zh-hans"):
        assert [event_text(e) for e in events.values()] == [
            rows["zh"],
            rows["zh"],
            rows["routed"],
            rows["label"],
            rows["typed"],
        ]


def django_apps():
    from django.apps import apps

    return apps


def test_the_fill_reverses_to_chinese_words(appeal_at, dept_a):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    event = TimelineEvent.objects.create(
        appeal=appeal, code=EventCode.SIGNED, text_code="signed", params={"dept": dept_a.name}
    )

    fill.unfill(django_apps(), None)

    event.refresh_from_db()
    assert (event.text_code, event.params, event.note) == ("", {}, f"{dept_a.name}已签收。")


def test_old_notifications_get_their_codes_and_an_english_sms_waiting_goes_out_in_chinese(
    appeal_at, commissioner, sms_outbox
):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    english = f"[Qihu Zhengying] There is a reply to your appeal {appeal.number}. Please read it and rate it."
    sms = Notification.objects.create(
        address="13805630001",
        channel="sms",
        appeal=appeal,
        event="replied",
        dedupe_key="old:sms",
        subject=english,
        body=english,
    )
    returned = Notification.objects.create(
        recipient=commissioner,
        channel="inapp",
        appeal=appeal,
        event="returned",
        dedupe_key="old:inapp",
        subject=f"诉求被退回：{appeal.number} {appeal.title}",
        body="请改派。",  # typed: no text of ours
    )

    fill.fill(django_apps(), None)

    sms.refresh_from_db()
    returned.refresh_from_db()
    assert (sms.subject_code, sms.body_code, sms.params) == (
        "replied_sms",
        "replied_sms",
        {"n": appeal.number},
    )
    assert (returned.subject_code, returned.body_code, returned.body) == (
        "returned_subject",
        "",
        "请改派。",
    )
    assert returned.params == {"n": appeal.number, "t": appeal.title}
    assert notification_deliver(notification_id=sms.pk)
    assert sms_outbox == [
        ("13805630001", f"【企呼政应】您的诉求 {appeal.number} 已有办理反馈，请查看并评价。")
    ]
