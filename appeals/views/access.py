"""Access helpers: each both scopes and fetches, so a view cannot forget one or the other."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from appeals.models import Appeal
from appeals.selectors import appeal_get_visible, my_appeals
from departments.roles import STAFF_ROLES, Role, has_role

TRACKED_SESSION_KEY = "tracked_appeals"


def role_required(*roles: Role):
    """Log in first; then one of `roles`, or 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = role_required(*STAFF_ROLES)


def appeal_for_staff(request, number: str) -> Appeal:
    """A staff member's view of an appeal: 404 unless the scoping function lets them see it."""
    return appeal_get_visible(request.user, number)


def tracking_grant(request, appeal: Appeal) -> None:
    """Remember in the session that this browser proved it holds the appeal's query code."""
    tracked = set(request.session.get(TRACKED_SESSION_KEY, []))
    tracked.add(appeal.pk)
    request.session[TRACKED_SESSION_KEY] = sorted(tracked)


def appeal_for_tracker(request, number: str) -> Appeal:
    """The enterprise's view of an appeal: granted by the query code in this session, or the
    appeal is one of the logged-in enterprise user's own. Otherwise 404."""
    appeal = Appeal.objects.filter(number=number).first()
    if appeal is None:
        raise Http404
    if appeal.pk in request.session.get(TRACKED_SESSION_KEY, []):
        return appeal
    if request.user.is_authenticated and my_appeals(request.user).filter(pk=appeal.pk).exists():
        return appeal
    raise Http404
