"""Site-wide views: the error page for an unexpected failure."""

import sys

from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
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
