"""Nobody where they don't belong (issue #6, access control).

- Deny by default: every URL pattern and API route, walked from the URL resolver, refuses an
  anonymous caller (login, 401 or 403) unless it is on the public allow-list below.
- The role × action table, run through the pages and through the API: an action happens for
  the personas in its row and for nobody else, and a refusal changes nothing.
- A child object (assignment, reply, attachment) must belong to the appeal in the URL.
- Every unsafe request without a CSRF token is refused; no GET changes the database.

Who may *see* which appeal is the visibility matrix of tests/api/test_api_visibility.py
(API) and tests/appeals/test_views.py (pages); mass assignment is there too.
"""

import hashlib
import re

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from appeals import services
from appeals.models import Appeal, Reply
from departments.models import AuditRecord
from tests import workflow
from tests.security.personas import PERSONAS, assigned, people  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

# Routes anyone may call: the public side of the platform. Everything else is staff, an
# enterprise account, or the admin.
PUBLIC = {
    "home",
    "appeal_file",
    "appeal_file_check",  # yes or no only, counted per address (issue #18)
    "appeal_receipt",
    "track",
    "track_detail",  # 404 unless this browser proved the query code (appeal_for_tracker)
    "track_rate",
    "track_material",
    "attachment_download",  # the same proof, or staff scoping
    "public_board",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "set_language",
    "api_appeal_file",
    "api_track",
    "api_track_rate",
    "api_track_material",
    "api_categories",  # reference data the filing form offers
    "api_regions",
    "api_calendar",  # the official working-day calendar
    "api_schema",
    "api_docs",
    "healthz",
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SAMPLE = {"year": "2026", "quarter": "2026Q3", "kind": "full", "fmt": "csv"}


def _routes(resolver=None, prefix=""):
    """(name, path template) for every pattern, the admin's included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + pattern)
        elif isinstance(entry, URLPattern):
            yield entry.name, prefix + pattern


def _concrete(template: str, appeal: Appeal) -> str:
    """A callable path for a pattern: real ids where the pattern names one."""
    ids = {
        "number": appeal.number,
        "assignment_id": str(workflow.lead_assignment(appeal).pk),
        "object_id": str(appeal.pk),
        "app_label": "appeals",
    }
    path = template.lstrip("^").rstrip("$").replace("\\Z", "")
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids.get(m[1], SAMPLE.get(m[1], "1")), path)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: ids.get(m[1], SAMPLE.get(m[1], "1")), path)
    return "/" + path


def _refuses(response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and ("/login/" in location)


def test_every_route_off_the_public_list_refuses_an_anonymous_caller(assigned):
    routes = [(name, _concrete(t, assigned)) for name, t in _routes() if name not in PUBLIC]
    assert len(routes) > 100  # the walk reached the admin and the API, not just a few pages
    client, api = Client(), APIClient()
    let_through = []
    for name, path in routes:
        http = api if path.startswith("/api/") else client
        for method in ("get", "post"):
            response = getattr(http, method)(path)
            if response.status_code < 300 or not _refuses(response):
                if response.status_code in (404, 405) and not path.startswith("/api/"):
                    continue  # no such object or method: nothing was shown either
                let_through.append((method.upper(), path, name, response.status_code))
    assert let_through == []


# --- the role × action table ------------------------------------------------------------

# action → the personas for whom it happens. Everyone else is refused and nothing changes.
TABLE = {
    "route": {"commissioner", "office"},
    "sign": {"handler_a", "head_a"},
    "reply": {"handler_a", "head_a"},
    "review": {"head_a"},
    "close": {"commissioner", "office"},
    "reveal_contact": {"commissioner", "office", "handler_a", "head_a"},
    "export": {"office", "leader"},
    "grant_role": {"office"},  # the staff pages (issue #15)
    "deactivate": {"office"},
}
API_ACTIONS = {"route", "sign", "reply", "review", "close", "reveal_contact"}


def _setup(action: str, walk_to, file_appeal, dept_b, handler_a, category):
    """The appeal in the state the action needs, and the request each channel sends."""
    stage = {
        "route": Appeal.Status.TRIAGE,
        "sign": Appeal.Status.ASSIGNED,
        "reply": Appeal.Status.IN_PROGRESS,
        "review": Appeal.Status.IN_PROGRESS,
        "close": Appeal.Status.REPLIED,
        "reveal_contact": Appeal.Status.ASSIGNED,
        "export": Appeal.Status.ASSIGNED,
        "grant_role": Appeal.Status.ASSIGNED,
        "deactivate": Appeal.Status.ASSIGNED,
    }[action]
    appeal = walk_to(file_appeal().appeal, stage, co_handlers=[dept_b])
    lead = workflow.lead_assignment(appeal) if appeal.status != Appeal.Status.TRIAGE else None
    n = appeal.number
    if action == "review":
        reply = services.reply_submit(
            actor=handler_a, assignment_id=lead.pk, outcome="explained", content="依法不予支持。"
        )
        assert reply.state == Reply.State.PENDING_HEAD
    requests = {
        "route": (
            reverse("appeal_route", args=[n]),
            {"category": category.pk, "lead": dept_b.pk},
            f"/api/v1/appeals/{n}/route/",
            {"category": category.pk, "lead": dept_b.pk},
        ),
        "sign": (
            reverse("assignment_sign", args=[n, lead.pk]) if lead else "",
            {},
            f"/api/v1/appeals/{n}/assignments/{lead.pk if lead else 0}/sign/",
            {},
        ),
        "reply": (
            reverse("reply_submit", args=[n, lead.pk]) if lead else "",
            {"outcome": "resolved", "content": "已办结。"},
            f"/api/v1/appeals/{n}/assignments/{lead.pk if lead else 0}/reply/",
            {"outcome": "resolved", "content": "已办结。"},
        ),
        "close": (
            reverse("appeal_close", args=[n]),
            {"note": "电话确认已解决。"},
            f"/api/v1/appeals/{n}/close/",
            {"note": "电话确认已解决。"},
        ),
        "reveal_contact": (
            reverse("contact_reveal", args=[n]),
            {},
            f"/api/v1/appeals/{n}/contact/",
            {},
        ),
        "export": (reverse("export_download", args=["full", "csv"]), None, None, None),
        "grant_role": (
            reverse("staff_role_grant", args=[handler_a.pk]),
            {"role": "supervisor"},
            None,
            None,
        ),
        "deactivate": (reverse("staff_deactivate", args=[handler_a.pk]), {}, None, None),
    }
    if action == "review":
        pending = appeal.replies.get(state=Reply.State.PENDING_HEAD)
        requests["review"] = (
            reverse("reply_review", args=[n, pending.pk]),
            {"decision": "approve"},
            f"/api/v1/appeals/{n}/replies/{pending.pk}/review/",
            {"approve": True},
        )
    return appeal, requests[action]


def _effect(appeal: Appeal) -> tuple:
    """What an action leaves behind: the workflow snapshot and the audit records."""
    return (
        workflow.snapshot(appeal),
        AuditRecord.objects.exclude(event__startswith="auth.").count(),
    )


def _html(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _api(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("channel", ["html", "api"])
@pytest.mark.parametrize("action", sorted(TABLE))
@pytest.mark.parametrize("persona", PERSONAS)
def test_an_action_happens_for_the_personas_in_its_row_and_for_nobody_else(
    people, walk_to, file_appeal, dept_b, handler_a, category, persona, action, channel
):
    if channel == "api" and action not in API_ACTIONS:
        pytest.skip(f"{action} has no API")
    appeal, (page, form, api_path, body) = _setup(
        action, walk_to, file_appeal, dept_b, handler_a, category
    )
    user = people[persona]
    before = _effect(appeal)
    if channel == "html":
        client = _html(user)
        response = client.get(page) if form is None else client.post(page, form)
    else:
        response = _api(user).post(api_path, body, format="json")
    if response.streaming:
        b"".join(response.streaming_content)  # an export is audited once it has been sent
    happened = _effect(appeal) != before

    allowed = persona in TABLE[action]
    assert happened == allowed, response.status_code
    if allowed:
        assert response.status_code in (200, 302)
    elif channel == "api":
        assert response.status_code in (401, 403, 404)
    elif user is None:
        assert _refuses(response)
    else:
        # 403/404 from the access helpers; 400 when the service refuses on the detail page.
        assert response.status_code in (400, 403, 404)


# --- child objects belong to the appeal in the URL ---------------------------------------


def test_an_assignment_reply_or_attachment_of_another_appeal_is_a_404(
    appeal_at, file_appeal, handler_a, head_a, office
):
    mine = appeal_at(Appeal.Status.ASSIGNED)
    other = appeal_at(Appeal.Status.ASSIGNED)
    other_lead = workflow.lead_assignment(other)
    attachment = file_appeal(
        attachments=[SimpleUploadedFile("证明.pdf", PDF)]
    ).appeal.attachments.get()
    before = workflow.snapshot(other)
    client = _html(handler_a)
    n = mine.number
    assert client.post(reverse("assignment_sign", args=[n, other_lead.pk])).status_code == 404
    api = _api(handler_a)
    assert api.post(f"/api/v1/appeals/{n}/assignments/{other_lead.pk}/sign/").status_code == 404
    assert workflow.snapshot(other) == before
    # An attachment asked for under an appeal it does not belong to, by staff who may see both.
    url = reverse("attachment_download", args=[n, attachment.pk])
    assert _html(office).get(url).status_code == 404
    good = reverse("attachment_download", args=[attachment.appeal.number, attachment.pk])
    assert _html(office).get(good).status_code == 200
    # A reply id of another appeal.
    reply = services.reply_submit(
        actor=handler_a,
        assignment_id=workflow.lead_assignment(walk_signed(other, handler_a)).pk,
        outcome="explained",
        content="依法不予支持。",
    )
    assert (
        _html(head_a)
        .post(reverse("reply_review", args=[n, reply.pk]), {"decision": "approve"})
        .status_code
        == 404
    )
    assert (
        _api(head_a)
        .post(f"/api/v1/appeals/{n}/replies/{reply.pk}/review/", {"approve": True}, format="json")
        .status_code
        == 404
    )
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_HEAD


def walk_signed(appeal: Appeal, handler) -> Appeal:
    services.assignment_sign(actor=handler, assignment_id=workflow.lead_assignment(appeal).pk)
    return appeal


# --- CSRF and safe methods ---------------------------------------------------------------


def test_every_unsafe_request_without_a_csrf_token_is_refused(assigned, office):
    client = Client(enforce_csrf_checks=True)
    client.force_login(office)
    before = _fingerprint()
    accepted = []
    for name, template in _routes():
        path = _concrete(template, assigned)
        response = client.post(path, {"note": "x", "decision": "approve"})
        if response.status_code != 403:
            accepted.append((path, name, response.status_code))
    assert accepted == []
    assert _fingerprint() == before


# Writes a GET may make: the session (idle timeout), and an audit record of a read that the
# rules want audited (an export). Everything else must stay as it was.
GET_MAY_WRITE = {"sessions.session", "departments.auditrecord"}


def _fingerprint() -> dict:
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in GET_MAY_WRITE or not model._meta.managed:
            continue
        rows = model._default_manager.order_by("pk").values_list()
        state[label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return state


@pytest.mark.parametrize(
    "persona", ["anonymous", "enterprise_a", "commissioner", "handler_a", "office"]
)
def test_no_get_changes_the_database(people, assigned, persona):
    user = people[persona]
    client, api = _html(user), _api(user)
    assert people["handler_a"].notifications.filter(read_at__isnull=True).exists()
    before = _fingerprint()
    for _name, template in _routes():
        path = _concrete(template, assigned)
        (api if path.startswith("/api/") else client).get(path)
    assert _fingerprint() == before


def test_a_lookup_path_in_a_query_is_refused_but_the_admin_keeps_its_list_filters(office):
    office.is_staff = True  # the office configures the platform in the admin
    office.save()
    client = _html(office)
    refused = client.get(reverse("triage_queue"), {"contact_phone__startswith": "138"})
    assert refused.status_code == 400 and "不支持的查询参数" in refused.content.decode()
    api = _api(office).get("/api/v1/appeal-list/", {"enterprise__users__username": "x"})
    assert api.status_code == 400 and api.json()["code"] == "invalid"
    admin = client.get("/admin/appeals/appeal/", {"status__exact": "triage"})
    assert admin.status_code == 200
