"""The office enters the appeals raised at a meeting in the batch table: a line without an
enterprise comes back in red with everything typed kept, nothing registered; once fixed, the
whole batch is registered and the meeting page lists each appeal with its colour."""

import pytest
from django.contrib.auth import get_user_model

from appeals.models import Appeal
from engagement.models import Meeting
from engagement.selectors import meeting_appeals_for
from tests.browser.support import expect, expect_message, t

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DEMO_APPEALS = 10

FIRST = "厂区外排水沟堵塞，雨季倒灌车间，请协调疏通。"
SECOND = "新招员工社保转移接续手续繁琐，希望简化。"


def test_the_office_enters_a_meetings_appeals_in_one_batch(journey, demo_city):
    meeting = Meeting.objects.order_by("-held_on").first()
    office = get_user_model().objects.get(username="office")
    before = len(meeting_appeals_for(office, meeting))
    invited = list(meeting.enterprises.order_by("name"))
    page = journey.login("office")

    page.get_by_role("navigation").get_by_text(t("更多"), exact=True).click()  # the top bar's menu
    page.get_by_role("link", name=t("恳谈会"), exact=True).click()
    page.get_by_role("link", name=meeting.title).click()
    expect(page.get_by_role("heading", name=meeting.title)).to_be_visible()
    page.get_by_role("link", name=t("录入会上诉求")).click()

    page.get_by_label(_row(1, "企业")).select_option(label=invited[0].name)
    page.get_by_label(_row(1, "诉求内容")).fill(FIRST)
    page.get_by_label(_row(2, "诉求内容")).fill(SECOND)  # no enterprise chosen
    page.get_by_label(_row(2, "建议牵头单位")).select_option(label="市人社局")
    journey.shot(page, "typed")
    page.get_by_role("button", name=t("登记本批诉求")).click()

    expect_message(
        page, t("有 %(n)d 行未通过检查，本批诉求均未登记；请修改标红的行后重新提交。", n=1)
    )
    expect(page.locator("#row-2")).to_have_class("table-danger")
    expect(
        page.get_by_text(t("%(label)s：%(error)s", label=t("企业"), error=t("请选择企业。")))
    ).to_be_visible()
    expect(page.get_by_label(_row(1, "诉求内容"))).to_have_value(FIRST)
    expect(page.get_by_label(_row(2, "诉求内容"))).to_have_value(SECOND)
    expect(page.get_by_label(_row(2, "建议牵头单位")).locator("option:checked")).to_have_text(
        "市人社局"
    )
    journey.shot(page, "refused")
    assert len(meeting_appeals_for(office, meeting)) == before

    page.get_by_label(_row(2, "企业")).select_option(label=invited[1].name)
    page.get_by_role("button", name=t("登记本批诉求")).click()
    expect(page.get_by_role("heading", name=meeting.title)).to_be_visible()
    rows = meeting_appeals_for(office, meeting)
    assert len(rows) == before + 2
    new = [r.appeal for r in rows[-2:]]
    assert [a.content for a in new] == [FIRST, SECOND]
    assert all(a.channel == Appeal.Channel.MEETING for a in new)
    for appeal in new:
        expect(page.get_by_role("link", name=appeal.number)).to_be_visible()
    journey.shot(page, "registered")


def _row(n: int, label: str) -> str:
    """The batch table's field of row `n` as a screen reader names it."""
    return t("第 %(n)s 行%(label)s", n=n, label=t(label))
