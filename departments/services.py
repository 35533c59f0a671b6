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
    user.groups.add(role_group(_MEMBERSHIP_GROUP[Membership.Role(role)]))
    return membership


def user_grant_role(*, user, role: Role) -> None:
    user.groups.add(role_group(role))
