"""An observer (特约监督员) on a phone files a lead with a photo; the office turns it into an
appeal; the observer reads the outcome; the department's handler opens the appeal and finds no
trace of who reported it."""

import pytest
from django.contrib.auth import get_user_model

from departments.models import Category, Department
from leads.models import Lead
from tests.browser.support import (
    assert_fits_phone,
    assert_reachable_on_phone,
    expect,
    expect_message,
    t,
    tiny_png,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DEMO_APPEALS = 5

WHAT = "办理施工许可时窗口另收500元“加急费”，没有收费依据，也不开票。"


def test_an_observer_files_a_lead_the_office_makes_it_an_appeal_and_nobody_learns_who(
    journey, demo_city, authenticators
):
    # -- the observer files a lead on a phone -----------------------------------------------
    page = journey.login("supervisor2", phone=True)
    page.goto(journey.url("/leads/"))
    expect(page.get_by_role("heading", name=t("我的监督线索"))).to_be_visible()
    page.get_by_role("link", name=t("提交线索")).click()
    expect(page.get_by_role("heading", name=t("提交监督线索"))).to_be_visible()
    page.get_by_label(t("线索类型")).select_option(label=t("乱收费"))
    page.get_by_label(t("涉及单位")).select_option(label="市住建局")
    page.get_by_label(t("具体情况")).fill(WHAT)
    page.get_by_label(t("附件（可选）")).set_input_files(
        [{"name": "收费单.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    submit = page.get_by_role("button", name=t("提交"))
    assert_reachable_on_phone(submit)
    assert_fits_phone(page)
    journey.shot(page, "form")
    submit.click()
    expect_message(page, t("线索已提交，营商办核查后您可在此查看结果。"))
    expect(page.get_by_text(t("待核查")).first).to_be_visible()
    assert_fits_phone(page)
    journey.shot(page, "filed")
    lead = Lead.objects.get(description=WHAT)

    # -- the office turns it into an appeal --------------------------------------------------
    office = journey.login("office")
    office.goto(journey.url(f"/leads/{lead.pk}/"))
    expect(office.get_by_text(WHAT).first).to_be_visible()
    office.get_by_label(t("诉求标题")).fill("施工许可窗口违规收取加急费")
    office.get_by_label(t("诉求内容")).fill("反映施工许可窗口另收加急费且不开票，请核查。")
    office.get_by_role("button", name=t("转为诉求")).click()
    expect_message(office, t("线索核查结果已记录。"))
    lead.refresh_from_db()
    number = lead.appeal.number
    journey.shot(office, "office-checked")

    # -- the observer reads the outcome ------------------------------------------------------
    page.reload()
    expect(page.get_by_text(t("已转为诉求交有关单位办理。"))).to_be_visible()
    expect(page.get_by_text(number)).to_be_visible()
    assert_fits_phone(page)
    journey.shot(page, "outcome")

    # -- the department sees the appeal, not the observer ------------------------------------
    from appeals import services

    commissioner = get_user_model().objects.get(username="commissioner1")
    services.appeal_route(
        actor=commissioner,
        appeal_id=lead.appeal_id,
        lead=Department.objects.get(code="zjj"),
        category=Category.objects.filter(is_active=True).first(),
    )
    handler = journey.login("zjj_handler")
    handler.goto(journey.url(f"/appeals/{number}/"))
    expect(handler.get_by_text("施工许可窗口违规收取加急费").first).to_be_visible()
    observer = get_user_model().objects.get(username="supervisor2")
    body = handler.locator("body").inner_text()
    # By full name: demo names are drawn from short lists, and the handler may share a given
    # name with the observer (the navigation shows the handler's own).
    for trace in (
        observer.username,
        observer.get_full_name(),
        observer.last_name + observer.first_name,
    ):
        assert trace not in body
    journey.shot(handler, "department")
