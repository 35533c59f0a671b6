"""An enterprise on a phone files an appeal without a name (the name and phone fields switch
off), with an attachment; keeps the receipt (copies the code, prints it; it is shown once);
later tracks it by number and code, typed in lower case without dashes; reads the reply;
rates it unsatisfied and asks for re-handling; after the second reply, still unsatisfied, ends
it, and is asked for the reason before it can. In Chinese and in English (support.t).

The departments' side of the loop happens through the services between the enterprise's
visits (their pages have journeys of their own)."""

import pytest
from django.contrib.auth import get_user_model

from appeals import services
from appeals.models import Appeal, Reply
from departments.models import Category, Department
from tests import workflow
from tests.browser.support import (
    assert_fits_phone,
    assert_reachable_on_phone,
    expect,
    expect_message,
    open_phone_menu,
    t,
    tiny_png,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Other appeals in the lists around this one; the journey makes the ones it needs.
DEMO_APPEALS = 5

TITLE = "厂房消防验收迟迟未办理，影响投产"
FIRST_REPLY = "已联系消防验收窗口，因图纸缺少签章暂缓受理，请补齐后再约验收。"
SECOND_REPLY = "已安排专人上门指导补齐图纸签章，消防验收已于本周完成，可正常投产。"
END_REASON = "验收虽已完成，但前后拖了两个月，耽误了投产。不再办理。"


def test_an_enterprise_on_a_phone_files_tracks_and_rates_an_appeal(journey, demo_city):
    # -- files without a name, with a photo attached --------------------------------------
    page = journey.page(phone=True)
    page.goto(journey.url("/"))
    assert_fits_phone(page)
    journey.shot(page, "home")
    page.get_by_role("link", name=t("我要提诉求")).last.click()
    expect(page.get_by_role("heading", name=t("我要提诉求"))).to_be_visible()
    assert_fits_phone(page)
    page.get_by_role("button", name=t("提交诉求")).click()  # too soon: nothing filled in
    expect(
        page.get_by_text(t("请填写%(f)s（或选择无署名提交）。", f=t("企业名称")))
    ).to_be_visible()
    expect(page.get_by_text(t("This field is required."))).to_have_count(2)  # title, content
    assert_fits_phone(page)

    # A name typed before choosing 无署名: the box disables the name and phone fields, and
    # nothing typed in them is kept.
    page.get_by_label(t("联系人")).fill("李四")
    page.get_by_label(t("无署名提交")).check()
    expect(page.get_by_label(t("联系人"))).to_be_disabled()
    expect(page.get_by_label(t("联系电话"))).to_be_disabled()
    page.get_by_label(t("诉求类别")).select_option(label="用地")
    page.get_by_label(t("所在县（市、区）")).select_option(label="宣州区")
    page.get_by_label(t("诉求标题")).fill(TITLE)
    page.get_by_label(t("诉求内容")).fill(
        "新厂房已于上月竣工，消防验收申请提交三周仍无回复，无法投产。"
    )
    page.get_by_label(t("附件")).set_input_files(
        [{"name": "现场照片.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    submit = page.get_by_role("button", name=t("提交诉求"))
    assert_reachable_on_phone(submit)
    assert_fits_phone(page)
    journey.shot(page, "form")
    submit.click()

    # -- keeps the receipt ----------------------------------------------------------------
    expect(page.get_by_role("heading", name=t("诉求已登记"))).to_be_visible()
    number = page.locator("#receipt-number").inner_text().strip()
    code = page.locator("#receipt-code").inner_text().strip()
    appeal = Appeal.objects.get(number=number)
    assert appeal.is_anonymous and appeal.title == TITLE
    assert (appeal.contact_name, appeal.contact_phone) == ("", "")
    assert [a.original_name for a in appeal.attachments.all()] == ["现场照片.png"]
    assert len(code) >= 8
    expect(page.get_by_text(t("查询码只显示这一次。"))).to_be_visible()
    # The copy button puts the code on the clipboard and says so.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy_code = page.locator("#receipt-code ~ button")
    expect(copy_code).to_have_text(t("复制"))
    copy_code.click()
    expect(copy_code).to_have_text(t("已复制"))
    assert page.evaluate("navigator.clipboard.readText()") == code
    assert_fits_phone(page)
    journey.shot(page, "receipt")
    # Printed (or saved as PDF), the receipt is the receipt: no top bar, no buttons.
    page.emulate_media(media="print")
    expect(page.locator(".navbar")).to_be_hidden()
    expect(copy_code).to_be_hidden()
    expect(page.locator("#receipt-code")).to_be_visible()
    journey.shot(page, "receipt-print")
    page.emulate_media(media="screen")
    # Reloaded, it is gone: the receipt said so.
    page.reload()
    expect(page.get_by_role("heading", name=t("进度查询"))).to_be_visible()
    expect(page.get_by_text(code)).to_have_count(0)

    # -- the city answers (routed, signed, replied "resolved") ----------------------------
    users = get_user_model().objects
    cast = workflow.Cast(
        commissioner=users.get(username="commissioner1"),
        lead_handler=users.get(username="zrj_handler"),
        lead=Department.objects.get(code="zrj"),
        category=Category.objects.get(code="land"),
    )
    workflow.walk_to(appeal, Appeal.Status.IN_PROGRESS, cast=cast)
    _reply(appeal, cast, FIRST_REPLY)

    # -- later, on the same phone without the session, tracks it by number and code -------
    page = journey.page(phone=True)
    page.goto(journey.url("/"))
    open_phone_menu(page, t("菜单"))  # the phone's collapsed top bar
    page.get_by_role("navigation").get_by_role("link", name=t("进度查询")).click()
    expect(page.get_by_role("heading", name=t("进度查询"))).to_be_visible()
    page.get_by_label(t("登记号")).fill(number)
    # Kept as a note might keep it: lower case, no dashes; the field shows what is typed.
    code_field = page.get_by_label(t("查询码"))
    expect(code_field).to_have_attribute("type", "text")
    code_field.fill(code.replace("-", "").lower())
    query = page.get_by_role("button", name=t("查询"))
    assert_reachable_on_phone(query)
    assert_fits_phone(page)
    journey.shot(page, "track")
    query.click()

    # -- reads the reply, rates it unsatisfied and asks for re-handling -------------------
    expect(page.get_by_role("heading", name=number)).to_be_visible()
    expect(page.get_by_text(FIRST_REPLY)).to_be_visible()
    expect(page.locator(".badge", has_text=t("已反馈（待评价）"))).to_be_visible()
    expect(page.get_by_role("link", name="现场照片.png")).to_be_visible()
    assert_fits_phone(page)
    rehandle = page.get_by_label(t("申请重新办理（退回承办单位重新办理）"))
    end = page.get_by_label(t("不再办理，结束本诉求（请在评价意见中说明理由）"))
    # What follows an unsatisfied rating is asked only once it is chosen.
    expect(rehandle).to_be_hidden()
    page.get_by_label(t("不满意"), exact=True).check()
    expect(rehandle).to_be_visible()
    expect(end).to_be_visible()
    rehandle.check()
    page.get_by_role("textbox", name=t("评价意见")).fill("只告知缺签章，没有说明找谁补、怎么补。")
    rate = page.get_by_role("button", name=t("提交评价"))
    assert_reachable_on_phone(rate)
    assert_fits_phone(page)
    journey.shot(page, "reply")
    rate.click()
    expect_message(page, t("感谢您的评价。"))
    expect(page.locator(".badge", has_text=t("办理中"))).to_be_visible()
    expect(page.get_by_role("button", name=t("提交评价"))).to_have_count(0)
    assert_fits_phone(page)
    journey.shot(page, "rehandling")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.IN_PROGRESS and appeal.reopened_count == 1

    # -- after the second reply, still unsatisfied, ends it and says why ------------------
    _reply(appeal, cast, SECOND_REPLY)
    page.reload()
    expect(page.get_by_text(SECOND_REPLY)).to_be_visible()
    expect(page.get_by_text(FIRST_REPLY)).to_be_visible()
    page.get_by_label(t("不满意"), exact=True).check()
    end.check()
    page.get_by_role("button", name=t("提交评价")).click()  # no reason given
    expect(page.get_by_text(t("不再办理的，请在评价意见中说明理由。"))).to_be_visible()
    expect(end).to_be_checked()
    page.get_by_role("textbox", name=t("评价意见")).fill(END_REASON)
    assert_fits_phone(page)
    journey.shot(page, "end-with-reason")
    page.get_by_role("button", name=t("提交评价")).click()
    expect_message(page, t("感谢您的评价。"))
    expect(page.locator(".badge", has_text=t("已办结"))).to_be_visible()
    expect(page.get_by_text(END_REASON).first).to_be_visible()  # on the reply and the timeline
    assert_fits_phone(page)
    journey.shot(page, "closed")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED and appeal.reopened_count == 1
    assert [(r.score, r.rehandle) for r in appeal.ratings.order_by("pk")] == [
        ("unsatisfied", True),
        ("unsatisfied", False),
    ]


def _reply(appeal: Appeal, cast: workflow.Cast, content: str) -> None:
    services.reply_submit(
        actor=cast.lead_handler,
        assignment_id=workflow.lead_assignment(appeal).pk,
        outcome=Reply.Outcome.RESOLVED,
        content=content,
    )
