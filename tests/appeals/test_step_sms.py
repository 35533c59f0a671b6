"""Enterprises told at every step (issue #19 part 5): a filer who opts in gets one SMS per step
(registered, routed, material requested, replied, closed, followed up), each once and each
ending with the unsubscribe word; replying TD stops them. And each message is in the language
the enterprise chose (issue #17), whatever language the person who caused it was using."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from appeals import services, tasks
from appeals.models import Appeal, Notification, SmsOptOut
from appeals.services import notify
from core.errors import ServiceError
from departments.models import AuditRecord
from tests.workflow import lead_assignment

pytestmark = pytest.mark.django_db

SMS = Notification.Channel.SMS
PHONE = "13805630001"
SECRET = "gateway-secret-for-tests"
STEPS = ["filed", "routed", "material_requested", "replied", "closed", "followed_up"]


def _sms(appeal) -> list[Notification]:
    return list(Notification.objects.filter(appeal=appeal, channel=SMS).order_by("pk"))


def _sent(notification: Notification) -> str:
    with translation.override(notify.recipient_language(notification)):
        return notify.sms_text(notification)


def _walk_every_step(appeal, *, walk_to, handler_a, commissioner):
    walk_to(appeal, Appeal.Status.IN_PROGRESS)
    services.appeal_request_material(
        actor=handler_a, assignment_id=lead_assignment(appeal).pk, note="请补充营业执照副本。"
    )
    services.appeal_supply_material(actor=None, appeal_id=appeal.pk, content="已上传。")
    walk_to(appeal, Appeal.Status.CLOSED)
    services.followup_record(actor=commissioner, appeal_id=appeal.pk, content="企业表示满意。")


def test_an_enterprise_that_opted_in_is_texted_once_at_every_step_with_the_unsubscribe_word(
    file_appeal, walk_to, handler_a, commissioner, dept_a
):
    appeal = file_appeal(sms_opt_in=True).appeal
    _walk_every_step(appeal, walk_to=walk_to, handler_a=handler_a, commissioner=commissioner)

    texts = _sms(appeal)
    assert [n.event for n in texts] == STEPS
    assert {n.address for n in texts} == {PHONE}
    assert all(_sent(n).endswith("回复TD退订") for n in texts)
    routed = _sent(texts[1])
    assert appeal.number in routed and dept_a.name in routed


def test_the_routed_sms_names_the_lead_department_and_never_the_internal_note(
    file_appeal, commissioner, dept_a, category
):
    appeal = file_appeal(sms_opt_in=True).appeal
    services.appeal_route(
        actor=commissioner,
        appeal_id=appeal.pk,
        lead=dept_a,
        co_handlers=[],
        category=category,
        note="内部：该企业曾多次重复反映，注意口径。",
        enterprise_note="请耐心等待。",
    )

    routed = _sent(Notification.objects.get(appeal=appeal, event="routed", channel=SMS))
    assert dept_a.name in routed
    assert "内部" not in routed and "口径" not in routed


def test_a_filer_who_did_not_opt_in_gets_only_the_receipt_the_material_request_and_the_answer(
    file_appeal, walk_to, handler_a, commissioner
):
    appeal = file_appeal().appeal
    _walk_every_step(appeal, walk_to=walk_to, handler_a=handler_a, commissioner=commissioner)

    texts = _sms(appeal)
    assert [n.event for n in texts] == ["filed", "material_requested", "replied"]
    assert not any("TD" in _sent(n) for n in texts)


def test_an_anonymous_filing_cannot_opt_in(file_appeal, walk_to):
    appeal = file_appeal(is_anonymous=True, sms_opt_in=True, contact_phone=PHONE).appeal
    walk_to(appeal, Appeal.Status.ASSIGNED)

    appeal.refresh_from_db()
    assert appeal.sms_opt_in is False and _sms(appeal) == []


def test_a_step_sms_is_sent_once_when_its_task_runs_twice(
    file_appeal, commissioner, dept_a, category, sms_outbox
):
    appeal = file_appeal(sms_opt_in=True).appeal
    services.appeal_route(
        actor=commissioner, appeal_id=appeal.pk, lead=dept_a, co_handlers=[], category=category
    )
    routed = Notification.objects.get(appeal=appeal, event="routed", channel=SMS)

    assert tasks.notification_send(routed.pk) is True
    assert tasks.notification_send(routed.pk) is False
    assert [text for phone, text in sms_outbox if "牵头" in text] == [
        f"【企呼政应】您的诉求 {appeal.number} 已交由{dept_a.name}牵头办理。回复TD退订"
    ]


def test_a_closing_by_the_rating_sweep_run_twice_texts_once(file_appeal, walk_to):
    appeal = file_appeal(sms_opt_in=True).appeal
    walk_to(appeal, Appeal.Status.REPLIED)

    services.appeal_rating_lapse(appeal_id=appeal.pk)
    services.appeal_rating_lapse(appeal_id=appeal.pk)

    assert [n.event for n in _sms(appeal)][-1:] == ["rating_lapsed"]
    assert "已办结" in _sent(_sms(appeal)[-1])


# The SMS gateway's callback.


@pytest.fixture
def gateway(client, settings):
    settings.SMS_INBOUND_SECRET = SECRET

    def _post(text: str, phone: str = PHONE, secret: str = SECRET):
        return client.post(
            reverse("api_sms_inbound"),
            {"phone": phone, "text": text},
            content_type="application/json",
            headers={"X-SMS-Gateway-Secret": secret},
        )

    return _post


@pytest.mark.parametrize("text", ["TD", "td", " T d ", "ＴＤ", "退订", "退订。", "TD退订"])
def test_the_unsubscribe_word_is_understood_whatever_its_case_spacing_or_width(gateway, text):
    response = gateway(text)

    assert response.status_code == 200 and response.json() == {"unsubscribed": True}
    opt_out = SmsOptOut.objects.get(phone=PHONE)
    assert opt_out.history.get().history_change_reason == "sms_reply"
    assert AuditRecord.objects.filter(event="sms.opted_out", object_id=str(opt_out.pk)).exists()


def test_any_other_reply_unsubscribes_nobody(gateway):
    assert gateway("谢谢，收到").json() == {"unsubscribed": False}
    assert not SmsOptOut.objects.exists()


def test_the_same_unsubscribe_received_twice_is_recorded_once(gateway):
    gateway("TD")
    gateway("TD", phone="+86 138 0563 0001")

    assert SmsOptOut.objects.count() == 1 and SmsOptOut.history.count() == 1


def test_the_gateway_callback_refuses_a_wrong_secret_and_everyone_without_one_set(
    gateway, settings
):
    assert gateway("TD", secret="guess").status_code == 403
    settings.SMS_INBOUND_SECRET = ""
    assert gateway("TD", secret="").status_code == 403
    assert not SmsOptOut.objects.exists()


def test_no_step_sms_goes_to_a_number_after_it_unsubscribed_but_the_answer_still_does(
    gateway, file_appeal, walk_to, handler_a, commissioner
):
    appeal = file_appeal(sms_opt_in=True).appeal
    gateway("TD")

    _walk_every_step(appeal, walk_to=walk_to, handler_a=handler_a, commissioner=commissioner)

    texts = _sms(appeal)
    # The answer it filed for still comes (docs: what TD stops), without the word.
    assert [n.event for n in texts] == ["filed", "replied"]
    assert not _sent(texts[1]).endswith("回复TD退订")


def test_a_number_that_unsubscribed_is_not_texted_when_it_files_again(gateway, file_appeal):
    gateway("TD")
    other = file_appeal(contact_phone="13805630002").appeal

    appeal = file_appeal(sms_opt_in=True).appeal

    # The filing asks whether its number unsubscribed (on PostgreSQL in the statement that
    # numbers it): the registration SMS is a step, not an answer.
    assert _sms(appeal) == []
    assert [n.event for n in _sms(other)] == ["filed"]


# The language of the messages (issue #17).


def test_an_enterprise_that_chose_english_is_texted_in_english(
    file_appeal, commissioner, dept_a, category, sms_outbox, django_capture_on_commit_callbacks
):
    appeal = file_appeal(sms_opt_in=True, language="en").appeal
    with django_capture_on_commit_callbacks(execute=True):
        services.appeal_route(
            actor=commissioner, appeal_id=appeal.pk, lead=dept_a, co_handlers=[], category=category
        )

    assert sms_outbox[-1] == (
        PHONE,
        f"[Qihu Zhengying] Your appeal {appeal.number} has been assigned to {dept_a.name} as "
        "the lead department. Reply TD to unsubscribe.",
    )


def test_an_office_user_working_in_english_does_not_change_a_chinese_enterprises_sms(
    file_appeal, commissioner, dept_a, category, sms_outbox, django_capture_on_commit_callbacks
):
    appeal = file_appeal(sms_opt_in=True).appeal
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.appeal_route(
            actor=commissioner, appeal_id=appeal.pk, lead=dept_a, co_handlers=[], category=category
        )

    assert sms_outbox[-1] == (
        PHONE,
        f"【企呼政应】您的诉求 {appeal.number} 已交由{dept_a.name}牵头办理。回复TD退订",
    )


def test_staff_are_written_to_in_chinese_whatever_the_enterprise_chose(
    file_appeal, enterprise_user
):
    appeal = file_appeal(language="en").appeal
    staff_message = Notification(appeal=appeal, recipient_id=enterprise_user.pk + 1000)
    filer_message = Notification(appeal=appeal, recipient=enterprise_user)

    assert notify.recipient_language(staff_message) == "zh-hans"
    assert notify.recipient_language(filer_message) == "en"


def test_a_language_the_site_does_not_offer_is_refused(file_appeal):
    with pytest.raises(ServiceError) as refused:
        file_appeal(language="fr")
    assert refused.value.code == "invalid_language"


# Filing: the form and the API.


def test_the_filing_page_offers_the_step_sms_unticked_and_chinese_as_the_language(client):
    page = client.get(reverse("appeal_file")).content.decode()

    box = re.search(r'<input[^>]*name="sms_opt_in"[^>]*>', page).group(0)
    assert "checked" not in box and "接收办理进度短信" in page and "回复TD退订" in page
    assert re.search(r'<option value="zh-hans"[^>]*selected', page)


def test_a_filing_through_the_page_keeps_the_opt_in_and_the_language(client):
    response = client.post(
        reverse("appeal_file"),
        {
            "enterprise_name": "宣城示范科技有限公司",
            "contact_name": "张三",
            "contact_phone": PHONE,
            "sms_opt_in": "on",
            "language": "en",
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
    )

    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert (appeal.sms_opt_in, appeal.language) == (True, "en")


def test_a_filing_through_the_api_keeps_the_opt_in_and_the_language(client):
    response = client.post(
        reverse("api_appeal_file"),
        {
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
            "enterprise_name": "宣城示范科技有限公司",
            "contact_name": "张三",
            "contact_phone": PHONE,
            "sms_opt_in": True,
            "language": "en",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get()
    assert (appeal.sms_opt_in, appeal.language) == (True, "en")
    assert [n.event for n in _sms(appeal)] == ["filed"]
