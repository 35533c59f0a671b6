from departments.roles import Role, roles_of


def roles(request):
    """Exposes the user's roles to templates as `roles` (a set of role names)."""
    user_roles = roles_of(getattr(request, "user", None))
    return {"roles": {r.value for r in user_roles}, "Role": Role}
