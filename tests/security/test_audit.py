"""Audit and personal data (issue #6).

- Every workflow event leaves exactly one audit record (time, actor, event, object, outcome);
  logins, lockouts and exports are in test_accounts.py and tests/reports/test_exports.py.
- No state change escapes history: no `QuerySet.update()` or `bulk_update()` on an audited
  model anywhere in the code. Audit records are kept at least six months.
- Phone numbers and contact names are masked in lists, boards, exports and for co-handlers;
  the full value is shown only to those who handle the appeal, and each reveal is audited.
- Logs carry no passwords, session ids, query codes or phone numbers.
"""

import ast
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.models import Appeal, TimelineEvent
from departments.audit import audit_purge, audit_record
from departments.models import AuditRecord
from departments.roles import Role
from tests import workflow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13805630001"  # tests/workflow.py files every appeal with this number
NAME = "张三"


def test_every_workflow_event_leaves_exactly_one_audit_record(appeal_at, dept_b):
    appeal = appeal_at(Appeal.Status.CLOSED, co_handlers=[dept_b])
    events = list(TimelineEvent.objects.filter(appeal=appeal).order_by("pk"))
    records = list(
        AuditRecord.objects.filter(object_type="appeal", object_id=str(appeal.pk)).order_by("pk")
    )
    assert len(events) >= 6  # filed, routed, signed, replied, rated, closed…
    assert [(r.event, r.actor_id, r.at) for r in records] == [
        (f"appeal.{e.code}", e.actor_id, e.created_at) for e in events
    ]
    assert all(r.outcome == "success" for r in records)


def test_a_refused_action_leaves_no_audit_record(appeal_at, handler_b):
    appeal = appeal_at(Appeal.Status.ASSIGNED)
    before = AuditRecord.objects.count()
    lead = workflow.lead_assignment(appeal)
    response = APIClient()
    response.force_authenticate(handler_b)
    assert (
        response.post(f"/api/v1/appeals/{appeal.number}/assignments/{lead.pk}/sign/").status_code
        == 404
    )
    assert AuditRecord.objects.count() == before


# --- no state change escapes history -----------------------------------------------------

AUDITED = {
    "Appeal",
    "Assignment",
    "Reply",
    "ExtensionRequest",
    "Clock",
    "AuditRecord",
    "TimelineEvent",
}
AUDITED_RELATIONS = {"assignments", "replies", "extensions", "clocks", "events"}


def _bulk_writes(tree: ast.AST):
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in {"update", "bulk_update"}:
            continue
        names, target = set(), node.func.value
        while isinstance(target, (ast.Attribute, ast.Call)):
            if isinstance(target, ast.Attribute):
                names.add(target.attr)
                target = target.value
            else:
                target = target.func
        if isinstance(target, ast.Name):
            names.add(target.id)
        yield node.lineno, names


# Bulk writes allowed, each named with its reason (the function holding it): no state change,
# or history rows written by the same function.
NOT_A_STATE_CHANGE = {
    # The appeal's cached colour, derived from its clocks, whose history records every change;
    # appeal_colour_set saves it without a history row too.
    ("appeals/services/waiting.py", "appeals_colour_set_many"),
    # The sweep's batch: the clocks' history rows are written in bulk right after, with the
    # reason "checked" (tests/sla/test_sweep.py counts them).
    ("sla/services.py", "_save_checked"),
}


def _functions(tree: ast.AST) -> dict[int, str]:
    """The name of the function each line belongs to."""
    lines = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                lines[line] = node.name
    return lines


def test_no_code_updates_an_audited_model_in_bulk():
    offenders = []
    for folder in ("appeals", "departments", "sla", "config"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            functions = _functions(tree)
            name = str(path.relative_to(ROOT))
            for line, names in _bulk_writes(tree):
                if (name, functions.get(line)) in NOT_A_STATE_CHANGE:
                    continue
                if names & (AUDITED | AUDITED_RELATIONS):
                    offenders.append(f"{name}:{line}")
    assert offenders == []


def test_the_scan_would_catch_a_bulk_status_update():
    code = "Appeal.objects.filter(pk=1).update(status='closed')\nappeal.assignments.update(x=1)"
    assert [
        names & (AUDITED | AUDITED_RELATIONS) for _l, names in _bulk_writes(ast.parse(code))
    ] == [
        {"Appeal"},
        {"assignments"},
    ]


def test_audit_records_are_kept_at_least_six_months(settings):
    now = timezone.now()
    for days in (10, 182, 200, 400):
        audit_record(event="auth.login", actor_name=f"{days}", at=now - timedelta(days=days))
    settings.AUDIT_RETENTION_DAYS = 365
    assert audit_purge(now=now) == 1
    assert sorted(AuditRecord.objects.values_list("actor_name", flat=True)) == ["10", "182", "200"]
    settings.AUDIT_RETENTION_DAYS = 30  # configured too short: six months still apply
    assert audit_purge(now=now) == 1
    assert sorted(AuditRecord.objects.values_list("actor_name", flat=True)) == ["10", "182"]


# --- masking and audited reveal ----------------------------------------------------------


def _html(user):
    client = Client()
    client.force_login(user)
    return client


def test_lists_and_the_detail_page_show_the_contact_masked_to_everyone(
    appeal_at, file_appeal, dept_b, commissioner, handler_a, handler_b, office
):
    file_appeal()  # one in the triage queue
    appeal = appeal_at(Appeal.Status.ASSIGNED, co_handlers=[dept_b])
    pages = [
        (commissioner, reverse("triage_queue")),
        (handler_a, reverse("inbox")),
        (office, reverse("board_appeals")),
        (office, reverse("public_board")),
    ] + [
        (u, reverse("appeal_detail", args=[appeal.number])) for u in (office, handler_a, handler_b)
    ]
    for user, url in pages:
        page = _html(user).get(url).content.decode()
        assert PHONE not in page and NAME not in page, url
    detail = _html(handler_a).get(reverse("appeal_detail", args=[appeal.number])).content.decode()
    assert "138****0001" in detail and "张*" in detail
    for user in (office, commissioner, handler_a, handler_b):
        api = APIClient()
        api.force_authenticate(user)
        body = api.get(f"/api/v1/appeals/{appeal.number}/").json()
        assert body["contact_phone"] == "138****0001" and body["contact_name"] == "张*"
        listed = api.get("/api/v1/appeal-list/").content.decode()
        assert PHONE not in listed


def test_those_who_handle_the_appeal_reveal_the_contact_and_each_reveal_is_audited(
    appeal_at, dept_b, handler_a, head_a, commissioner, office
):
    appeal = appeal_at(Appeal.Status.ASSIGNED, co_handlers=[dept_b])
    url = reverse("contact_reveal", args=[appeal.number])
    for user in (handler_a, head_a, commissioner, office):
        page = _html(user).post(url, HTTP_HX_REQUEST="true").content.decode()
        assert PHONE in page and NAME in page
    api = APIClient()
    api.force_authenticate(handler_a)
    assert api.post(f"/api/v1/appeals/{appeal.number}/contact/").json() == {
        "name": NAME,
        "phone": PHONE,
    }
    reveals = AuditRecord.objects.filter(event="contact.revealed", object_id=str(appeal.pk))
    assert [r.actor for r in reveals.order_by("pk")] == [
        handler_a,
        head_a,
        commissioner,
        office,
        handler_a,
    ]


def test_a_co_handler_or_a_leader_cannot_reveal_the_contact(appeal_at, dept_b, handler_b):
    appeal = appeal_at(Appeal.Status.ASSIGNED, co_handlers=[dept_b])
    leader = UserFactory(username="leader", roles=[Role.LEADER])
    for user in (handler_b, leader):
        response = _html(user).post(reverse("contact_reveal", args=[appeal.number]))
        assert response.status_code == 403 and PHONE not in response.content.decode()
        api = APIClient()
        api.force_authenticate(user)
        refused = api.post(f"/api/v1/appeals/{appeal.number}/contact/")
        assert refused.status_code == 403 and PHONE not in refused.content.decode()
    assert not AuditRecord.objects.filter(event="contact.revealed").exists()


# --- logs ----------------------------------------------------------------------------------


def test_logs_carry_no_password_session_id_query_code_or_phone_number(
    caplog, handler_a, commissioner, dept_a, category, settings
):
    caplog.set_level(logging.DEBUG)
    password = "Xuancheng-2026!"
    handler_a.set_password(password)
    handler_a.save()
    public = Client()
    public.post(
        reverse("appeal_file"),
        {
            "title": "报装迟迟未办理",
            "content": "三个月无进展。",
            "contact_name": NAME,
            "contact_phone": PHONE,
            "enterprise_name": "宣城示范科技有限公司",
        },
    )
    page = public.get(reverse("appeal_receipt")).content.decode()
    number = re.search(r'id="receipt-number">([^<]+)<', page)[1]
    code = re.search(r'id="receipt-code">([^<]+)<', page)[1]
    public.post(reverse("track"), {"number": number, "code": code})
    public.post(reverse("track"), {"number": number, "code": "WRONG-CODE"})
    appeal = Appeal.objects.get(number=number)
    from appeals import services

    services.appeal_route(actor=commissioner, appeal_id=appeal.pk, lead=dept_a, category=category)
    staff = Client()
    staff.post("/accounts/login/", {"username": handler_a.username, "password": password})
    staff.post("/accounts/login/", {"username": handler_a.username, "password": "Wrong-Pass-99"})
    staff.get(reverse("inbox"))
    session_id = staff.cookies[settings.SESSION_COOKIE_NAME].value

    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert logged  # something was logged (SMS sends, axes, requests)
    for secret in (password, "Wrong-Pass-99", session_id, code, code.replace("-", ""), PHONE):
        assert secret not in logged, secret
