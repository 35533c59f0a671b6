"""Site-wide views: the error page for an unexpected failure."""

from django.http import HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from config.logs import current_request_id


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """A generic message and the request's id, which the user can quote and the log lines of
    that request carry. Rendered without the request's context: the processors (roles, unread
    messages) need the database, which may be what failed."""
    request_id = getattr(request, "request_id", "") or current_request_id()
    html = loader.get_template(template_name).render({"request_id": request_id})
    return HttpResponseServerError(html)
