"""What a refusal's status tells a client (docs/api.md, 错误): 400 the input is malformed, 404
an id in it names nothing the caller may use, 409 the input is fine but the appeal's current
state refuses it — so that a client retries a 409 later and fixes a 400, and schemathesis'
positive-data-acceptance check holds (a schema-valid request is never a 400)."""

import pytest

from appeals.models import Appeal, Rating
from departments.models import Department
from departments.roles import Role
from tests import workflow
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message"}


def _url(appeal: Appeal, action: str) -> str:
    return f"/api/v1/appeals/{appeal.number}/{action}/"


def _sign_url(appeal: Appeal) -> str:
    assignment = workflow.lead_assignment(appeal)
    return _url(appeal, f"assignments/{assignment.pk}/sign")


def test_signing_an_assignment_already_signed_answers_409_invalid_transition(
    token_api, appeal_at, handler_a
):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client, _token = token_api(handler_a, Role.HANDLER)
    assert client.post(_sign_url(appeal), {}, format="json").status_code == 200

    again = client.post(_sign_url(appeal), {}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert set(again.json()) == ERROR_KEYS


def test_replying_before_signing_answers_409_not_signed(token_api, appeal_at, handler_a):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client, _token = token_api(handler_a, Role.HANDLER)
    assignment = workflow.lead_assignment(appeal)

    response = client.post(
        _url(appeal, f"assignments/{assignment.pk}/reply"),
        {"outcome": "resolved", "content": "已办结。"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_signed"


def _route(client, appeal: Appeal, **body):
    return client.post(_url(appeal, "route"), body, format="json")


def test_routing_to_a_department_that_does_not_exist_answers_404_naming_the_field(
    token_api, appeal_at, commissioner, category
):
    appeal = appeal_at(Appeal.Status.TRIAGE)
    client, _token = token_api(commissioner, Role.COMMISSIONER)
    missing = Department.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    response = _route(client, appeal, category=category.pk, lead=missing)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert list(response.json()["fields"]) == ["lead"]
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.TRIAGE


def test_an_unknown_id_beside_malformed_input_answers_400(
    token_api, appeal_at, commissioner, category
):
    appeal = appeal_at(Appeal.Status.TRIAGE)
    client, _token = token_api(commissioner, Role.COMMISSIONER)
    missing = Department.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    response = _route(client, appeal, category=category.pk, lead=missing, note="x" * 2001)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == {"lead", "note"}


def test_routing_to_a_department_no_longer_active_answers_409(
    token_api, appeal_at, commissioner, category
):
    appeal = appeal_at(Appeal.Status.TRIAGE)
    client, _token = token_api(commissioner, Role.COMMISSIONER)
    closed = DepartmentFactory(code="closed", name="已撤并单位", is_active=False)

    response = _route(client, appeal, category=category.pk, lead=closed.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "inactive_department"


def test_routing_an_appeal_already_routed_answers_409(
    token_api, appeal_at, commissioner, category, dept_a
):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    client, _token = token_api(commissioner, Role.COMMISSIONER)

    response = _route(client, appeal, category=category.pk, lead=dept_a.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_merging_into_a_number_that_names_nothing_answers_404(token_api, appeal_at, commissioner):
    appeal = appeal_at(Appeal.Status.TRIAGE)
    client, _token = token_api(commissioner, Role.COMMISSIONER)

    response = client.post(
        _url(appeal, "merge"),
        {"into_number": "XC-1999-000001", "explanation": "重复提交"},
        format="json",
    )

    assert response.status_code == 404
    assert response.json()["code"] == "merge_target_missing"


def test_rating_an_appeal_with_no_reply_waiting_answers_409(api, appeal_at, enterprise_user):
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)

    response = api(enterprise_user).post(
        f"/api/v1/my/appeals/{appeal.number}/rate/",
        {"score": Rating.Score.SATISFIED},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_replied"


def test_a_malformed_input_the_service_refuses_still_answers_400(token_api, appeal_at, handler_a):
    """The service's own input checks stay 400: the same request is refused in every state."""
    appeal = appeal_at(Appeal.Status.IN_PROGRESS)
    client, _token = token_api(handler_a, Role.HANDLER)
    assignment = workflow.lead_assignment(appeal)

    response = client.post(
        _url(appeal, f"assignments/{assignment.pk}/reply"),
        {"outcome": "resolved", "content": "   "},
        format="json",
    )

    assert response.status_code == 400
