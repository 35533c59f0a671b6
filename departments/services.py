"""Writes about organisations and the staff who work in them.

Every change of an account, a role or a membership goes through here (the staff pages, the
admin, the demo data and the tests alike) and leaves one audit record, with before → after, in
the same transaction. Who may manage whom is `staff_manageable`, one function for the pages and
the services."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceConflict, ServiceError, ServiceForbidden
from departments.audit import audit_record, model_snapshot, snapshot_diff
from departments.models import ApiToken, Department, Membership
from departments.roles import GROUP_ROLES, Role, has_role, role_group
from departments.tokens import api_token_revoke

_MEMBERSHIP_GROUP = {
    Membership.Role.HANDLER: Role.HANDLER,
    Membership.Role.HEAD: Role.HEAD,
    Membership.Role.LIAISON: Role.HANDLER,
}

# What an account audit record shows: never the password hash, names or addresses.
_ACCOUNT_FIELDS = ("username", "is_active", "is_staff", "is_superuser")


def _forget_caches(user) -> None:
    for cache in ("_roles_cache", "_department_ids_cache"):
        user.__dict__.pop(cache, None)


def _membership_groups_sync(user) -> None:
    """The department role groups follow all of the user's memberships (a demoted head loses
    the head group unless another department still has them as head)."""
    held = {
        _MEMBERSHIP_GROUP[Membership.Role(r)]
        for r in user.memberships.values_list("role", flat=True)
    }
    for group_role in set(_MEMBERSHIP_GROUP.values()):
        if group_role in held:
            user.groups.add(role_group(group_role))
        else:
            user.groups.remove(role_group(group_role))
    _forget_caches(user)


def _membership_detail(membership: Membership | None) -> dict:
    if membership is None:
        return {}
    return {
        "user": membership.user_id,
        "department": membership.department_id,
        "role": membership.role,
    }


@transaction.atomic
def membership_add(
    *, user, department: Department, role: Membership.Role, actor=None
) -> Membership:
    """Puts a staff user in a department with a role, and in the matching role group.
    `actor` is None only for seed and demo data (the audit record then names no one)."""
    before = Membership.objects.filter(user=user, department=department).first()
    before_detail = _membership_detail(before)
    membership, created = Membership.objects.update_or_create(
        user=user, department=department, defaults={"role": Membership.Role(role)}
    )
    _membership_groups_sync(user)
    audit_record(
        event="membership.added" if created else "membership.changed",
        actor=actor,
        actor_name="system" if actor is None else "",
        obj=membership,
        detail={"changes": snapshot_diff(before_detail, _membership_detail(membership))},
    )
    return membership


@transaction.atomic
def membership_remove(*, user, department: Department, actor=None) -> None:
    """Takes a user out of a department; the role groups follow what remains."""
    membership = Membership.objects.filter(user=user, department=department).first()
    if membership is None:
        return
    before = _membership_detail(membership)
    audit_record(
        event="membership.removed",
        actor=actor,
        actor_name="system" if actor is None else "",
        obj=membership,
        detail={"changes": snapshot_diff(before, None)},
    )
    membership.delete()
    _membership_groups_sync(user)


def user_grant_role(*, user, role: Role) -> None:
    """Seed and demo data only; people grant roles through staff_role_grant."""
    user.groups.add(role_group(role))
    _forget_caches(user)


# --- staff accounts, managed by the office --------------------------------------------------


def staff_manageable(actor, user) -> bool:
    """Whether `actor` may change `user`'s account, roles or memberships: the office (or a
    superuser) may, for staff accounts other than their own; only a superuser for a superuser;
    enterprise accounts are not staff."""
    if not has_role(actor, Role.OFFICE):
        return False
    if user.pk == actor.pk:
        return False  # nobody raises (or lowers) their own station
    if user.is_superuser and not actor.is_superuser:
        return False
    return not user.groups.filter(name=Role.ENTERPRISE.value).exists()


def _check_manageable(actor, user) -> None:
    if not staff_manageable(actor, user):
        raise ServiceForbidden("staff_not_manageable", _("无权管理该账号。"))


def _account_state(user) -> dict:
    _forget_caches(user)
    state = model_snapshot(user, _ACCOUNT_FIELDS)
    state["roles"] = sorted(user.groups.values_list("name", flat=True))
    state["memberships"] = sorted(
        f"{d}:{r}" for d, r in user.memberships.values_list("department_id", "role")
    )
    return state


def _audit_account(event: str, *, actor, user, before: dict | None) -> None:
    audit_record(
        event=event,
        actor=actor,
        obj=user,
        detail={"changes": snapshot_diff(before, _account_state(user))},
    )


def _grant(*, actor, user, role: str, department: Department | None) -> None:
    """One role: a department role as a membership (through membership_add, so its group
    follows), any other staff role as its group. The office role brings the admin with it."""
    if role in Membership.Role.values:
        if department is None:
            raise ServiceError("department_required", _("单位角色须选择单位。"), field="department")
        membership_add(user=user, department=department, role=Membership.Role(role), actor=actor)
        return
    if role not in GROUP_ROLES:
        raise ServiceError("unknown_role", _("不能授予该角色。"), field="role")
    user.groups.add(role_group(Role(role)))
    if role == Role.OFFICE and not user.is_staff:
        user.is_staff = True  # the office configures the platform in the admin
        user.save(update_fields=["is_staff"])


@transaction.atomic
def staff_create(
    *,
    actor,
    username: str,
    first_name: str,
    last_name: str = "",
    email: str = "",
    password: str,
    role: str,
    department: Department | None = None,
):
    """A new staff account with its first role. Never a superuser; staff status only with the
    office role. The password is the initial one the office hands over."""
    if not has_role(actor, Role.OFFICE):
        raise ServiceForbidden("staff_not_manageable", _("无权管理该账号。"))
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceConflict("username_taken", _("该用户名已被使用。"), field="username")
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ServiceError("password_weak", " ".join(exc.messages), field="password") from None
    user.set_password(password)
    user.save()
    _grant(actor=actor, user=user, role=role, department=department)
    _audit_account("user.created", actor=actor, user=user, before=None)
    return user


@transaction.atomic
def staff_role_grant(*, actor, user, role: str, department: Department | None = None) -> None:
    """Gives a staff account a role: commissioner, office, leader or supervisor, or a
    department role (handler, head, liaison) in `department`."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    _check_manageable(actor, user)
    if not user.is_active:
        raise ServiceConflict("account_inactive", _("该账号已停用。"))
    before = _account_state(user)
    _grant(actor=actor, user=user, role=role, department=department)
    _audit_account("role.granted", actor=actor, user=user, before=before)


@transaction.atomic
def staff_role_revoke(*, actor, user, role: str, department: Department | None = None) -> None:
    """Takes a role away: a group role, or the membership in `department`."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    _check_manageable(actor, user)
    before = _account_state(user)
    if role in Membership.Role.values:
        if department is None:
            raise ServiceError("department_required", _("单位角色须选择单位。"), field="department")
        membership_remove(user=user, department=department, actor=actor)
    elif role in GROUP_ROLES:
        user.groups.remove(role_group(Role(role)))
        if role == Role.OFFICE and user.is_staff and not user.is_superuser:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
    else:
        raise ServiceError("unknown_role", _("不能授予该角色。"), field="role")
    _audit_account("role.revoked", actor=actor, user=user, before=before)


@transaction.atomic
def staff_deactivate(*, actor, user) -> None:
    """Stops an account: it cannot log in, its sessions no longer authenticate (Django's
    backend refuses an inactive user) and its API tokens are revoked."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    _check_manageable(actor, user)
    before = _account_state(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    for token_id in ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list(
        "pk", flat=True
    ):
        api_token_revoke(actor=actor, token_id=token_id)
    _audit_account("user.deactivated", actor=actor, user=user, before=before)
