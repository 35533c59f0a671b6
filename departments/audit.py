"""The audit trail: one AuditRecord per workflow event, login, lockout, export and reveal of a
full phone number (tests/security/test_audit.py). Records are written in the caller's
transaction, so a change and its record commit or roll back together."""

import json
from datetime import timedelta

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from departments.models import AuditRecord

# 等保 level 3 asks for audit records to be kept at least six months.
MIN_RETENTION_DAYS = 183


def audit_record(**fields) -> AuditRecord:
    """Write one audit record now (`audit_row` says what it holds)."""
    record = audit_row(**fields)
    record.save()
    return record


def audit_row(
    *,
    event: str,
    actor=None,
    obj: models.Model | None = None,
    outcome: str = AuditRecord.Outcome.SUCCESS,
    request=None,
    actor_name: str = "",
    detail: dict | None = None,
    at=None,
) -> AuditRecord:
    """One audit record, unsaved. `event` is a stable English code (`appeal.routed`,
    `auth.login`, `export.triage`, `contact.revealed`); `detail` never holds personal data. A
    service writes it with `audit_record`, or with its change's other rows (core.writes)."""
    authenticated = actor is not None and actor.is_authenticated
    return AuditRecord(
        at=at or timezone.now(),
        actor=actor if authenticated else None,
        actor_name=(actor.get_username() if authenticated else actor_name)[:150],
        event=event,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        outcome=outcome,
        ip_address=get_client_ip_address(request) if request is not None else None,
        detail=detail or {},
    )


def audit_record_many(*, event: str, objects: list[models.Model], at) -> None:
    """One audit record per object, all for the same system event at the same moment, in one
    insert (the escalation sweep's batches). No actor, no request: the system acted."""
    AuditRecord.objects.bulk_create(
        [
            AuditRecord(
                at=at,
                actor=None,
                actor_name="",
                event=event,
                object_type=obj._meta.model_name or "",
                object_id=str(obj.pk),
                outcome=AuditRecord.Outcome.SUCCESS,
                ip_address=None,
                detail={},
            )
            for obj in objects
        ],
        batch_size=1000,
    )


def audit_retention_days() -> int:
    return max(settings.AUDIT_RETENTION_DAYS, MIN_RETENTION_DAYS)


def audit_purge(*, now=None) -> int:
    """Delete records older than the retention period (never younger than six months)."""
    cutoff = (now or timezone.now()) - timedelta(days=audit_retention_days())
    deleted, _by_model = AuditRecord.objects.filter(at__lt=cutoff).delete()
    return deleted


# Receivers of django.contrib.auth's and django-axes's signals, connected in apps.py.


def on_logged_in(sender, request, user, **kwargs) -> None:
    audit_record(event="auth.login", actor=user, request=request)


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_record(event="auth.logout", actor=user, request=request)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A failed login: `locked` when django-axes refused it because the account was already
    locked (axes then checks no password and leaves axes_failures_since_start unset)."""
    already_locked = (
        getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )
    audit_record(
        event="auth.login",
        outcome=AuditRecord.Outcome.LOCKED if already_locked else AuditRecord.Outcome.FAILURE,
        actor_name=str(credentials.get("username", "")),
        request=request,
    )


def on_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    """django-axes sends this when an account becomes locked, and again on every attempt while
    it is; only the first is the lockout event."""
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    audit_record(
        event="auth.lockout",
        outcome=AuditRecord.Outcome.LOCKED,
        actor_name=str(username or ""),
        request=request,
    )


# Before → after of a configuration object, for the records of changes made in the admin and by
# the staff services. Values are stored as JSON (a foreign key as its id, a many-to-many as the
# sorted ids), so a record reads the same whatever has been renamed since.


def model_snapshot(obj: models.Model, fields: tuple[str, ...] = ()) -> dict:
    """The object's concrete and many-to-many field values (or only `fields`), JSON-safe."""
    values = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or (fields and field.name not in fields):
            continue
        values[field.name] = getattr(obj, field.attname)
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            if fields and field.name not in fields:
                continue
            values[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def snapshot_diff(before: dict | None, after: dict | None) -> dict:
    """field → [before, after] for the fields that differ (a missing side is None)."""
    before, after = before or {}, after or {}
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
