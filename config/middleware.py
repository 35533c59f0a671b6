"""Request ids and the access log; the language of the pages.

Language: Simplified Chinese unless the user chose another language in the top bar.

Django's LocaleMiddleware would follow the browser's Accept-Language header; a government
service desk shows Chinese by default whatever the browser says, and English on request."""

import logging
import time

from django.conf import settings
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from config.logs import REQUEST_ID_HEADER, request_id_accept, request_id_set

access_logger = logging.getLogger("qihu.access")


class ChosenLanguageMiddleware:
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
