"""The second step of a staff login: enrol an authenticator app (once), then give its code or a
recovery code at every login."""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from departments.two_factor import second_factor_pending
from departments.two_factor.services import (
    Check,
    authenticator_pending,
    has_authenticator,
    qr_data_uri,
    second_factor_enrol,
    second_factor_verify,
    secret_for_typing,
)


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("验证码"), max_length=32, strip=True)


def _next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


@never_cache
@login_required
def two_factor_verify(request):
    next_url = _next(request)
    if not second_factor_pending(request):
        return redirect(next_url)
    if not has_authenticator(request.user):
        return redirect(_with_next("two_factor_enrol", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = second_factor_verify(request=request, code=form.cleaned_data["code"])
        if result.outcome == Check.VERIFIED:
            if result.recovery_codes_left is not None:
                messages.warning(
                    request,
                    _("已用掉一个恢复码，还剩 %(n)s 个。用完前请联系营商环境办重新设置。")
                    % {"n": result.recovery_codes_left},
                )
            return redirect(next_url)
        if result.outcome == Check.THROTTLED:
            when = timezone.localtime(result.locked_until)
            form.add_error(
                "code",
                _("错误次数过多，请于 %(time)s 之后再试。")
                % {"time": formats.time_format(when, "H:i:s")},
            )
        else:
            form.add_error("code", _("验证码不正确。"))
    status = 400 if form.errors else 200
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": next_url},
        status=status,
    )


@never_cache
@login_required
def two_factor_enrol(request):
    next_url = _next(request)
    if not second_factor_pending(request):
        return redirect(next_url)
    if has_authenticator(request.user):
        # Enrolling a new device needs the old one first (or the office resets it): a stolen
        # password alone must not be enough to add an authenticator.
        return redirect(_with_next("two_factor_verify", next_url))
    device = authenticator_pending(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = second_factor_enrol(request=request, code=form.cleaned_data["code"])
        if codes is not None:
            return render(
                request,
                "registration/two_factor_recovery_codes.html",
                {"codes": [f"{c[:4]}-{c[4:]}" for c in codes], "next": next_url},
            )
        form.add_error("code", _("验证码不正确，请等待应用显示新的验证码后再试。"))
    context = {
        "form": form,
        "next": next_url,
        "qr": qr_data_uri(device),
        "secret": secret_for_typing(device),
    }
    status = 400 if form.errors else 200
    return render(request, "registration/two_factor_enrol.html", context, status=status)
