"""Each end of the loop reaches the filer (issue #14, item 8): by SMS when a phone number was
given with a name, in-app when the enterprise has an account, and on the tracking page always;
an appeal merged into another is answered through it (一并答复)."""

import pytest
from django.urls import reverse

from appeals import services
from appeals.events import notification_body
from appeals.models import Appeal, Notification, Reply
from tests import workflow
from tests.workflow import lead_assignment

pytestmark = pytest.mark.django_db

SMS, INAPP = Notification.Channel.SMS, Notification.Channel.INAPP


def _told(appeal, event: str) -> set[tuple[str, str]]:
    return set(
        Notification.objects.filter(appeal=appeal, event=event).values_list("channel", "address")
    )


@pytest.mark.parametrize(
    ("status", "event"),
    [(Appeal.Status.NOT_ACCEPTED, "not_accepted"), (Appeal.Status.REDIRECTED, "redirected")],
)
def test_a_declined_or_redirected_appeal_tells_the_filer_by_sms_and_in_app(
    file_appeal, commissioner, enterprise_user, status, event
):
    appeal = file_appeal(contact_phone="13805630009").appeal

    services.appeal_decline(
        actor=commissioner, appeal_id=appeal.pk, status=status, explanation="请向仲裁机构申请。"
    )

    assert _told(appeal, event) == {(SMS, "13805630009"), (INAPP, "")}
    sms = Notification.objects.get(appeal=appeal, event=event, channel=SMS)
    assert appeal.number in notification_body(sms) and "查询码" in notification_body(sms)
    assert Notification.objects.get(appeal=appeal, event=event, channel=INAPP).recipient == (
        enterprise_user
    )


def test_an_anonymous_filer_is_not_texted_but_reads_the_ending_on_the_tracking_page(
    client, commissioner
):
    filed = workflow.file_appeal(is_anonymous=True, contact_phone="13805630008")
    services.appeal_decline(
        actor=commissioner,
        appeal_id=filed.appeal.pk,
        status=Appeal.Status.NOT_ACCEPTED,
        explanation="不属于受理范围。",
    )

    assert not Notification.objects.filter(channel=SMS, event="not_accepted").exists()
    client.post(reverse("track"), {"number": filed.appeal.number, "code": filed.query_code})
    page = client.get(reverse("track_detail", args=[filed.appeal.number])).content.decode()
    assert "不属于受理范围。" in page


def test_a_merged_filer_is_told_of_the_merge_and_then_of_the_answer(
    file_appeal, commissioner, walk_to, handler_a, client
):
    first = file_appeal(contact_phone="13805630001").appeal
    duplicate_filed = file_appeal(contact_phone="13805630002")
    duplicate = duplicate_filed.appeal
    services.appeal_merge(
        actor=commissioner,
        appeal_id=duplicate.pk,
        into_number=first.number,
        explanation="同一事项，一并办理答复。",
    )
    merge_sms = Notification.objects.get(appeal=duplicate, event="merged", channel=SMS)
    assert merge_sms.address == "13805630002" and first.number in notification_body(merge_sms)

    walk_to(first, Appeal.Status.IN_PROGRESS)
    services.reply_submit(
        actor=handler_a,
        assignment_id=lead_assignment(first).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已协调供电公司完成增容。",
    )

    # The duplicate's filer hears of the answer once, on its own appeal's notifications.
    assert _told(duplicate, "replied") == {(SMS, "13805630002"), (INAPP, "")}
    # And its tracking page shows the answer it was promised.
    client.post(reverse("track"), {"number": duplicate.number, "code": duplicate_filed.query_code})
    page = client.get(reverse("track_detail", args=[duplicate.number])).content.decode()
    merged_card = page.split("merged-reply", 1)[1].split("</div></div>", 1)[0]
    assert first.number in merged_card and "已协调供电公司完成增容。" in merged_card
