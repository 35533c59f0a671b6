"""The loop through the pages people use, who sees what, and bad input at the door."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appeals import services
from appeals.models import Appeal, Attachment, Reply
from core.snapshots import snapshots_forget
from departments.models import Membership
from departments.roles import Role
from tests import workflow
from tests.factories import UserFactory, credit_code

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _client(client_factory, user=None):
    c = client_factory()
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture
def make_client():
    from django.test import Client

    return lambda user=None: _client(Client, user)


def _file_through_form(client, **overrides):
    data = {
        "is_anonymous": "on",
        "title": "用电增容报装迟迟未办理",
        "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
    }
    data.update(overrides)
    return client.post(reverse("appeal_file"), data)


def _receipt(client) -> tuple[str, str]:
    page = client.get(reverse("appeal_receipt")).content.decode()
    number = re.search(r'id="receipt-number">([^<]+)<', page).group(1)
    code = re.search(r'id="receipt-code">([^<]+)<', page).group(1)
    return number, code


def test_an_appeal_walks_the_whole_loop_through_the_pages(
    make_client, commissioner, office, handler_a, head_a, handler_b, dept_a, dept_b, category
):
    enterprise = make_client()
    response = _file_through_form(enterprise, attachments=SimpleUploadedFile("证明.pdf", PDF))
    assert response.status_code == 302
    number, code = _receipt(enterprise)
    appeal = Appeal.objects.get(number=number)
    assert appeal.status == Appeal.Status.TRIAGE and appeal.is_anonymous
    assert appeal.attachments.count() == 1

    # Later, from another browser, the enterprise tracks it by number and code.
    tracker = make_client()
    response = tracker.post(reverse("track"), {"number": number, "code": code})
    assert response.status_code == 302 and code not in response["Location"]
    assert "待分办" in tracker.get(reverse("track_detail", args=[number])).content.decode()

    staff = make_client(commissioner)
    assert number in staff.get(reverse("triage_queue")).content.decode()
    response = staff.post(
        reverse("appeal_route", args=[number]),
        {"category": category.pk, "lead": dept_a.pk, "co_handlers": [dept_b.pk], "note": ""},
    )
    assert response.status_code == 302
    lead = workflow.lead_assignment(appeal)
    co = workflow.co_assignment(appeal, dept_b)

    a, b = make_client(handler_a), make_client(handler_b)
    assert number in a.get(reverse("inbox")).content.decode()
    a.post(reverse("assignment_sign", args=[number, lead.pk]))
    b.post(reverse("assignment_sign", args=[number, co.pk]))
    b.post(reverse("opinion_submit", args=[number, co.pk]), {"content": "我局无异议。"})
    a.post(
        reverse("reply_submit", args=[number, lead.pk]),
        {"outcome": Reply.Outcome.EXPLAINED, "content": "依据现行政策暂无法增容，说明如下……"},
    )
    # A reply that says no is not shown to the enterprise before both reviews.
    assert "说明如下" not in tracker.get(reverse("track_detail", args=[number])).content.decode()
    reply = appeal.replies.get()
    make_client(head_a).post(
        reverse("reply_review", args=[number, reply.pk]), {"decision": "approve"}
    )
    make_client(office).post(
        reverse("reply_review", args=[number, reply.pk]), {"decision": "approve"}
    )
    page = tracker.get(reverse("track_detail", args=[number])).content.decode()
    assert "说明如下" in page and "请对办理结果进行评价" in page

    tracker.post(
        reverse("track_rate", args=[number]),
        {"score": "unsatisfied", "comment": "希望再协调", "next_step": "rehandle"},
    )
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.IN_PROGRESS and appeal.reopened_count == 1

    a.post(
        reverse("reply_submit", args=[number, lead.pk]),
        {"outcome": Reply.Outcome.RESOLVED, "content": "已协调供电公司完成增容。"},
    )
    tracker.post(reverse("track_rate", args=[number]), {"score": "satisfied"})
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED
    page = tracker.get(reverse("track_detail", args=[number])).content.decode()
    assert "已办结" in page and "已协调供电公司完成增容" in page


@pytest.fixture
def routed(appeal_at):
    """An appeal routed to dept_a (lead), filed by enterprise_user."""
    return appeal_at(Appeal.Status.ASSIGNED)


@pytest.mark.parametrize(
    ("persona", "detail", "in_list"),
    [
        ("anonymous", 302, None),
        ("office", 200, "triage"),
        ("commissioner", 200, "triage"),
        ("leader", 200, None),
        ("supervisor", 404, None),
        ("handler_a", 200, "inbox"),
        ("head_a", 200, "inbox"),
        ("handler_b", 404, "inbox"),
        ("enterprise_user", 403, "my"),
        ("other_enterprise", 403, "my"),
    ],
)
def test_each_role_sees_only_the_appeals_it_may_see(
    request, make_client, routed, persona, detail, in_list
):
    users = {
        "anonymous": None,
        "leader": lambda: UserFactory(username="leader", roles=[Role.LEADER]),
        "supervisor": lambda: UserFactory(username="supervisor", roles=[Role.SUPERVISOR]),
        "other_enterprise": lambda: UserFactory(username="ent_b", roles=[Role.ENTERPRISE]),
    }
    maker = users.get(persona, lambda: request.getfixturevalue(persona))
    user = maker() if maker else None
    client = make_client(user)
    response = client.get(reverse("appeal_detail", args=[routed.number]))
    assert response.status_code == detail
    visible_to_enterprise = persona == "enterprise_user"
    tracking = client.get(reverse("track_detail", args=[routed.number]))
    assert tracking.status_code == (200 if visible_to_enterprise else 404)
    if in_list == "inbox":
        page = client.get(reverse("inbox") + "?tab=to_sign").content.decode()
        assert (routed.number in page) == (persona != "handler_b")
    elif in_list == "my":
        page = client.get(reverse("my_appeals")).content.decode()
        assert (routed.number in page) == visible_to_enterprise
    elif in_list == "triage":
        assert client.get(reverse("triage_queue")).status_code == 200


def test_a_handler_cannot_act_on_another_departments_assignment(make_client, routed, handler_b):
    lead = workflow.lead_assignment(routed)
    response = make_client(handler_b).post(
        reverse("assignment_sign", args=[routed.number, lead.pk])
    )
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.state == "assigned"


def test_an_assignment_must_belong_to_the_appeal_in_the_url(make_client, appeal_at, handler_a):
    first, second = appeal_at(Appeal.Status.ASSIGNED), appeal_at(Appeal.Status.ASSIGNED)
    other_lead = workflow.lead_assignment(second)
    response = make_client(handler_a).post(
        reverse("assignment_sign", args=[first.number, other_lead.pk])
    )
    assert response.status_code == 404


def test_bad_filing_input_is_answered_in_chinese_and_nothing_is_saved(make_client):
    client = make_client()
    response = _file_through_form(
        client,
        is_anonymous="",
        enterprise_name="宣城示范科技有限公司",
        credit_code="91341802MA2XXXXXX0",
        contact_name="张三",
        contact_phone="12345",
        content="",
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "统一社会信用代码" in page and "手机号码" in page and "该字段是必填项" in page
    assert "用电增容报装迟迟未办理" in page  # what was typed is kept
    assert Appeal.objects.count() == 0


def test_an_attachment_that_is_not_what_it_claims_is_refused_and_nothing_is_written(
    make_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("合同.pdf", b"<html><script>alert(1)</script></html>")
    response = _file_through_form(
        make_client(), attachments=[SimpleUploadedFile("a.pdf", PDF), fake]
    )
    assert response.status_code == 400
    assert "类型不支持" in response.content.decode()
    assert Appeal.objects.count() == 0 and Attachment.objects.count() == 0
    assert not any(tmp_path.rglob("*.pdf"))


def test_an_enterprise_user_filing_with_its_credit_code_links_the_appeal(
    make_client, enterprise, enterprise_user
):
    response = _file_through_form(
        make_client(enterprise_user),
        is_anonymous="",
        enterprise_name=enterprise.name,
        credit_code=enterprise.credit_code.lower(),
        contact_name="李四",
        contact_phone="13905630002",
    )
    assert response.status_code == 302
    assert Appeal.objects.get().enterprise == enterprise


def test_a_wrong_code_and_an_unknown_number_get_the_same_answer(make_client, file_appeal):
    filed = file_appeal()
    client = make_client()
    wrong_code = client.post(reverse("track"), {"number": filed.appeal.number, "code": "AAAA"})
    unknown = client.post(reverse("track"), {"number": "XC-2099-999999", "code": filed.query_code})
    assert wrong_code.status_code == unknown.status_code == 400
    errors = [r.context["form"].non_field_errors() for r in (wrong_code, unknown)]
    assert errors[0] == errors[1] == ["登记号或查询码不正确，请核对后重试。"]


def test_the_receipt_shows_the_query_code_only_once(make_client):
    client = make_client()
    _file_through_form(client)
    number, code = _receipt(client)
    assert code not in client.get(reverse("appeal_receipt"), follow=True).content.decode()
    assert Appeal.objects.get(number=number).query_code_hash != code


def test_a_refused_action_says_why_and_keeps_what_was_typed(
    make_client, file_appeal, commissioner, dept_a, category
):
    appeal = file_appeal().appeal
    response = make_client(commissioner).post(
        reverse("appeal_route", args=[appeal.number]),
        {
            "category": category.pk,
            "lead": dept_a.pk,
            "co_handlers": [dept_a.pk],
            "note": "请尽快办理此事",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "牵头单位不能同时作为配合单位" in page and "请尽快办理此事" in page
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.TRIAGE


def test_an_action_from_a_stale_page_is_refused_with_the_reason(make_client, appeal_at, handler_a):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    lead = workflow.lead_assignment(appeal)
    response = make_client(handler_a).post(
        reverse("reply_submit", args=[appeal.number, lead.pk]),
        {"outcome": "resolved", "content": "我们已经处理完毕的详细说明"},
    )
    assert response.status_code == 400
    assert "请先签收" in response.content.decode()


def _many(appeal_at, n, stage):
    for _ in range(n):
        appeal_at(stage)


def test_the_triage_queue_costs_the_same_queries_for_any_page_size(
    make_client, file_appeal, commissioner, django_assert_num_queries
):
    client = make_client(commissioner)
    for _ in range(3):
        file_appeal()
    snapshots_forget()  # as in the inbox's test below
    client.get(reverse("triage_queue"))  # warm the session
    # session, user, groups (roles), count, the tags' filter list (the categories and regions
    # of the filters and the rows are held by the process: departments.selectors.CHOICES), the
    # page of appeals, their enterprises' names, the enterprises' tags, the unread-message
    # count in the top bar
    with django_assert_num_queries(9):
        client.get(reverse("triage_queue"))
    for _ in range(30):
        file_appeal()
    with django_assert_num_queries(9):
        response = client.get(reverse("triage_queue"))
    assert response.context["page"].paginator.count == 33


def test_the_department_inbox_costs_the_same_queries_for_any_page_size(
    make_client, appeal_at, handler_a, django_assert_num_queries
):
    client = make_client(handler_a)
    _many(appeal_at, 3, Appeal.Status.ASSIGNED)
    # As in a process whose categories did not just change: the fixtures' categories were
    # saved in this test's transaction, which never commits (core.snapshots).
    snapshots_forget()
    client.get(reverse("inbox"))
    # session, user, groups, memberships, departments, the tabs' counts (one query), page
    # count, page rows, the rows' deadline clocks, the unread-message count in the top bar
    # (the rows' categories are held by the process: departments.selectors.CHOICES)
    with django_assert_num_queries(10):
        client.get(reverse("inbox"))
    _many(appeal_at, 30, Appeal.Status.ASSIGNED)
    with django_assert_num_queries(10):
        response = client.get(reverse("inbox"))
    assert response.context["counts"]["to_sign"] == 33


def test_a_staff_entered_hotline_appeal_gets_a_number_and_its_channel(make_client, commissioner):
    response = make_client(commissioner).post(
        reverse("staff_file"),
        {
            "channel": "hotline",
            "priority": "urgent",
            "enterprise_name": "宣城示范科技有限公司",
            "credit_code": credit_code("MA0000009"),
            "contact_name": "王五",
            "contact_phone": "0563-1234567",
            "title": "热线转来：园区路灯损坏",
            "content": "夜间路段无照明。",
        },
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.channel == "hotline" and appeal.priority == "urgent"
    assert appeal.filed_by == commissioner


def test_membership_roles_decide_the_inbox_not_only_groups(make_client, dept_a, appeal_at):
    """A liaison added in the admin sees the department's inbox like a handler."""
    from departments.services import membership_add

    liaison = UserFactory(username="liaison")
    membership_add(user=liaison, department=dept_a, role=Membership.Role.LIAISON)
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    page = make_client(liaison).get(reverse("inbox")).content.decode()
    assert appeal.number in page


def test_the_tracking_page_shows_what_the_department_asked_for_beside_the_supply_form(
    make_client, appeal_at, handler_a
):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    services.appeal_request_material(
        actor=handler_a,
        assignment_id=workflow.lead_assignment(appeal).pk,
        note="请提供土地使用权证复印件。",
    )
    enterprise = make_client(appeal.filed_by)

    page = enterprise.get(reverse("track_detail", args=[appeal.number])).content.decode()

    supply_card = page.split("承办单位请您补充材料", 1)[1].split("<form", 1)[0]
    assert "请提供土地使用权证复印件。" in supply_card


def test_the_tracking_page_shows_the_answer_promised_to_the_enterprise_counted_from_filing(
    make_client, file_appeal
):
    with time_machine.travel(datetime(2026, 3, 6, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        appeal = file_appeal().appeal
        enterprise = make_client(appeal.filed_by)

        page = enterprise.get(reverse("track_detail", args=[appeal.number])).content.decode()

    # Ten working days from Friday 03-06 (the default policy), whoever handles it and when.
    promise = page.split('id="promise"', 1)[1].split("</p>", 1)[0]
    assert "承诺答复期限" in promise
    assert "2026-03-20" in promise
    assert "还剩 10 个工作日" in promise


def test_unsatisfied_without_a_choice_keeps_the_rating_form_and_closes_nothing(
    make_client, appeal_at
):
    appeal = appeal_at(Appeal.Status.REPLIED)
    enterprise = make_client(appeal.filed_by)

    response = enterprise.post(
        reverse("track_rate", args=[appeal.number]), {"score": "unsatisfied", "comment": "不满意"}
    )

    assert response.status_code == 400
    assert "请选择申请重新办理，或不再办理并说明理由。" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REPLIED
    assert not appeal.ratings.exists()


def test_the_rating_form_offers_re_handling_and_ending_as_an_explicit_choice(
    make_client, appeal_at
):
    appeal = appeal_at(Appeal.Status.REPLIED)
    page = make_client(appeal.filed_by).get(reverse("track_detail", args=[appeal.number]))

    html = page.content.decode()
    assert 'name="next_step" value="rehandle"' in html
    assert 'name="next_step" value="close"' in html
    assert "checked" not in html.split('name="next_step"', 1)[1].split(">", 1)[0]  # no default
