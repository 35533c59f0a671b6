"""Roles are Django groups. This module is the only place that knows their names."""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, Group
from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    ENTERPRISE = "enterprise"
    COMMISSIONER = "commissioner"
    HANDLER = "handler"
    HEAD = "head"
    OFFICE = "office"
    LEADER = "leader"
    SUPERVISOR = "supervisor"


ROLE_LABELS = {
    Role.ENTERPRISE: _("企业"),
    Role.COMMISSIONER: _("为企服务专员"),
    Role.HANDLER: _("承办人"),
    Role.HEAD: _("单位负责人"),
    Role.OFFICE: _("营商环境办"),
    Role.LEADER: _("市领导"),
    Role.SUPERVISOR: _("特约监督员"),
}

_ROLE_VALUES = frozenset(r.value for r in Role)

# Staff roles held through a group alone, granted on the office's staff pages. The department
# roles (handler, head) are held through a Membership, and their groups follow the memberships.
GROUP_ROLES = (Role.COMMISSIONER, Role.OFFICE, Role.LEADER, Role.SUPERVISOR)

STAFF_ROLES = frozenset(
    {Role.COMMISSIONER, Role.HANDLER, Role.HEAD, Role.OFFICE, Role.LEADER, Role.SUPERVISOR}
)


def roles_of(user) -> frozenset[Role]:
    """The user's roles, cached on the user object for the request. Superusers act as office."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_roles_cache", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(Role(n) for n in names if n in _ROLE_VALUES)
        if user.is_superuser:
            cached = cached | {Role.OFFICE}
        user._roles_cache = cached
    return cached


def has_role(user, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def role_group(role: Role) -> Group:
    group, _created = Group.objects.get_or_create(name=role.value)
    return group
