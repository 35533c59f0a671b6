"""The one business-error type. Views show its message; the API maps it to a 400 (or 403)."""

from django.utils.functional import Promise


class ServiceError(Exception):
    """A refused action: `code` is stable English for machines, `message` is for people, and
    `field` names the input it is about, when it is about one."""

    status = 400

    def __init__(self, code: str, message: str | Promise, *, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field


class ServiceForbidden(ServiceError):
    status = 403
