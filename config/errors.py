"""The one business-error type. Views show its message; the API maps it to a 400 (or 403)."""


class ServiceError(Exception):
    """A refused action: `code` is stable English for machines, `message` is for people."""

    status = 400

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = str(message)


class ServiceForbidden(ServiceError):
    status = 403
