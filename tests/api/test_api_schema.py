"""The OpenAPI schema at /api/schema/ describes what the API answers. The schemathesis passes
(tests/api/test_schemathesis.py, RUN_SCHEMATHESIS=1) found the mismatches pinned here; these
checks are cheap, so they run with every test run."""

import json

import pytest

from appeals.actions import Action
from appeals.models import Appeal

pytestmark = pytest.mark.django_db

# (component, property): each is null for a real appeal (no category or region yet, not
# merged) or a real event (one without a department, such as "filed").
NULLABLE = [
    ("AppealListOut", "category"),
    ("AppealListOut", "region"),
    ("AppealStaffOut", "category"),
    ("AppealStaffOut", "region"),
    ("AppealStaffOut", "merged_into"),
    ("AppealPublicOut", "merged_into"),
    ("EventOut", "department"),
    ("ActionOut", "assignment"),
    ("ActionOut", "reply"),
    ("ActionOut", "extension"),
]


@pytest.fixture
def openapi(api) -> dict:
    response = api().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_public_and_lists_every_operation(openapi):
    paths = openapi["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)
    assert {"/api/v1/appeals/", "/api/v1/track/", "/api/v1/appeal-list/"} <= set(paths)
    operations = [(p, m) for p, ops in paths.items() for m in ops if m in {"get", "post"}]
    assert len(operations) == 35
    assert "tokenAuth" in openapi["components"]["securitySchemes"]


def test_those_fields_are_really_null_in_answers(api, office, file_appeal):
    appeal = file_appeal().appeal
    listed = api(office).get("/api/v1/appeal-list/").json()["results"][0]
    assert listed["category"] is None and listed["region"] is None
    detail = api(office).get(f"/api/v1/appeals/{appeal.number}/").json()
    assert detail["merged_into"] is None and detail["events"][0]["department"] is None


@pytest.mark.parametrize(("component", "prop"), NULLABLE)
def test_fields_that_can_be_null_are_declared_nullable(openapi, component, prop):
    assert openapi["components"]["schemas"][component]["properties"][prop].get("nullable")


def test_the_enterprise_gets_the_public_view_from_the_appeal_detail(
    api, enterprise_user, appeal_at
):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    body = api(enterprise_user).get(f"/api/v1/appeals/{appeal.number}/").json()
    assert "awaiting_material" in body and "assignments" not in body


def test_the_appeal_detail_documents_the_enterprise_view_too(openapi):
    answer = openapi["paths"]["/api/v1/appeals/{number}/"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    shapes = json.dumps(openapi["components"]["schemas"][ref])
    assert "AppealPublicOut" in shapes and "AppealStaffOut" in shapes


def test_the_staff_view_documents_its_actions_and_every_action_code(openapi):
    schemas = openapi["components"]["schemas"]
    actions = schemas["AppealStaffOut"]["properties"]["actions"]
    assert actions["items"]["$ref"].endswith("/ActionOut")
    assert set(schemas["ActionCodeEnum"]["enum"]) == set(Action)
