"""A department handler signs, asks the enterprise for more material, replies; a co-handler
sends an opinion; a head and the office review a reply that says no, and the office sends it
back once before it reaches the enterprise: the handler finds the draft and its outcome kept,
and the published answer is credited to the handler. The handler's inbox groups the appeal's
messages of the day into one row and marks all read."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from appeals import services
from appeals.models import Appeal, Notification, Reply
from departments.models import Category, Department
from tests import workflow
from tests.browser.support import expect, expect_message, p, t, tiny_png, tn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Other appeals in the lists around this one; the journey makes the ones it needs.
DEMO_APPEALS = 10

TITLE = "新厂区用地规划条件调整申请无进展"
MATERIAL_NOTE = "请补充加盖公章的规划调整申请书和厂区总平面图。"
OPINION = "住建局意见：厂区道路红线调整不影响市政管网，同意按程序办理。"
FIRST_ANSWER = "经核查，该地块规划条件调整须经市规委会审议，现阶段无法直接调整。"
OFFICE_NOTE = "答复只说无法调整，请写明规委会审议的时间和企业需要做的准备。"
SECOND_ANSWER = (
    "经核查，该地块规划条件调整须经市规委会审议。下次规委会定于下月中旬召开，"
    "我局已将贵公司申请列入议程，请在会前五个工作日内提交修改后的总平面图。"
)


def test_a_department_signs_asks_for_material_replies_and_its_no_is_reviewed(
    journey, demo_city, authenticators
):
    users = get_user_model().objects
    filed = workflow.file_appeal(
        title=TITLE,
        content="新厂区用地规划条件调整申请已提交两个月，至今没有任何答复。",
        enterprise_name="宣城恒信新材料有限公司",
    )
    appeal = filed.appeal
    services.appeal_route(
        actor=users.get(username="commissioner1"),
        appeal_id=appeal.pk,
        category=Category.objects.get(code="land"),
        lead=Department.objects.get(code="zrj"),
        co_handlers=[Department.objects.get(code="zjj")],
    )

    # -- the lead's handler signs and asks for material ------------------------------------
    handler = journey.login("zrj_handler")
    expect(handler.get_by_role("heading", name="市自然资源规划局")).to_be_visible()
    expect(handler.get_by_role("link", name=TITLE)).to_be_visible()
    journey.shot(handler, "inbox")
    handler.get_by_role("link", name=TITLE).click()
    handler.get_by_role("button", name=t("签收")).click()
    expect_message(handler, t("已签收。"))
    handler.get_by_text(t("请企业补充材料")).click()
    handler.get_by_label(t("需企业补充的材料")).fill(MATERIAL_NOTE)
    handler.get_by_role("button", name=t("发出")).click()
    expect_message(handler, t("已请企业补充材料，时限暂停计时。"))
    appeal.refresh_from_db()
    since = timezone.localtime(appeal.awaiting_material_since).strftime("%Y-%m-%d %H:%M")
    waiting = handler.get_by_text(t("自 %(d)s 起等待企业补充材料，时限暂停计时。", d=since))
    expect(waiting).to_be_visible()
    # Asking again while waiting would only be refused: the page no longer offers it.
    expect(handler.locator("summary", has_text=t("请企业补充材料"))).to_have_count(0)
    journey.shot(handler, "material-requested")

    # -- the enterprise supplies it on the tracking page -----------------------------------
    enterprise = journey.page()
    enterprise.goto(journey.url("/track/"))
    enterprise.get_by_label(t("登记号")).fill(appeal.number)
    enterprise.get_by_label(t("查询码")).fill(filed.query_code)
    enterprise.get_by_role("button", name=t("查询")).click()
    expect(enterprise.get_by_text(t("承办单位请您补充材料"))).to_be_visible()
    expect(enterprise.get_by_text(MATERIAL_NOTE).first).to_be_visible()
    enterprise.get_by_label(t("补充说明")).fill("已按要求补充申请书和总平面图。")
    enterprise.get_by_label(t("补充附件")).set_input_files(
        [{"name": "厂区总平面图.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    enterprise.get_by_role("button", name=t("提交补充材料")).click()
    expect_message(enterprise, t("材料已补充，承办单位将继续办理。"))
    journey.shot(enterprise, "material-supplied")

    # -- the co-handler signs and sends its opinion ----------------------------------------
    co = journey.login("zjj_handler")
    co.get_by_role("link", name=TITLE).click()
    co.get_by_role("button", name=t("签收")).click()
    expect_message(co, t("已签收。"))
    co.get_by_label(t("配合意见")).fill(OPINION)
    co.get_by_role("button", name=t("提交配合意见")).click()
    expect_message(co, t("配合意见已提交牵头单位。"))
    journey.shot(co, "opinion")

    # -- the lead replies "explained": a no, which goes to review --------------------------
    handler.reload()
    expect(handler.get_by_text(OPINION)).to_be_visible()
    expect(handler.get_by_role("link", name="厂区总平面图.png")).to_be_visible()
    expect(waiting).to_have_count(0)
    expect(handler.locator("summary", has_text=t("请企业补充材料"))).to_be_visible()
    _reply(handler, FIRST_ANSWER)
    expect(handler.get_by_text(t("答复正在审核中。"))).to_be_visible()
    journey.shot(handler, "replied")

    # -- the head approves; the office sends it back once ----------------------------------
    head = journey.login("zrj_head")
    _review(head, "待单位负责人审核", approve=True)
    journey.shot(head, "head-approved")
    office = journey.login("office")
    _review(office, "待营商办审核", approve=False, note=OFFICE_NOTE)
    expect(office.locator(".card", has_text=FIRST_ANSWER)).to_contain_text(OFFICE_NOTE)
    journey.shot(office, "office-sent-back")

    # -- the handler rewrites it; head and office approve; the enterprise has its answer ---
    handler.reload()
    # The reply sent back (its card; the reply form below now holds its text too).
    sent_back = handler.locator(".card", has_text=t("审核退回")).filter(has_text=FIRST_ANSWER)
    expect(sent_back).to_contain_text(t("审核意见") + p("：") + OFFICE_NOTE)
    # The reply sent back is the start of the next one: its text and its outcome are kept.
    reply_form = handler.locator("form", has=handler.get_by_role("button", name=t("提交办理反馈")))
    expect(reply_form.get_by_label(t("答复内容"))).to_have_value(FIRST_ANSWER)
    expect(reply_form.get_by_label(t("解释说明"), exact=True)).to_be_checked()
    expect(reply_form.get_by_label(t("已解决"), exact=True)).not_to_be_checked()
    _reply(handler, SECOND_ANSWER)
    _review(head, "待单位负责人审核", approve=True)
    _review(office, "待营商办审核", approve=True)
    expect(office.locator("h1 + .badge", has_text=t("已反馈（待评价）"))).to_be_visible()
    journey.shot(office, "published")

    enterprise.reload()
    expect(enterprise.get_by_text(SECOND_ANSWER)).to_be_visible()
    expect(enterprise.get_by_text(FIRST_ANSWER)).to_have_count(0)
    expect(enterprise.get_by_role("button", name=t("提交评价"))).to_be_visible()
    journey.shot(enterprise, "answer")
    states = list(appeal.replies.order_by("pk").values_list("state", flat=True))
    assert states == [Reply.State.SENT_BACK, Reply.State.PUBLISHED]
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REPLIED
    # The published answer is credited to the handler who wrote it, not the office.
    replied = appeal.events.get(code="replied")
    assert replied.actor.username == "zrj_handler"

    # -- the handler's inbox: the appeal's messages today in one row; then all read ---------
    mine = Notification.objects.filter(
        recipient__username="zrj_handler", channel=Notification.Channel.INAPP
    )
    today = mine.filter(appeal=appeal).count()
    assert today >= 2
    handler.get_by_role("link", name=t("消息")).click()
    row = handler.locator(".notification-group", has_text=appeal.number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(tn("当天共 %(c)s 条", "当天共 %(c)s 条", today, c=today))
    journey.shot(handler, "inbox-grouped")
    handler.get_by_role("button", name=t("全部标为已读")).click()
    expect(handler.locator(".navbar .badge")).to_have_count(0)
    expect(handler.get_by_role("button", name=t("全部标为已读"))).to_have_count(0)
    assert not mine.filter(read_at__isnull=True).exists()


def _reply(page, content: str) -> None:
    # No outcome is chosen in advance (已解决 would skip review): the handler picks one.
    page.get_by_label(t("解释说明"), exact=True).check()
    page.get_by_label(t("答复内容")).fill(content)
    page.get_by_role("button", name=t("提交办理反馈")).click()
    expect_message(page, t("办理反馈已提交。"))


def _review(page, stage: str, *, approve: bool, note: str = "") -> None:
    """From the review queue (答复审核), open the appeal waiting at `stage` and decide."""
    page.get_by_role("link", name=t("答复审核")).click()
    row = page.locator("tbody tr", has_text=TITLE)
    expect(row).to_contain_text(t(stage))
    row.get_by_role("link", name=TITLE).click()
    review = page.locator(".card", has_text=t("审核答复"))
    if note:
        review.get_by_label(t("审核意见")).fill(note)
    review.get_by_role("button", name=t("同意") if approve else t("退回修改")).click()
    expect_message(page, t("审核意见已提交。"))
