"""Request-wide rules: request ids and the access log, the language, no `__` lookups in queries, and a database that went away mid-request answers 503 with
Retry-After, not a 500 trace."""

import logging
import time

from django.conf import settings
from django.contrib.sessions import middleware as sessions
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from config.logs import REQUEST_ID_HEADER, request_id_accept, request_id_set
from core.db import pinned_to_primary, replica_configured

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("qihu.access")

# The admin's URL prefix (config/urls.py).
ADMIN_PREFIX = "/admin/"

# Seconds a client is asked to wait after a 503: about as long as a PostgreSQL restart.
RETRY_AFTER_SECONDS = 5


class ChosenLanguageMiddleware:
    """Simplified Chinese unless the user chose another language in the top bar.

    Django's LocaleMiddleware would follow the browser's Accept-Language header; a government
    service desk shows Chinese by default whatever the browser says, and English on request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class RefuseLookupParamsMiddleware:
    """No query parameter name may hold a `__` path (`contact_phone__startswith`,
    `enterprise__users__username`): no list in the platform filters or orders by one, and a
    filter library that passed such a name to the ORM would let a caller probe hidden columns.
    Refused with a 400 before any view runs, whatever the view's own allow-list says. The
    admin is exempt: its list filters are `__` lookups, and it checks each against the
    model admin's list_filter (ModelAdmin.lookup_allowed)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        bad = sorted(name for name in request.GET if "__" in name)
        if bad:
            message = _("不支持的查询参数：%(names)s") % {"names": "、".join(bad)}
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "invalid", "message": message, "fields": {n: [message] for n in bad}},
                    status=400,
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def database_gone(exception: BaseException | None) -> bool:
    """Whether `exception`, or one it was raised from, says the database connection broke.
    Django turns a failed session save into UpdateError, then SessionInterrupted (400)."""
    seen = 0
    while exception is not None and seen < 10:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


def database_unavailable_response(request, exception: BaseException) -> HttpResponse:
    """503 with Retry-After, in the API's shape under /api/. Rendered without the base template
    or the request's context: its processors would query the database again. On the receipt
    page the filer learns that the code is still there: a 5xx saves no session, so the receipt
    is still in it, and the next load of the page shows it (appeals.views.public)."""
    logger.error("database unavailable: %s %s", request.method, request.path, exc_info=exception)
    message = _("系统暂时无法访问数据库，请稍后重试。")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "database_unavailable", "message": message})
    else:
        if request.path == reverse("appeal_receipt"):
            message += _("您的诉求已登记，回执仍为您保留：稍后刷新本页即可再次看到登记号和查询码。")
        response = HttpResponse(
            render_to_string("503.html", {"message": message}), content_type="text/html"
        )
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A request whose database connection broke (PostgreSQL restarted or failed over, the
    connection killed) answers 503 with Retry-After instead of a 500 trace. Its transaction was
    rolled back (or, if the connection died during COMMIT, its outcome is unknown: a filing is
    retried safely with the same Idempotency-Key). Django drops the broken connection when the
    request ends, and the health check (CONN_HEALTH_CHECKS) replaces a dead kept connection at
    the next request, so the site recovers by itself. This covers the view; a failure in
    another middleware (the session read there) reaches config.views.server_error, and a failed
    session save SessionMiddleware below."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return database_unavailable_response(request, exception)


class SessionMiddleware(sessions.SessionMiddleware):
    """Django's, except that a session save failing because the database is gone answers the
    503 page: Django's own answers 500 for a new session and an English "Bad Request (400)"
    (SessionInterrupted) for an existing one. A 5xx response saves no session, so nothing the
    request put in it is kept, and nothing it took out is lost."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except Exception as exc:
            if not database_gone(exc):
                raise
            return database_unavailable_response(request, exc)


class RequestIdMiddleware:
    """First in MIDDLEWARE: gives each request an id (the proxy's X-Request-ID when it is safe
    to log, a new one otherwise), returns it in the response's X-Request-ID header, and writes
    one access line when the response leaves: method, path (never the query string), status,
    duration and the user's id. Every log line written meanwhile carries the id (config.logs),
    and the error page shows it, so a user can quote it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        request_id = request_id_accept(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        # Cleared when the response is closed (config.logs), not here: Django's own line about
        # an error response (django.request) is written after the last middleware returns.
        request_id_set(request_id)
        response = self.get_response(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        access_logger.info(
            "%s %s %s %dms user=%s",
            _printable(request.method or ""),
            _printable(request.path),
            response.status_code,
            round((time.monotonic() - started) * 1000),
            _user_id(request),
        )
        return response


def _printable(text: str, limit: int = 300) -> str:
    # A path is decoded from the URL: %0A would otherwise start a forged log line.
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _user_id(request) -> str:
    """The signed-in user's id, or "-". Never loads the user for the log line alone: a page
    that did not need the session must not pay its queries here."""
    user = request.__dict__.get("user")  # DRF sets the user it authenticated (token or session)
    if isinstance(user, SimpleLazyObject):
        user = getattr(request, "_cached_user", None)  # set by auth once someone asked for it
    if user is None or not user.is_authenticated:
        return "-"
    return str(user.pk)


# The cookie that pins a browser's reads to the primary after it wrote (core.db).
PRIMARY_PIN_COOKIE = "primary_pin"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _primary_pin_key(user_id: int) -> str:
    return f"db:primary-pin:{user_id}"


class PrimaryPinMiddleware:
    """A user never misses their own write when reads go to a lagging replica (core.db): a
    request that may write (any unsafe method) reads from the primary, and so does every
    request of the same browser (a cookie) or user (the shared cache: an API client with a
    token keeps no cookie) for DATABASE_REPLICA_PIN_SECONDS afterwards. Without a replica it
    does nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        writes = request.method not in _SAFE_METHODS

        def pinned() -> bool:
            if writes or PRIMARY_PIN_COOKIE in request.COOKIES:
                return True
            # Asked lazily: DRF authenticates a token only inside the view, then sets the
            # user on this request too.
            user = getattr(request, "user", None)
            return bool(user and user.is_authenticated and cache.get(_primary_pin_key(user.pk)))

        with pinned_to_primary(pinned):
            response = self.get_response(request)
        if writes:
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_cookie(
                PRIMARY_PIN_COOKIE,
                "1",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                cache.set(_primary_pin_key(user.pk), True, timeout=seconds)
        return response
