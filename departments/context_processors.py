from departments.roles import Role, roles_of

# The roles whose top bar is a staff member's: their work first, the rest under 更多 (More).
STAFF_NAV_ROLES = {Role.COMMISSIONER, Role.OFFICE, Role.HANDLER, Role.HEAD, Role.LEADER}


def roles(request):
    """Exposes the user's roles to templates as `roles` (a set of role names), and
    `staff_nav`: whether the top bar is a staff member's."""
    user = getattr(request, "user", None)
    user_roles = roles_of(user)
    staff_nav = bool(user_roles & STAFF_NAV_ROLES) or bool(getattr(user, "is_staff", False))
    return {"roles": {r.value for r in user_roles}, "Role": Role, "staff_nav": staff_nav}
