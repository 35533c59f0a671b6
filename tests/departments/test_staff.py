"""The office's staff pages (issue #15): create an account with a department role that then
works, revoke a role, deactivate an account; each write audited with before → after; nobody
but the office gets in."""

import pytest
from django.test import Client
from django.urls import reverse

from core.errors import ServiceError
from departments import services
from departments.forms import ROLE_CHOICES
from departments.models import ApiToken, AuditRecord, Membership
from departments.roles import STAFF_ROLES, Role, has_role
from departments.tokens import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Xuancheng-2026!"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _create(client, dept, **overrides):
    data = {
        "username": "zjj_wang",
        "last_name": "王",
        "first_name": "明",
        "email": "",
        "password": PASSWORD,
        "role": "handler",
        "department": dept.pk,
        **overrides,
    }
    return client.post(reverse("staff_create"), data)


def test_the_office_creates_a_handler_who_then_opens_the_inbox(office, dept_a):
    response = _create(_client(office), dept_a)
    assert response.status_code == 302
    new = Membership.objects.get(department=dept_a, role="handler").user
    assert new.username == "zjj_wang" and not new.is_staff and not new.is_superuser
    handler = Client()
    assert handler.post("/accounts/login/", {"username": "zjj_wang", "password": PASSWORD})
    assert handler.get(reverse("inbox")).status_code == 200
    record = AuditRecord.objects.get(event="user.created")
    assert record.actor == office and record.object_id == str(new.pk)
    assert record.detail["changes"]["roles"] == [None, ["handler"]]
    assert record.detail["changes"]["memberships"] == [None, [f"{dept_a.pk}:handler"]]


def test_a_weak_password_or_a_taken_name_is_refused_on_the_page(office, dept_a, handler_a):
    client = _client(office)
    assert _create(client, dept_a, password="abc").status_code == 400
    assert _create(client, dept_a, username="handler_a").status_code == 400
    assert _create(client, dept_a, department="").status_code == 400  # a department role
    assert not AuditRecord.objects.filter(event="user.created").exists()


def test_an_office_account_gets_the_admin_and_loses_it_with_the_role(office, dept_a):
    _create(_client(office), dept_a, username="ybb_li", role="office", department="")
    new = UserFactory._meta.model.objects.get(username="ybb_li")
    assert new.is_staff and not new.is_superuser and has_role(new, Role.OFFICE)
    services.staff_role_revoke(actor=office, user=new, role="office")
    new.refresh_from_db()
    assert not new.is_staff


def test_a_revoked_department_role_closes_the_inbox(office, handler_a, dept_a):
    assert _client(handler_a).get(reverse("inbox")).status_code == 200
    response = _client(office).post(
        reverse("staff_role_revoke", args=[handler_a.pk]),
        {"role": "handler", "department": dept_a.pk},
    )
    assert response.status_code == 302
    assert _client(handler_a).get(reverse("inbox")).status_code == 403
    record = AuditRecord.objects.get(event="role.revoked")
    assert record.detail["changes"]["memberships"] == [[f"{dept_a.pk}:handler"], []]


def test_a_granted_role_works_and_is_audited(office, commissioner, dept_b):
    response = _client(office).post(
        reverse("staff_role_grant", args=[commissioner.pk]),
        {"role": "head", "department": dept_b.pk},
    )
    assert response.status_code == 302
    assert _client(commissioner).get(reverse("inbox")).status_code == 200
    record = AuditRecord.objects.get(event="role.granted")
    assert record.actor == office
    assert record.detail["changes"]["roles"] == [["commissioner"], ["commissioner", "head"]]


def test_a_deactivated_account_cannot_log_in_and_its_tokens_stop(office, handler_a):
    handler_a.set_password(PASSWORD)
    handler_a.save()
    _token, key = api_token_issue(actor=handler_a, user=handler_a, role=Role.HANDLER, name="x")
    signed_in = Client()
    signed_in.post("/accounts/login/", {"username": "handler_a", "password": PASSWORD})
    assert signed_in.get(reverse("inbox")).status_code == 200

    response = _client(office).post(reverse("staff_deactivate", args=[handler_a.pk]))

    assert response.status_code == 302
    assert signed_in.get(reverse("inbox")).status_code == 302  # the session no longer counts
    fresh = Client()
    fresh.post("/accounts/login/", {"username": "handler_a", "password": PASSWORD})
    assert fresh.get(reverse("inbox")).status_code == 302
    assert Client().get("/api/v1/inbox/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    record = AuditRecord.objects.get(event="user.deactivated")
    assert record.detail["changes"]["is_active"] == [True, False]


@pytest.mark.parametrize("persona", ["commissioner", "handler_a", "head_a", "leader"])
def test_nobody_but_the_office_opens_the_staff_pages(persona, commissioner, handler_a, head_a):
    users = {
        "commissioner": commissioner,
        "handler_a": handler_a,
        "head_a": head_a,
        "leader": UserFactory(username="leader", roles=[Role.LEADER]),
    }
    client = _client(users[persona])
    assert client.get(reverse("staff_list")).status_code == 403
    assert client.get(reverse("staff_detail", args=[handler_a.pk])).status_code == 403
    assert client.post(reverse("staff_deactivate", args=[handler_a.pk])).status_code == 403
    handler_a.refresh_from_db()
    assert handler_a.is_active


def test_the_office_lists_staff_and_reads_an_accounts_history(office, handler_a, enterprise_user):
    client = _client(office)
    listed = client.get(reverse("staff_list")).content.decode()
    assert "handler_a" in listed and "enterprise_user" not in listed
    assert client.get(reverse("staff_detail", args=[enterprise_user.pk])).status_code == 404
    client.post(reverse("staff_role_grant", args=[handler_a.pk]), {"role": "supervisor"})
    page = client.get(reverse("staff_detail", args=[handler_a.pk])).content.decode()
    assert "role.granted" in page and "supervisor" in page


def test_the_page_refuses_to_manage_the_office_users_own_account(office):
    response = _client(office).post(
        reverse("staff_role_grant", args=[office.pk]), {"role": "leader"}
    )
    assert response.status_code == 403
    assert not has_role(office, Role.LEADER)


def test_every_staff_role_can_be_granted_and_nothing_else():
    """The closed set: the page offers each staff role (the department ones as memberships)."""
    offered = {value for value, _label in ROLE_CHOICES}
    assert offered == ({r.value for r in STAFF_ROLES} | set(Membership.Role.values))
    assert Role.ENTERPRISE.value not in offered


def test_an_unknown_role_is_refused(office, handler_a):
    with pytest.raises(ServiceError):
        services.staff_role_grant(actor=office, user=handler_a, role="enterprise")
    with pytest.raises(ServiceError):
        services.staff_role_grant(actor=office, user=handler_a, role="head")  # no department


def test_only_the_office_may_call_the_staff_services(commissioner, handler_a, dept_a):
    with pytest.raises(ServiceError):
        services.staff_role_grant(actor=commissioner, user=handler_a, role="leader")
    with pytest.raises(ServiceError):
        services.staff_create(
            actor=commissioner, username="x1", first_name="X", password=PASSWORD, role="leader"
        )
    assert not has_role(handler_a, Role.LEADER)


def test_a_deactivated_account_is_given_no_new_role(office, handler_a):
    services.staff_deactivate(actor=office, user=handler_a)
    with pytest.raises(ServiceError):
        services.staff_role_grant(actor=office, user=handler_a, role="leader")
