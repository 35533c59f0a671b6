"""Every action endpoint refuses a body without a required field, whatever its content type.

DRF reads a boolean missing from a form body (form-encoded or multipart) as false, as a browser
leaves out an unticked checkbox; a review without `approve` then sent the reply back, a call
without `blocked` cleared the flag and one without `public` took the appeal off the board. The
action serializers use a strict boolean: missing is a 400, as it is in JSON."""

from urllib.parse import urlencode

import pytest

from appeals import services
from appeals.models import Appeal, ExtensionRequest, Reply
from tests import workflow

pytestmark = pytest.mark.django_db

S = Appeal.Status


def _post(client, url: str, data: dict, content: str):
    if content == "form":
        return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
    return client.post(url, data, format="multipart")


@pytest.fixture
def world(appeal_at, handler_a, head_a, office):
    """An appeal in handling with a say-no reply waiting for the head, an extension request
    waiting for the office, flagged blocked and on the public board."""
    appeal = appeal_at(S.IN_PROGRESS)
    lead = workflow.lead_assignment(appeal)
    reply = services.reply_submit(
        actor=handler_a,
        assignment_id=lead.pk,
        outcome=Reply.Outcome.EXPLAINED,
        content="依据现行政策暂无法支持，说明如下。",
    )
    extension = services.extension_request(
        actor=handler_a, assignment_id=lead.pk, days=5, reason="需协调省级部门。"
    )
    services.appeal_flag_blocked(
        actor=office, appeal_id=appeal.pk, blocked=True, reason="用地手续卡在省级审批。"
    )
    services.appeal_publicise(actor=office, appeal_id=appeal.pk, public=True)
    appeal.refresh_from_db()
    return appeal, lead, reply, extension


# endpoint → (who posts, the URL's tail, the body without its required fields, those fields)
ENDPOINTS = {
    "route": ("office", "route", {"note": "请办理。"}, {"category", "lead"}),
    "decline": ("office", "decline", {}, {"status", "explanation"}),
    "merge": ("office", "merge", {}, {"into_number", "explanation"}),
    "close": ("office", "close", {}, {"note"}),
    "follow_up": ("office", "follow-up", {}, {"content"}),
    "blocked": ("office", "blocked", {"reason": "仍在等待审批。"}, {"blocked"}),
    "publicise": ("office", "publicise", {}, {"public"}),
    "return": ("handler_a", "assignments/{lead}/return", {}, {"reason"}),
    "opinion": ("handler_a", "assignments/{lead}/opinion", {}, {"content"}),
    "reply": ("handler_a", "assignments/{lead}/reply", {}, {"outcome", "content"}),
    "material": ("handler_a", "assignments/{lead}/material-request", {}, {"note"}),
    "extension": ("handler_a", "assignments/{lead}/extension", {}, {"days", "reason"}),
    "review": ("head_a", "replies/{reply}/review", {"note": "请补充依据。"}, {"approve"}),
    "decide": ("office", "extensions/{extension}/decide", {"note": "同意。"}, {"approve"}),
}


@pytest.mark.parametrize("content", ["form", "multipart"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_form_body_without_a_required_field_is_refused(request, api, world, endpoint, content):
    appeal, lead, reply, extension = world
    persona, tail, body, required = ENDPOINTS[endpoint]
    url = workflow_url(appeal, tail.format(lead=lead.pk, reply=reply.pk, extension=extension.pk))
    before = workflow.snapshot(appeal)

    response = _post(api(request.getfixturevalue(persona)), url, body, content)

    assert response.status_code == 400, response.content.decode()
    answer = response.json()
    assert answer["code"] == "invalid"
    assert set(answer["fields"]) == required
    assert workflow.snapshot(appeal) == before
    appeal.refresh_from_db()
    assert (appeal.is_blocked, appeal.on_public_board) == (True, True)
    reply.refresh_from_db()
    extension.refresh_from_db()
    assert (reply.state, extension.state) == (
        Reply.State.PENDING_HEAD,
        ExtensionRequest.State.PENDING,
    )


@pytest.mark.parametrize("content", ["form", "multipart"])
def test_a_form_body_with_its_booleans_is_accepted(api, world, head_a, office, content):
    appeal, _lead, reply, extension = world

    calls = [
        (head_a, f"replies/{reply.pk}/review", {"approve": "true"}),
        (office, f"extensions/{extension.pk}/decide", {"approve": "false", "note": "理由不足。"}),
        (office, "blocked", {"blocked": "false"}),
        (office, "publicise", {"public": "0"}),
    ]
    for user, tail, body in calls:
        response = _post(api(user), workflow_url(appeal, tail), body, content)
        assert response.status_code == 200, (tail, response.content.decode())

    reply.refresh_from_db()
    extension.refresh_from_db()
    appeal.refresh_from_db()
    assert reply.state == Reply.State.PENDING_OFFICE
    assert extension.state == ExtensionRequest.State.REJECTED
    assert (appeal.is_blocked, appeal.on_public_board) == (False, False)


@pytest.mark.parametrize("value", ["", "maybe"])
def test_an_empty_or_unknown_boolean_in_a_form_is_refused(api, world, head_a, value):
    appeal, _lead, reply, _extension = world
    url = workflow_url(appeal, f"replies/{reply.pk}/review")

    response = _post(api(head_a), url, {"approve": value, "note": "x"}, "form")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"approve"}


def workflow_url(appeal: Appeal, tail: str) -> str:
    return f"/api/v1/appeals/{appeal.number}/{tail}/"


@pytest.mark.parametrize("content", ["form", "multipart"])
def test_a_null_region_in_a_form_body_routes_without_a_region(
    api, file_appeal, commissioner, category, dept_a, content
):
    """The schema says `region` may be null; a form has no null, so a client writes "null"."""
    appeal = file_appeal().appeal
    body = {"category": category.pk, "lead": dept_a.pk, "region": "null"}

    response = _post(api(commissioner), workflow_url(appeal, "route"), body, content)

    assert response.status_code == 200, response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ASSIGNED and appeal.region_id is None
