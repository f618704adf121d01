"""One error base with an HTTP status code; the API turns it into a JSON error."""

from __future__ import annotations

from typing import Any


class KBError(Exception):
    """Base of every expected error: a message for people and a status code for HTTP."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.details = details


class NotAuthenticated(KBError):
    """No or an invalid credential."""

    status_code = 401


class PermissionDenied(KBError):
    """The caller's role does not allow this."""

    status_code = 403


class NotFound(KBError):
    """The object does not exist or the caller may not see it."""

    status_code = 404


class Conflict(KBError):
    """The request conflicts with the current state (stale version, invalid transition, duplicate slug)."""

    status_code = 409


class InvalidInput(KBError):
    """Well-formed but unacceptable input."""

    status_code = 422


class ServiceUnavailable(KBError):
    """A dependency (index, database) is not ready."""

    status_code = 503
