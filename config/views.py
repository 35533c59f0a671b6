"""Site-wide views: the error pages for an unexpected failure and for a request refused before
any view read it."""

import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from config.logs import current_request_id
from config.middleware import database_gone, database_unavailable_response


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """A generic message and the request's id, which the user can quote and the log lines of
    that request carry. Rendered without the request's context: the processors (roles, unread
    messages) need the database, which may be what failed. The API answers in its own shape."""
    failure = sys.exc_info()[1]  # Django calls this view while handling the exception
    if database_gone(failure):
        # The database broke outside a view (e.g. the session read by a middleware): the 503
        # page with Retry-After, as DatabaseUnavailableMiddleware answers for a view.
        return database_unavailable_response(request, failure)
    request_id = getattr(request, "request_id", "") or current_request_id()
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "server_error",
                "message": _("系统出错，请稍后再试。"),
                "request_id": request_id,
            },
            status=500,
        )
    html = loader.get_template(template_name).render({"request_id": request_id})
    return HttpResponseServerError(html)


# Refusals of a body past Django's limits (DATA_UPLOAD_MAX_MEMORY_SIZE, …_NUMBER_FIELDS, …_FILES).
_TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


@requires_csrf_token
def bad_request(request, exception, template_name="400.html"):
    """Django's answer to a request it refuses itself (SuspiciousOperation: an oversized body,
    too many fields, a bad host header). The API answers in its own shape, with the request's
    id, instead of Django's English page; pages keep Django's."""
    if request.path.startswith("/api/"):
        too_large = isinstance(exception, _TOO_LARGE)
        return JsonResponse(
            {
                "code": "request_too_large" if too_large else "bad_request",
                "message": _("请求内容过大。") if too_large else _("请求无效。"),
                "request_id": getattr(request, "request_id", "") or current_request_id(),
            },
            status=400,
        )
    return defaults.bad_request(request, exception, template_name)


def not_found(request, exception, template_name="404.html"):
    """No page here. Under /api/ in the API's shape (a URL no route matches, e.g. an id that
    is not a number), as the schema documents every 404; pages keep the 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "not_found",
                "message": _("未找到。"),
                "request_id": getattr(request, "request_id", "") or current_request_id(),
            },
            status=404,
        )
    return defaults.page_not_found(request, exception, template_name)
