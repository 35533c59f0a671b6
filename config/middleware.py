"""Project middleware.

Language: Simplified Chinese unless the user chose another language in the top bar. Django's
LocaleMiddleware would follow the browser's Accept-Language header; a government service desk
shows Chinese by default whatever the browser says, and English on request.

A database that went away mid-request: 503 with Retry-After, not a 500 trace."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait after a 503: about as long as a PostgreSQL restart.
RETRY_AFTER_SECONDS = 5


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


class DatabaseUnavailableMiddleware:
    """A request whose database connection broke (PostgreSQL restarted or failed over, the
    connection killed) answers 503 with Retry-After instead of a 500 trace. Its transaction was
    rolled back (or, if the connection died during COMMIT, its outcome is unknown: a filing is
    retried safely with the same Idempotency-Key). Django drops the broken connection when the
    request ends, and the health check (CONN_HEALTH_CHECKS) replaces a dead kept connection at
    the next request, so the site recovers by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable: %s %s", request.method, request.path, exc_info=exception
        )
        message = _("系统暂时无法访问数据库，请稍后重试。")
        if request.path.startswith("/api/"):
            response = JsonResponse({"code": "database_unavailable", "message": message})
        else:
            # No base template: its context processors would query the database again.
            response = HttpResponse(
                render_to_string("503.html", {"message": message}), content_type="text/html"
            )
        response.status_code = 503
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
