"""Kiosk links for the lobby screen (大屏): create, revoke, and check the token of a request.

A lobby screen runs unattended for weeks, past any session. Its link carries a token instead:
`[id, nonce]` signed under this module's salt with the SECRET_KEY, with no timestamp (a link
does not expire; it is revoked), so the office's page shows the same link each time (checked
against SECRET_KEY_FALLBACKS, so a key rotation can keep links working while they are
replaced). The token opens the board and its data, nothing else: it logs no one in and sets
no session. A token whose signature fails is unknown (404); a revoked link is refused (403).
"""

import secrets
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from core.errors import ServiceConflict, ServiceError, ServiceForbidden
from departments.audit import audit_record
from departments.roles import Role, has_role
from reports.models import KioskLink

SALT = "reports.kiosk"
# The board is published every 5 minutes (config/celery.py): three missed publications in a
# row and the screen says its figures are stale.
STALE_AFTER = timedelta(minutes=15)


class KioskRefused(Exception):
    """The token is unknown (`status` 404) or its link was revoked (403)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def kiosk_token(link: KioskLink) -> str:
    return _signer().sign_object([link.pk, link.nonce])


def may_manage_kiosks(user) -> bool:
    return has_role(user, Role.OFFICE)


@transaction.atomic
def kiosk_link_create(*, actor, label: str, request=None) -> KioskLink:
    """A new link for one lobby screen, named by `label` (where the screen hangs)."""
    if not may_manage_kiosks(actor):
        raise ServiceForbidden("forbidden", _("只有营商办可以管理大屏链接。"))
    label = label.strip()
    if not label:
        raise ServiceError(
            "required", _("请填写大屏名称（如：政务服务中心一楼大厅）。"), field="label"
        )
    link = KioskLink.objects.create(
        label=label[:100],
        nonce=secrets.token_urlsafe(16),
        created_at=timezone.now(),
        created_by=actor,
    )
    audit_record(
        event="kiosk.created", actor=actor, obj=link, request=request, detail={"label": link.label}
    )
    return link


@transaction.atomic
def kiosk_link_revoke(*, actor, link_id: int, request=None) -> KioskLink:
    """Stop a link at once: its next request, page or data, is refused."""
    if not may_manage_kiosks(actor):
        raise ServiceForbidden("forbidden", _("只有营商办可以管理大屏链接。"))
    # A conditional update rather than a row lock (reports takes no locks: tests/test_layout):
    # of two revocations at once, one changes the row and is audited, the other is refused.
    revoked = KioskLink.objects.filter(pk=link_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    if not revoked:
        raise ServiceConflict("already_revoked", _("该链接已停用。"))
    link = KioskLink.objects.get(pk=link_id)
    audit_record(
        event="kiosk.revoked", actor=actor, obj=link, request=request, detail={"label": link.label}
    )
    return link


def kiosk_link_for_token(token: str) -> KioskLink:
    """The active link a token names, or KioskRefused. Read on every request of the screen, so
    a revocation takes effect at the next one."""
    try:
        link_id, nonce = _signer().unsign_object(token)
        link_id, nonce = int(link_id), str(nonce)
    except (signing.BadSignature, TypeError, ValueError):
        raise KioskRefused(404) from None
    link = KioskLink.objects.filter(pk=link_id).first()
    if link is None or not constant_time_compare(link.nonce, nonce):
        raise KioskRefused(404)
    if link.revoked_at is not None:
        raise KioskRefused(403)
    return link


def kiosk_links() -> list[KioskLink]:
    """The office's list: every link, newest first, with who made and revoked it."""
    return list(KioskLink.objects.select_related("created_by", "revoked_by"))
