"""Staff log in with two factors (等保 level 3, GB/T 22239 §8.1.4.1 d): the password, then a
code from a TOTP app or one of ten single-use recovery codes (django-otp).

The rule is `second_factor_pending`: while it holds, `SecondFactorMiddleware` lets the session
reach only the second-factor pages, login, logout, the language switch, static files and
/healthz: every page, the admin and the API under this session are refused. One gate in front
of everything, rather than a check in each access helper, so that the admin and the session
API, which use none of our helpers, are covered too. API tokens (departments/tokens.py) never
carry a session: the middleware sees an anonymous request and DRF authenticates the token."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from departments.roles import STAFF_ROLES, roles_of


def second_factor_required(user) -> bool:
    """Whether this user must log in with a second factor: every staff role (leaders and
    supervisors too: they read internal figures, and 等保 asks it of every government user),
    and anyone who may open the admin. Enterprise accounts are not asked."""
    if not settings.STAFF_2FA_REQUIRED or not user.is_authenticated:
        return False
    return user.is_staff or bool(roles_of(user) & STAFF_ROLES)


def second_factor_pending(request) -> bool:
    """The session's user must give a second factor and has not yet in this session."""
    user = request.user
    return second_factor_required(user) and not user.is_verified()


class SecondFactorMiddleware:
    """Keeps a session whose second factor is pending on the pages that let it give one (after
    django_otp's OTPMiddleware, which sets `user.is_verified()`)."""

    OPEN_URL_NAMES = ("two_factor_verify", "two_factor_enrol", "login", "logout", "set_language")
    OPEN_PATHS = ("/healthz",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if second_factor_pending(request) and not self._open(request.path_info):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "second_factor_required",
                        "message": _("请先完成登录的第二步验证。"),
                    },
                    status=403,
                )
            return redirect_to_login(request.get_full_path(), reverse("two_factor_verify"))
        return self.get_response(request)

    def _open(self, path: str) -> bool:
        if path.startswith(settings.STATIC_URL):  # "/static/": Django adds the script prefix
            return True
        return path in self.OPEN_PATHS or path in {reverse(n) for n in self.OPEN_URL_NAMES}
