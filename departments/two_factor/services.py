"""Enrolling and checking the second factor. Each check runs in one transaction with the device
locked (concurrent guesses cannot share a throttle step, nor a recovery code be used twice) and
its audit record written in the same transaction."""

import base64
import io
from dataclasses import dataclass
from enum import StrEnum

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from departments.audit import audit_record
from departments.models import AuditRecord

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"


class Check(StrEnum):
    """How a submitted code fared."""

    VERIFIED = "verified"
    WRONG = "wrong"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class CheckResult:
    outcome: Check
    method: str = ""  # "totp" or "recovery"
    locked_until: object = None  # when a throttled device accepts the next try
    recovery_codes_left: int | None = None


def normalise(code: str) -> str:
    """Codes as people type them: spaces and hyphens dropped, letters in lower case."""
    return "".join(code.split()).replace("-", "").lower()


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def authenticator_pending(*, user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled: the same key on every visit of the enrolment
    page until a code from it confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as a QR code, an SVG in a data: URI (drawn here: no CDN, and
    as an <img> its SVG is not subject to the page's style policy)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32 in groups of four, for apps without a camera."""
    key = base64.b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def second_factor_enrol(*, request, code: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from it; on success the session is
    verified and ten new recovery codes (replacing any old ones) are returned, to be shown
    once. None when the code is wrong (or the device is throttled)."""
    user = request.user
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None or has_authenticator(user):
            return None
        if not device.verify_token(normalise(code)):
            audit_record(
                event="auth.second_factor_enrol",
                actor=user,
                outcome=AuditRecord.Outcome.FAILURE,
                request=request,
            )
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        codes = _recovery_codes_replace(user)
        audit_record(event="auth.second_factor_enrol", actor=user, request=request)
    _session_verified(request, device)
    return codes


def second_factor_verify(*, request, code: str) -> CheckResult:
    """Check a code: six digits go to the authenticator, anything else to the recovery codes
    (a recovery code is used up). Wrong codes are throttled per device by django-otp."""
    user = request.user
    code = normalise(code)
    is_totp = code.isdigit() and len(code) == 6
    model, method = (TOTPDevice, "totp") if is_totp else (StaticDevice, "recovery")
    with transaction.atomic():
        device = (
            model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        ).first()
        if device is None:
            result = CheckResult(Check.WRONG, method)
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                result = CheckResult(Check.THROTTLED, method, info.get("locked_until"))
            elif device.verify_token(code):
                left = device.token_set.count() if method == "recovery" else None
                result = CheckResult(Check.VERIFIED, method, recovery_codes_left=left)
            else:
                result = CheckResult(Check.WRONG, method)
        audit_record(
            event="auth.second_factor",
            actor=user,
            outcome={
                Check.VERIFIED: AuditRecord.Outcome.SUCCESS,
                Check.WRONG: AuditRecord.Outcome.FAILURE,
                Check.THROTTLED: AuditRecord.Outcome.LOCKED,
            }[result.outcome],
            request=request,
            detail={"method": method},
        )
    if result.outcome == Check.VERIFIED:
        _session_verified(request, device)
    return result


def _recovery_codes_replace(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def _session_verified(request, device) -> None:
    # A new session id as the session gains its privileges, as at login.
    request.session.cycle_key()
    otp_login(request, device)
