"""Password reset by e-mail (django.contrib.auth's views), throttled and audited (issue #15).

A request is counted per network address and per account it would reach, in the shared cache
(CACHE_URL): a stranger can neither flood one person's mailbox nor try address after address
quickly. Over a limit the page answers exactly as when a mail was sent, so the form tells no
one whether an address has an account. Every request leaves an audit record (`locked` when
throttled; never the e-mail address), and so does every completed reset."""

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponseRedirect

from departments.audit import audit_record
from departments.models import AuditRecord

RESET_WINDOW_SECONDS = 3600
RESETS_PER_ADDRESS = 5  # requests from one network address an hour
RESETS_PER_ACCOUNT = 3  # mails to one account an hour


def _counted(key: str, limit: int) -> bool:
    """One more request under `key`; whether it is within `limit` (one atomic increment)."""
    cache.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, RESET_WINDOW_SECONDS)
        count = 1
    return count <= limit


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        address = self.request.META.get("REMOTE_ADDR", "")
        accounts = list(form.get_users(form.cleaned_data["email"]))
        allowed = _counted(f"password-reset:address:{address}", RESETS_PER_ADDRESS)
        # Every account the mail would reach counts, even when the address is over its limit.
        for account in accounts:
            allowed &= _counted(f"password-reset:account:{account.pk}", RESETS_PER_ACCOUNT)
        audit_record(
            event="auth.password_reset_requested",
            outcome=AuditRecord.Outcome.SUCCESS if allowed else AuditRecord.Outcome.LOCKED,
            obj=accounts[0] if len(accounts) == 1 else None,
            request=self.request,
            detail={"accounts": len(accounts)},
        )
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(
            event="auth.password_reset", actor=form.user, obj=form.user, request=self.request
        )
        return response
