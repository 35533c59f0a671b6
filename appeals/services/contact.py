"""Revealing an appeal's full contact details: allowed only to those who handle the appeal,
and each reveal leaves an audit record (lists, boards and exports only ever show them masked)."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from appeals.actions import may_reveal_contact
from appeals.models import Appeal
from appeals.services._common import forbid_unless
from departments.audit import audit_record


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str


@transaction.atomic
def contact_reveal(*, actor, appeal: Appeal, request=None) -> Contact:
    forbid_unless(
        may_reveal_contact(actor, appeal), _("只有承办该诉求的人员可以查看完整联系方式。")
    )
    audit_record(event="contact.revealed", actor=actor, obj=appeal, request=request)
    return Contact(name=appeal.contact_name, phone=appeal.contact_phone)
