"""API tokens: issue, authenticate, revoke. The key is shown once; only its SHA-256 is kept."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from core.errors import ServiceForbidden
from departments.audit import audit_record
from departments.models import ApiToken, Membership
from departments.roles import Role, roles_of

_TOKEN_MEMBERSHIPS = {
    Role.HANDLER: (Membership.Role.HANDLER, Membership.Role.LIAISON),
    Role.HEAD: (Membership.Role.HEAD,),
}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issuable(actor, user) -> bool:
    """Only a superuser mints a key for someone else: a key acts as its user, so whoever mints
    one for another account can act as that account. `actor` None is the operator at the
    server's command line (manage.py api_token_create)."""
    return actor is None or actor.is_superuser or actor.pk == user.pk


@transaction.atomic
def api_token_issue(*, actor, user, role: Role, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` acting as `role` (which the user must hold); returns the token
    and the key, which is never shown again."""
    if not token_issuable(actor, user):
        raise ServiceForbidden("token_not_issuable", _("只有超级管理员可为他人创建令牌。"))
    if Role(role) not in roles_of(user):
        raise ValueError(f"{user} does not hold the role {role}")
    key = "qh_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, user=user, role=Role(role).value, prefix=key[:8], key_hash=_hash(key)
    )
    audit_record(
        event="token.issued",
        actor=actor,
        actor_name="system" if actor is None else "",
        obj=token,
        detail={"user": user.pk, "role": token.role},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token_id: int) -> None:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        event="token.revoked",
        actor=actor,
        actor_name="system" if actor is None else "",
        obj=token,
        detail={"user": token.user_id, "role": token.role},
    )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`). The request acts in the token's role
    only, even if its user holds more roles."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="ignore").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("认证信息格式不正确。"))
        key = header[1].decode(errors="ignore")
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=_hash(key), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("令牌无效或已吊销。"))
        user = token.user
        held = roles_of(user)
        user._roles_cache = frozenset({Role(token.role)}) & held
        if not user._roles_cache:
            raise exceptions.AuthenticationFailed(_("令牌所属用户已不再担任该角色。"))
        # Department memberships go with the department roles only: a head's commissioner
        # token must not approve replies as head.
        member_roles = _TOKEN_MEMBERSHIPS.get(Role(token.role), ())
        user._department_ids_cache = list(
            user.memberships.filter(role__in=member_roles).values_list("department_id", "role")
        )
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return user, token

    def authenticate_header(self, request):
        return "Token"
