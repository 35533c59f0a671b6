"""The business-error types. Views show their message; the API answers with their status.

Which one a refusal raises is decided by what the caller would have to change:
- ServiceError (400): the input itself is wrong (missing, too long, not one of the choices,
  contradicting itself); sent again unchanged it is refused again, whatever happens meanwhile.
- ServiceForbidden (403): the caller's role may not do this.
- ServiceNotFound (404): an id or number in the input names nothing the caller may see (one
  that exists but is out of the caller's sight gets the same answer).
- ServiceConflict (409): the input is well formed, but the current state of the appeal (or
  of what it names) refuses it: already signed, not open, a reply under review, a key already
  used. The same request may succeed in another state.
"""

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


class ServiceNotFound(ServiceError):
    status = 404


class ServiceConflict(ServiceError):
    status = 409
