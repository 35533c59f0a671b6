"""Writes about organisations."""

from django.db import transaction

from departments.models import Department, Membership
from departments.roles import Role, role_group

_MEMBERSHIP_GROUP = {
    Membership.Role.HANDLER: Role.HANDLER,
    Membership.Role.HEAD: Role.HEAD,
    Membership.Role.LIAISON: Role.HANDLER,
}


@transaction.atomic
def membership_add(*, user, department: Department, role: Membership.Role) -> Membership:
    """Puts a staff user in a department with a role, and in the matching role group."""
    membership, _created = Membership.objects.update_or_create(
        user=user, department=department, defaults={"role": role}
    )
    # The department role groups follow all of the user's memberships (a demoted head loses
    # the head group unless another department still has them as head).
    held = {
        _MEMBERSHIP_GROUP[Membership.Role(r)]
        for r in user.memberships.values_list("role", flat=True)
    }
    for group_role in set(_MEMBERSHIP_GROUP.values()):
        if group_role in held:
            user.groups.add(role_group(group_role))
        else:
            user.groups.remove(role_group(group_role))
    for cache in ("_roles_cache", "_department_ids_cache"):
        user.__dict__.pop(cache, None)
    return membership


def user_grant_role(*, user, role: Role) -> None:
    user.groups.add(role_group(role))
