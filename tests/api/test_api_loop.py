"""The whole loop through the API only, with idempotent filing, tracking by number and query
code, the two reviews of a reply that says no, and API tokens acting in one role."""

import re

import pytest

from appeals.models import Appeal, Reply
from departments.roles import Role
from departments.tokens import api_token_revoke
from tests import workflow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FILE_URL = "/api/v1/appeals/"
TRACK_URL = "/api/v1/track/"
RATE_URL = "/api/v1/track/rate/"

FILING = {
    "title": "用电增容报装迟迟未办理",
    "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
    "enterprise_name": "宣城示范科技有限公司",
    "contact_name": "张三",
    "contact_phone": "13805630001",
}

RECEIPT_KEYS = {"number", "query_code", "status", "filed_at"}
PUBLIC_KEYS = {
    "number",
    "title",
    "content",
    "status",
    "status_display",
    "filed_at",
    "closed_at",
    "triage_explanation",
    "merged_into",
    "awaiting_material",
    "replies",
    "events",
    "attachments",
}
STAFF_KEYS = {
    "number",
    "title",
    "status",
    "status_display",
    "colour",
    "priority",
    "channel",
    "category",
    "region",
    "enterprise",
    "filed_at",
    "closed_at",
    "content",
    "contact_name",
    "contact_phone",
    "is_anonymous",
    "is_blocked",
    "returned_count",
    "reopened_count",
    "awaiting_material_since",
    "triage_explanation",
    "merged_into",
    "assignments",
    "replies",
    "events",
    "attachments",
    "actions",
}
ERROR_KEYS = {"code", "message"}


def _url(number: str, *rest) -> str:
    return "/".join(["/api/v1/appeals", number, *map(str, rest)]) + "/"


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content.decode()
    return response.json()


def _assignment(body: dict, role: str, department) -> int:
    (found,) = [
        a["id"]
        for a in body["assignments"]
        if a["role"] == role and a["department_id"] == department.pk
    ]
    return found


def test_an_appeal_walks_the_whole_loop_through_the_api(
    api, token_api, commissioner, office, handler_a, head_a, handler_b, dept_a, dept_b, category
):
    # --- A system files without an account, retrying with the same Idempotency-Key. ----------
    system = api()
    first = system.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="crm-20260101-1")
    receipt = _ok(first, 201)
    assert set(receipt) == RECEIPT_KEYS
    assert re.fullmatch(r"XC-\d{4}-\d{6}", receipt["number"])
    assert receipt["status"] == Appeal.Status.TRIAGE
    number, code = receipt["number"], receipt["query_code"]

    retry = system.post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="crm-20260101-1")
    assert _ok(retry, 200) == receipt
    assert Appeal.objects.count() == 1

    reused = system.post(
        FILE_URL,
        {**FILING, "title": "另一件事"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="crm-20260101-1",
    )
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"
    assert set(reused.json()) == ERROR_KEYS
    assert Appeal.objects.count() == 1

    # --- Later, anyone holding the number and the code tracks it. -----------------------------
    tracker = api()
    tracked = _ok(tracker.post(TRACK_URL, {"number": number, "code": code}, format="json"))
    assert set(tracked) == PUBLIC_KEYS
    assert tracked["status"] == Appeal.Status.TRIAGE and tracked["replies"] == []
    assert [e["code"] for e in tracked["events"]] == ["filed"]

    # --- The commissioner routes it to dept A with dept B as co-handler. ----------------------
    routed = _ok(
        api(commissioner).post(
            _url(number, "route"),
            {"category": category.pk, "lead": dept_a.pk, "co_handlers": [dept_b.pk]},
            format="json",
        )
    )
    assert set(routed) == STAFF_KEYS
    assert routed["status"] == Appeal.Status.ASSIGNED
    assert {(a["role"], a["state"]) for a in routed["assignments"]} == {
        ("lead", "assigned"),
        ("co", "assigned"),
    }
    lead = _assignment(routed, "lead", dept_a)
    co = _assignment(routed, "co", dept_b)

    # --- Dept A's handling system works with a real token; dept B's handler with a session. ---
    lead_system, _token = token_api(handler_a, Role.HANDLER, "住建局办公系统")
    co_handler = api(handler_b)

    signed = _ok(lead_system.post(_url(number, "assignments", lead, "sign"), format="json"))
    assert signed["status"] == Appeal.Status.IN_PROGRESS
    # The answer lists what the caller may do next, as the appeal page offers it.
    next_step = {"code": "reply", "assignment": lead, "reply": None, "extension": None}
    assert next_step in signed["actions"]
    _ok(co_handler.post(_url(number, "assignments", co, "sign"), format="json"))
    opinion = _ok(
        co_handler.post(
            _url(number, "assignments", co, "opinion"), {"content": "我局无异议。"}, format="json"
        )
    )
    assert {a["id"]: a["state"] for a in opinion["assignments"]}[co] == "done"

    replied = _ok(
        lead_system.post(
            _url(number, "assignments", lead, "reply"),
            {"outcome": Reply.Outcome.EXPLAINED, "content": "依据现行政策暂无法增容，说明如下……"},
            format="json",
        )
    )
    (reply,) = replied["replies"]
    assert reply["state"] == Reply.State.PENDING_HEAD and reply["outcome"] == "explained"
    # A reply that says no is not shown to the enterprise before both reviews.
    tracked = _ok(tracker.post(TRACK_URL, {"number": number, "code": code}, format="json"))
    assert tracked["replies"] == [] and tracked["status"] == Appeal.Status.IN_PROGRESS

    # --- The head of dept A, then the office, approve it. ------------------------------------
    review_url = _url(number, "replies", reply["id"], "review")
    by_head = _ok(api(head_a).post(review_url, {"approve": True}, format="json"))
    assert by_head["replies"][0]["state"] == Reply.State.PENDING_OFFICE
    by_office = _ok(api(office).post(review_url, {"approve": True, "note": ""}, format="json"))
    assert by_office["replies"][0]["state"] == Reply.State.PUBLISHED
    assert by_office["status"] == Appeal.Status.REPLIED

    tracked = _ok(tracker.post(TRACK_URL, {"number": number, "code": code}, format="json"))
    assert tracked["status"] == Appeal.Status.REPLIED
    assert [(r["outcome"], r["rating"]) for r in tracked["replies"]] == [("explained", None)]
    assert set(tracked["replies"][0]) == {
        "department",
        "outcome",
        "content",
        "published_at",
        "rating",
    }

    # --- Unsatisfied, with a request to handle it again (重办). ------------------------------
    rated = _ok(
        tracker.post(
            RATE_URL,
            {
                "number": number,
                "code": code,
                "score": "unsatisfied",
                "comment": "希望再协调",
                "rehandle": True,
            },
            format="json",
        )
    )
    assert set(rated) == PUBLIC_KEYS
    assert rated["status"] == Appeal.Status.IN_PROGRESS
    assert rated["replies"][0]["rating"] == {
        "score": "unsatisfied",
        "comment": "希望再协调",
        "rehandle": True,
    }
    assert Appeal.objects.get(number=number).reopened_count == 1

    # --- The lead replies again, resolved this time (no review), and it is rated satisfied. ---
    again = _ok(
        lead_system.post(
            _url(number, "assignments", lead, "reply"),
            {"outcome": Reply.Outcome.RESOLVED, "content": "已协调供电公司完成增容。"},
            format="json",
        )
    )
    assert again["status"] == Appeal.Status.REPLIED
    assert [r["state"] for r in again["replies"]].count(Reply.State.PUBLISHED) == 2

    closed = _ok(
        tracker.post(
            RATE_URL, {"number": number, "code": code, "score": "satisfied"}, format="json"
        )
    )
    assert closed["status"] == Appeal.Status.CLOSED and closed["closed_at"] is not None
    assert [r["outcome"] for r in closed["replies"]] == ["explained", "resolved"]
    assert Appeal.objects.get(number=number).status == Appeal.Status.CLOSED


def test_an_idempotency_key_belongs_to_its_caller_and_files_once_per_caller(api, enterprise_user):
    """The same key from an enterprise account and from an anonymous system are two keys."""
    anonymous = api().post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
    signed_in = api(enterprise_user).post(
        FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="k-7"
    )
    assert anonymous.status_code == signed_in.status_code == 201
    assert anonymous.json()["number"] != signed_in.json()["number"]
    assert Appeal.objects.count() == 2


def test_filing_without_a_key_files_every_time(api):
    first = _ok(api().post(FILE_URL, FILING, format="json"), 201)
    second = _ok(api().post(FILE_URL, FILING, format="json"), 201)
    assert first["number"] != second["number"]
    assert set(first) == RECEIPT_KEYS


def test_a_revoked_token_gets_401_and_acts_no_more(token_api, appeal_at, handler_a):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client, token = token_api(handler_a, Role.HANDLER)
    assert client.get(_url(appeal.number)).status_code == 200

    api_token_revoke(actor=None, token_id=token.pk)
    lead = workflow.lead_assignment(appeal)
    before = workflow.snapshot(appeal)
    for response in (
        client.get(_url(appeal.number)),
        client.post(_url(appeal.number, "assignments", lead.pk, "sign"), format="json"),
    ):
        assert response.status_code == 401
        assert response.json() == {"code": "authentication_failed", "message": "令牌无效或已吊销。"}
        assert response["WWW-Authenticate"] == "Token"
    assert workflow.snapshot(appeal) == before


def test_an_unknown_token_and_a_malformed_header_get_401(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token qh_not-a-real-key")
    assert client.get("/api/v1/appeal-list/").json()["code"] == "authentication_failed"
    client.credentials(HTTP_AUTHORIZATION="Token two words")
    response = client.get("/api/v1/appeal-list/")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": "认证信息格式不正确。"}


@pytest.fixture
def pending_office_reply(appeal_at, cast, head_a):
    """An appeal whose "explained" reply the head of dept A approved: the office is next."""
    from appeals import services

    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    reply = services.reply_submit(
        actor=cast.lead_handler,
        assignment_id=workflow.lead_assignment(appeal).pk,
        outcome=Reply.Outcome.EXPLAINED,
        content="依据现行政策暂无法办理，说明如下……",
    )
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_OFFICE
    return appeal, reply


def test_a_commissioner_token_of_an_office_user_cannot_review_at_the_office_stage(
    token_api, pending_office_reply
):
    """The user holds both roles; the token was issued for one, and acts in that one only."""
    appeal, reply = pending_office_reply
    both = UserFactory(username="both", roles=[Role.COMMISSIONER, Role.OFFICE])
    as_commissioner, _ = token_api(both, Role.COMMISSIONER, "分办系统")
    url = _url(appeal.number, "replies", reply.pk, "review")

    before = workflow.snapshot(appeal)
    refused = as_commissioner.post(url, {"approve": True}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"code": "forbidden", "message": "只有营商办可以审核此答复。"}
    assert workflow.snapshot(appeal) == before

    # The commissioner token still does what a commissioner may: see the appeal.
    assert as_commissioner.get(_url(appeal.number)).status_code == 200
    # The same user with an office token may review.
    as_office, _ = token_api(both, Role.OFFICE, "营商办系统")
    approved = _ok(as_office.post(url, {"approve": True}, format="json"))
    assert approved["replies"][0]["state"] == Reply.State.PUBLISHED


def test_a_token_cannot_be_issued_for_a_role_its_user_does_not_hold(handler_a):
    from departments.tokens import api_token_issue

    with pytest.raises(ValueError):
        api_token_issue(actor=handler_a, user=handler_a, role=Role.OFFICE, name="x")


def test_a_commissioner_token_of_a_department_head_does_not_act_as_the_head(
    token_api, appeal_at, cast, head_a
):
    """head_a also serves as a commissioner; their commissioner token must not review as head."""
    from appeals import services
    from departments.services import user_grant_role

    user_grant_role(user=head_a, role=Role.COMMISSIONER)
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    reply = services.reply_submit(
        actor=cast.lead_handler,
        assignment_id=workflow.lead_assignment(appeal).pk,
        outcome=Reply.Outcome.EXPLAINED,
        content="依据现行政策暂无法办理，说明如下……",
    )
    as_commissioner, _ = token_api(head_a, Role.COMMISSIONER, "分办系统")
    response = as_commissioner.post(
        _url(appeal.number, "replies", reply.pk, "review"), {"approve": True}, format="json"
    )
    assert response.status_code == 403
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_HEAD


def test_a_receipt_gives_filed_at_in_the_same_form_with_or_without_a_key(api):
    keyed = _ok(api().post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="k-9"), 201)
    plain = _ok(api().post(FILE_URL, FILING, format="json"), 201)
    assert keyed["filed_at"][-6:] == plain["filed_at"][-6:] == "+08:00"


def test_the_office_puts_an_appeal_on_the_public_board_through_the_api(api, office, appeal_at):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    response = api(office).post(
        f"/api/v1/appeals/{appeal.number}/publicise/", {"public": True}, format="json"
    )
    assert response.status_code == 200
    appeal.refresh_from_db()
    assert appeal.on_public_board is True


def test_only_the_office_publishes_a_league_table_through_the_api(
    api, office, commissioner, file_appeal, walk_to
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    shanghai = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime(2026, 4, 10, 9, tzinfo=shanghai)):
        empty = api(office).post("/api/v1/league/2026Q1/publish/", format="json")
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=shanghai)):
        for _ in range(5):  # the minimum for a department to be ranked
            walk_to(file_appeal().appeal, Appeal.Status.IN_PROGRESS)
    with time_machine.travel(datetime(2026, 4, 10, 9, tzinfo=shanghai)):
        refused = api(commissioner).post("/api/v1/league/2026Q1/publish/", format="json")
        published = api(office).post("/api/v1/league/2026Q1/publish/", format="json")
        again = api(office).post("/api/v1/league/2026Q1/publish/", format="json")
    assert empty.status_code == 409 and empty.json()["code"] == "league_empty"
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert published.status_code == 201 and published.json()["quarter"] == "2026Q1"
    assert again.status_code == 409 and again.json()["code"] == "already_published"
    bad = api(office).post("/api/v1/league/2026-Q9/publish/", format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_quarter"


def test_an_unsatisfied_rating_through_the_api_must_choose_re_handling_or_an_ending(api, appeal_at):
    appeal = appeal_at(Appeal.Status.REPLIED)
    client = api(appeal.filed_by)
    url = f"/api/v1/my/appeals/{appeal.number}/rate/"

    silent = client.post(url, {"score": "unsatisfied"}, format="json")
    no_reason = client.post(url, {"score": "unsatisfied", "rehandle": False}, format="json")

    assert silent.status_code == 400 and "rehandle" in silent.json()["fields"]
    assert no_reason.status_code == 400 and "comment" in no_reason.json()["fields"]
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.REPLIED
    ended = client.post(
        url, {"score": "unsatisfied", "rehandle": False, "comment": "已起诉。"}, format="json"
    )
    assert ended.status_code == 200 and ended.json()["status"] == Appeal.Status.CLOSED


def _stored_rows_text() -> str:
    """Every column of every idempotency row, as the database holds it (a backup would)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM appeals_idempotencykey")
        rows = cursor.fetchall()
    return repr(rows) + "".join(
        bytes(value).decode("latin-1")
        for row in rows
        for value in row
        if isinstance(value, bytes | memoryview)
    )


def test_the_idempotency_store_keeps_neither_the_query_code_nor_the_key_in_clear(api):
    first = _ok(api().post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-4711"), 201)
    stored = _stored_rows_text()
    assert first["query_code"] not in stored
    assert first["query_code"].replace("-", "") not in stored
    assert "erp-4711" not in stored


def test_a_replay_with_the_same_key_returns_the_same_receipt_which_another_key_cannot_open(api):
    from cryptography.exceptions import InvalidTag

    from appeals.models import IdempotencyKey
    from core.sealing import unseal

    first = _ok(api().post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-4712"), 201)
    again = _ok(api().post(FILE_URL, FILING, format="json", HTTP_IDEMPOTENCY_KEY="erp-4712"), 200)
    assert again == first
    row = IdempotencyKey.objects.get()
    assert unseal(row.sealed_receipt, secret="erp-4712", context=row.owner) == first
    with pytest.raises(InvalidTag):
        unseal(row.sealed_receipt, secret="erp-4713", context=row.owner)
    with pytest.raises(InvalidTag):  # nor can the row be moved to another caller
        unseal(row.sealed_receipt, secret="erp-4712", context="user:1")
