"""A commissioner works the triage queue: filters it, opens an appeal of one of the
commissioner's key enterprises, accepts the suggested routing with one co-handler, merges a
duplicate with one click on the similar appeals the page suggests, and declines one with an
explanation."""

import pytest
from django.contrib.auth import get_user_model

from appeals.models import Appeal, Assignment, Enterprise
from tests import workflow
from tests.browser.support import expect, expect_message, p, t

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Other appeals in the lists around this one; the journey makes the ones it needs.
DEMO_APPEALS = 20

KEY_TITLE = "技改项目贷款贴息申请久拖未批"
DUPLICATE_TITLE = "园区东路污水管网堵塞倒灌厂区"
DECLINED_TITLE = "邻居家装修噪音影响员工休息"


def test_a_commissioner_routes_merges_and_declines_from_the_triage_queue(journey, demo_city):
    users = get_user_model().objects
    commissioner = users.get(username="commissioner1")
    key = Enterprise.objects.filter(commissioner=commissioner, users__isnull=False).first()
    assert key is not None and key.tags.exists(), "the demo gives commissioner1 a key enterprise"
    tag = key.tags.first()
    key_appeal = workflow.file_appeal(
        actor=key.users.first(),
        title=KEY_TITLE,
        content="去年申报的技改项目贷款贴息，材料齐全，至今未见批复，请协调办理。",
        enterprise_name=key.name,
        credit_code=key.credit_code,
    ).appeal
    assert key_appeal.commissioner == commissioner and key_appeal.category is None
    original = workflow.file_appeal(title=DUPLICATE_TITLE, is_anonymous=True).appeal
    duplicate = workflow.file_appeal(title=DUPLICATE_TITLE, is_anonymous=True).appeal
    declined = workflow.file_appeal(
        title=DECLINED_TITLE, content="隔壁住户长期装修，噪音很大。", is_anonymous=True
    ).appeal

    # -- the queue: own key enterprises first; filters -------------------------------------
    page = journey.login("commissioner1")
    expect(page.get_by_role("heading", name=t("待分办诉求"))).to_be_visible()
    own = set(
        Appeal.objects.filter(status=Appeal.Status.TRIAGE, commissioner=commissioner).values_list(
            "number", flat=True
        )
    )
    assert key_appeal.number in own
    numbers = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert set(numbers[: len(own)]) == own, "the commissioner's key enterprises come first"
    journey.shot(page, "queue")

    page.get_by_label(t("企业标签")).select_option(label=tag.name)
    page.get_by_role("button", name=t("筛选")).click()
    expect(page.get_by_role("link", name=KEY_TITLE)).to_be_visible()
    rows = page.locator("tbody tr")
    for i in range(rows.count()):
        expect(rows.nth(i).locator(".badge", has_text=tag.name)).to_be_visible()
    journey.shot(page, "queue-by-tag")

    page.get_by_label(t("企业标签")).select_option(label=t("全部企业"))
    page.get_by_placeholder(t("登记号、标题、企业")).fill("污水管网")
    page.get_by_role("button", name=t("筛选")).click()
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name=DUPLICATE_TITLE)).to_have_count(2)

    # -- routes the key enterprise's appeal as the rules suggest ---------------------------
    page.get_by_placeholder(t("登记号、标题、企业")).fill(KEY_TITLE)
    page.get_by_role("button", name=t("筛选")).click()
    page.get_by_role("link", name=KEY_TITLE).click()
    expect(page.get_by_role("heading", name=KEY_TITLE)).to_be_visible()
    expect(page.get_by_text(t("该分类暂无分办规则，请手动选择承办单位。"))).to_be_visible()
    route = page.locator("#route-form")
    # Choosing the category asks the server (htmx) for the rules' suggestion: only once htmx
    # has read the page (its script is at the end of the body), or the change is lost; the
    # heading shows before that on a loaded machine.
    page.wait_for_load_state("load")
    route.get_by_label(t("诉求分类")).select_option(label="融资")
    # The round trip may take a while on a loaded CI machine (it once took over 5 s).
    suggested = (
        t("分办规则建议：%(lead)s 牵头", lead="市财政局") + p("，") + "市发改委 " + t("配合")
    )
    expect(route.get_by_text(suggested)).to_be_visible(timeout=15_000)
    expect(route.get_by_label(t("诉求分类"))).to_have_value(str(_category_pk("finance")))
    # The pickers are Tom Select's; the native selects underneath hold what is posted.
    lead = route.locator("select[name=lead]")
    expect(lead.locator("option:checked")).to_have_text("市财政局")
    co_handlers = route.locator("select[name=co_handlers]")
    expect(co_handlers.locator("option:checked")).to_have_text(["市发改委"])
    # Searching the co-handler picker: city bureaus come first, a county is one search away.
    picker = route.locator(".ts-wrapper.multi")
    picker.locator("input").fill("郎溪")
    expect(page.locator(".ts-dropdown .option", has_text="郎溪县")).to_be_visible()
    expect(page.locator(".ts-dropdown .optgroup-header").first).to_have_text(t("县市区政府"))
    picker.locator("input").fill("")
    page.keyboard.press("Escape")
    route.get_by_label(t("内部交办意见（仅承办单位和工作人员可见）")).fill(
        "重点企业诉求，请财政局牵头、发改委配合，五个工作日内答复。"
    )
    route.get_by_label(t("给企业的说明（企业在进度查询中可见）")).fill(
        "已请市财政局牵头办理，五个工作日内答复。"
    )
    journey.shot(page, "routing")
    route.get_by_role("button", name=t("确认交办")).click()
    expect_message(page, t("已交办。"))
    expect(page.locator("h1 + .badge", has_text=t("已交办"))).to_be_visible()
    departments = page.locator(".card", has_text=t("承办单位")).locator("li")
    expect(departments).to_have_count(2)
    expect(departments.first).to_contain_text("市财政局 · " + t("牵头单位"))
    expect(departments.last).to_contain_text("市发改委 · " + t("配合单位"))
    journey.shot(page, "routed")
    key_appeal.refresh_from_db()
    assert key_appeal.status == Appeal.Status.ASSIGNED
    assert sorted(key_appeal.assignments.values_list("department__code", "role")) == [
        ("czj", Assignment.Role.LEAD),
        ("fgw", Assignment.Role.CO),
    ]

    # -- merges the duplicate into the earlier appeal, from the similar appeals shown --------
    page.get_by_role("link", name=t("待分办"), exact=True).click()
    page.get_by_role("link", name=duplicate.number).click()
    suggestion = page.locator("#similar .similar-appeal", has_text=original.number)
    expect(suggestion).to_be_visible()
    expect(suggestion.locator(".badge").first).to_be_visible()  # the reason it is suggested
    journey.shot(page, "similar")
    suggestion.get_by_role("button", name=t("并入 %(n)s", n=original.number)).click()
    expect_message(page, t("已并案。"))
    expect(page.locator("h1 + .badge", has_text=t("已并案"))).to_be_visible()
    expect(page.locator(".alert").get_by_role("link", name=original.number)).to_be_visible()
    duplicate.refresh_from_db()
    assert duplicate.status == Appeal.Status.MERGED
    assert duplicate.merged_into_id == original.pk
    journey.shot(page, "merged")

    # -- declines one, with an explanation for the enterprise ------------------------------
    page.get_by_role("link", name=t("待分办"), exact=True).click()
    page.get_by_role("link", name=declined.number).click()
    decline = page.locator(".card", has=page.get_by_text(t("不予受理 / 转办"), exact=True))
    decline.get_by_label(t("处理方式")).select_option(label=t("不予受理（不属于受理范围）"))
    explanation = "装修噪音属于邻里纠纷，不属于企业诉求受理范围，请向所在社区或12345热线反映。"
    decline.get_by_label(t("给企业的说明")).fill(explanation)
    decline.get_by_role("button", name=t("提交")).click()
    expect_message(page, t("已办结并告知企业。"))
    expect(page.locator("h1 + .badge", has_text=t("不予受理"))).to_be_visible()
    expect(page.locator(".alert-secondary")).to_contain_text(explanation)
    journey.shot(page, "declined")

    # -- none of the three waits in the queue any more -------------------------------------
    page.get_by_role("link", name=t("待分办"), exact=True).click()
    for number in (key_appeal.number, duplicate.number, declined.number):
        expect(page.get_by_role("link", name=number)).to_have_count(0)
    expect(page.get_by_role("link", name=original.number)).to_be_visible()
    journey.shot(page, "queue-after")
    statuses = dict(
        Appeal.objects.filter(pk__in=[duplicate.pk, declined.pk]).values_list("pk", "status")
    )
    assert statuses == {duplicate.pk: Appeal.Status.MERGED, declined.pk: Appeal.Status.NOT_ACCEPTED}


def _category_pk(code: str) -> int:
    from departments.models import Category

    return Category.objects.get(code=code).pk
