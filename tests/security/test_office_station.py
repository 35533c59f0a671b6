"""Nobody above their station (issue #15): the office configures the platform but holds no
superuser powers. It cannot open the stock user or group admin (so it cannot set
is_superuser, is_staff, groups or a password), cannot mint an API token for anyone else, and
cannot change its own roles or a superuser's on its staff pages."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from core.errors import ServiceForbidden
from departments import services
from departments.models import ApiToken
from departments.permissions import office_permissions_sync
from departments.roles import Role, role_group
from departments.tokens import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_staff(office):
    office.is_staff = True  # the office configures the platform in the admin
    office.save()
    office_permissions_sync()
    return office


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_office_group_holds_no_permission_on_users_groups_or_tokens():
    office_permissions_sync()
    held = set(
        role_group(Role.OFFICE).permissions.values_list("content_type__app_label", "codename")
    )
    assert held  # it still configures the platform
    assert not {(app, code) for app, code in held if app == "auth"}
    assert not {code for _app, code in held if code.endswith("_apitoken")}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/admin/auth/user/{pk}/change/",
        "/admin/auth/user/{pk}/password/",
        "/admin/auth/group/",
    ],
)
def test_the_office_cannot_open_the_user_or_group_admin(office_staff, superuser, url):
    response = _client(office_staff).get(url.format(pk=superuser.pk))
    assert response.status_code in (403, 302) and b"is_superuser" not in response.content


def test_the_office_cannot_make_itself_superuser_or_reset_a_password(office_staff, superuser):
    client = _client(office_staff)
    client.post(
        f"/admin/auth/user/{office_staff.pk}/change/",
        {"username": "office", "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    client.post(
        f"/admin/auth/user/{superuser.pk}/password/",
        {"password1": "Taken-Over-2026!", "password2": "Taken-Over-2026!"},
    )
    office_staff.refresh_from_db()
    superuser.refresh_from_db()
    assert not office_staff.is_superuser
    assert not superuser.check_password("Taken-Over-2026!")


def test_even_a_staff_user_holding_auth_permissions_cannot_use_the_user_admin(office_staff):
    """The user admin is a superuser's whatever a group holds: a second lock behind the
    office's permissions, in case a permission is ever given back by mistake."""
    office_staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", codename__endswith="_user")
    )
    client = _client(office_staff)
    assert client.get(f"/admin/auth/user/{office_staff.pk}/change/").status_code == 403
    assert client.get(f"/admin/auth/user/{office_staff.pk}/password/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def test_a_superuser_still_manages_users_in_the_admin(superuser, office):
    client = _client(superuser)
    page = client.get(f"/admin/auth/user/{office.pk}/change/")
    assert page.status_code == 200 and b'name="is_superuser"' in page.content


def test_the_office_cannot_mint_a_token_for_another_user(office, head_a):
    with pytest.raises(ServiceForbidden):
        api_token_issue(actor=office, user=head_a, role=Role.HEAD, name="takeover")
    assert not ApiToken.objects.exists()


def test_a_superuser_mints_a_token_for_another_user_and_it_is_audited(superuser, head_a):
    token, _key = api_token_issue(actor=superuser, user=head_a, role=Role.HEAD, name="OA")
    assert token.user == head_a
    from departments.models import AuditRecord

    record = AuditRecord.objects.get(event="token.issued")
    assert record.actor == superuser and record.detail == {"user": head_a.pk, "role": "head"}


def test_the_office_cannot_open_the_token_add_page_even_with_the_permission(office_staff, head_a):
    office_staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_apitoken", "view_apitoken"])
    )
    client = _client(office_staff)
    assert client.get(reverse("admin:departments_apitoken_add")).status_code == 403
    client.post(
        reverse("admin:departments_apitoken_add"),
        {"name": "x", "user": head_a.pk, "role": "head"},
    )
    assert not ApiToken.objects.exists()


def test_the_office_cannot_change_its_own_roles_or_a_superusers(office, superuser, dept_a):
    for target in (office, superuser):
        with pytest.raises(ServiceForbidden):
            services.staff_role_grant(actor=office, user=target, role="head", department=dept_a)
        with pytest.raises(ServiceForbidden):
            services.staff_deactivate(actor=office, user=target)
    with pytest.raises(ServiceForbidden):
        services.staff_role_revoke(actor=office, user=superuser, role="office")
    superuser.refresh_from_db()
    assert superuser.is_active and not office.memberships.exists()
    # A superuser manages another superuser.
    other = UserFactory(username="root2", is_staff=True, is_superuser=True)
    services.staff_role_grant(actor=superuser, user=other, role="leader")
    assert other.groups.filter(name="leader").exists()


def test_the_office_cannot_give_an_enterprise_account_a_staff_role(office, enterprise_user):
    with pytest.raises(ServiceForbidden):
        services.staff_role_grant(actor=office, user=enterprise_user, role="commissioner")
    assert not enterprise_user.groups.filter(name="commissioner").exists()
