"""Domain errors raised by services, carrying a message a person can read."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. Views turn it into a 4xx or a re-rendered form."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """Input that breaks a rule; `field` names the input at fault."""

    status_code = 422


class NotFound(DomainError):
    """A missing object, or one of another organization (the two look the same)."""

    status_code = 404


class Conflict(DomainError):
    """The request collides with existing state (a taken slug, a duplicate address)."""

    status_code = 409


class PermissionDenied(DomainError):
    """The actor's role does not allow this write."""

    status_code = 403


class TooManyRequests(DomainError):
    """The actor has done this too often lately; `retry_after` says in how many seconds it may again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
