"""The OpenAPI schema at /api/schema/ describes what the API answers. The schemathesis passes
(tests/api/test_schemathesis.py, RUN_SCHEMATHESIS=1) found the mismatches pinned here; these
checks are cheap, so they run with every test run."""

import json
import re

import pytest
from openapi_schema_validator import OAS30Validator

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
    assert len(operations) == 52
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


def test_the_schema_is_a_valid_openapi_document(openapi):
    from openapi_spec_validator import validate

    validate(openapi)  # raises on the first error


def _operations(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_documents_its_error_answers_in_the_error_shape(openapi):
    error = openapi["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"code", "message"}
    assert {"fields", "request_id"} <= set(error["properties"])
    for path, method, operation in _operations(openapi):
        responses = operation["responses"]
        expected = {"401", "503"}
        query = [p for p in operation.get("parameters", ()) if p["in"] == "query"]
        if method == "post" or query:
            expected.add("400")
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in {s for s in responses if not s.startswith("2")}:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_throttled_and_tracking_operations_document_429_and_404(openapi):
    paths = openapi["paths"]
    assert "429" in paths["/api/v1/appeals/"]["post"]["responses"]
    for tracking in ("/api/v1/track/", "/api/v1/track/rate/", "/api/v1/track/material/"):
        assert {"404", "429"} <= set(paths[tracking]["post"]["responses"])
    assert "429" not in paths["/api/v1/inbox/"]["get"]["responses"]


def test_actions_the_state_can_refuse_document_409_and_bodies_naming_ids_404(openapi):
    paths = openapi["paths"]
    staff_actions = [
        (path, ops["post"])
        for path, ops in paths.items()
        if path.startswith("/api/v1/appeals/{number}/") and "post" in ops
    ]
    assert len(staff_actions) > 10
    for path, operation in staff_actions:
        # Publicising and revealing the contact do not depend on the appeal's state.
        stateless = path.endswith(("/publicise/", "/contact/"))
        assert ("409" in operation["responses"]) != stateless, path
    for path in ("/api/v1/appeals/", "/api/v1/track/rate/", "/api/v1/my/appeals/{number}/rate/"):
        assert "409" in paths[path]["post"]["responses"], path
    assert "409" not in paths["/api/v1/track/"]["post"]["responses"]
    # Filing and routing name a category, a region, departments by id: one may name nothing.
    assert "404" in paths["/api/v1/appeals/"]["post"]["responses"]
    assert "404" not in paths["/api/v1/notifications/read/"]["post"]["responses"]


def test_text_fields_document_what_they_refuse_nul_and_only_whitespace(openapi):
    reason = openapi["components"]["schemas"]["ReasonInRequest"]["properties"]["reason"]
    pattern = re.compile(reason["pattern"])
    assert pattern.search("退回：不属于本单位职责")
    assert not pattern.search("   ") and not pattern.search("a\x00b")


def test_a_real_error_answer_has_the_documented_shape(api):
    answer = api().post("/api/v1/track/", {"number": "XC-2026-999999", "code": "x" * 30})
    assert answer.status_code == 404
    assert set(answer.json()) <= {"code", "message", "fields", "request_id"}
    assert answer.json()["code"] == "not_found"


def test_ids_and_page_parameters_are_documented_from_one(openapi):
    for path, method, operation in _operations(openapi):
        for parameter in operation.get("parameters", ()):
            if parameter["schema"].get("type") == "integer":
                assert parameter["schema"].get("minimum") == 1, (method, path, parameter)
    inbox = openapi["paths"]["/api/v1/inbox/"]["get"]["parameters"]
    assert next(p for p in inbox if p["name"] == "department")["required"] is True


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/appeal-list/?page_size=null",
        "/api/v1/appeal-list/?page_size=0",
        "/api/v1/appeal-list/?page_size=2.5",
        "/api/v1/appeal-list/?category=1.5",
        "/api/v1/appeal-list/?department=0",
        "/api/v1/triage/?tag=null",
        "/api/v1/triage/?region=-3",
        "/api/v1/triage/?q=" + "长" * 51,
        "/api/v1/inbox/?department=0",
        "/api/v1/inbox/?department=1&tab=all",
    ],
)
def test_a_value_the_schema_forbids_is_refused_not_ignored(api, office, query):
    answer = api(office).get(query)
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "invalid"


def test_a_page_size_above_the_limit_is_cut_to_it(api, office, file_appeal):
    file_appeal()
    answer = api(office).get("/api/v1/appeal-list/?page_size=1000")
    assert answer.status_code == 200 and answer.json()["count"] == 1


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here/", "/api/v1/appeals/X/assignments/abc/sign/", "/api/v1/exports/x/"],
)
def test_a_url_no_route_matches_answers_404_in_the_error_shape(api, office, path):
    answer = api(office).post(path)
    assert answer.status_code == 404 and answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found"


def test_text_patterns_refuse_what_the_services_strip_to_nothing(openapi):
    """A text of control and zero-width characters is blank to the services (clean_prose)."""
    reason = openapi["components"]["schemas"]["ReasonInRequest"]["properties"]["reason"]
    pattern = re.compile(reason["pattern"])
    assert not pattern.search("\u200b\x01\t\u202e")
    assert pattern.search("\u200b理由")


def _valid(openapi, component: str, body: dict) -> bool:
    schema = {
        "components": openapi["components"],
        "allOf": [{"$ref": f"#/components/schemas/{component}"}],
    }
    return OAS30Validator(schema).is_valid(body)


@pytest.mark.parametrize(
    "component, body, valid",
    [
        # A refusal (a reply sent back, an extension refused) says why; an approval need not.
        ("DecisionInRequest", {"approve": False}, False),
        ("DecisionInRequest", {"approve": False, "note": "  "}, False),
        ("DecisionInRequest", {"approve": False, "note": "请补充政策依据"}, True),
        ("DecisionInRequest", {"approve": True}, True),
        # Marking an appeal blocked says why; lifting it need not.
        ("BlockInRequest", {"blocked": True}, False),
        ("BlockInRequest", {"blocked": True, "reason": "等待省厅批复"}, True),
        ("BlockInRequest", {"blocked": False}, True),
        # An unsatisfied rating says whether to re-handle; ending it says why.
        ("RateInRequest", {"score": "unsatisfied"}, False),
        ("RateInRequest", {"score": "unsatisfied", "rehandle": None}, False),
        ("RateInRequest", {"score": "unsatisfied", "rehandle": False}, False),
        ("RateInRequest", {"score": "unsatisfied", "rehandle": False, "comment": "不再办理"}, True),
        ("RateInRequest", {"score": "unsatisfied", "rehandle": True}, True),
        ("RateInRequest", {"score": "satisfied"}, True),
        # Marking messages read names them, or says all.
        ("NotificationReadInRequest", {}, False),
        ("NotificationReadInRequest", {"all": False, "ids": []}, False),
        ("NotificationReadInRequest", {"ids": [3]}, True),
        ("NotificationReadInRequest", {"all": True}, True),
    ],
)
def test_rules_across_fields_are_in_the_schema(openapi, component, body, valid):
    assert _valid(openapi, component, body) is valid


def test_the_server_refuses_what_the_schema_refuses_across_fields(api, office):
    client = api(office)
    assert client.post("/api/v1/notifications/read/", {"all": False}).status_code == 400
    assert client.post("/api/v1/notifications/read/", {"all": True}).status_code == 200


@pytest.mark.parametrize(
    "path, good, bad",
    [
        ("/api/v1/league/{quarter}/", "2026Q3", "2026Q5"),
        ("/api/v1/league/{quarter}/publish/", "2026Q3", "26Q3"),
        ("/api/v1/bulletin/{period}/", "2026B5", "2026B7"),
        ("/api/v1/assessment/{period}/", "2026", "2026B5"),
    ],
)
def test_period_path_values_document_their_format(openapi, path, good, bad):
    operation = next(iter(openapi["paths"][path].values()))
    (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
    pattern = re.compile(parameter["schema"]["pattern"])
    assert pattern.search(good) and not pattern.search(bad)


def test_publishing_a_league_table_documents_its_201(openapi):
    responses = openapi["paths"]["/api/v1/league/{quarter}/publish/"]["post"]["responses"]
    assert "201" in responses and "200" not in responses
