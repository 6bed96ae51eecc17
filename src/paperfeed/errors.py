"""The one user-facing error base: every service refuses a request by raising a UserError subclass.

The message is written to be shown to the user; `status` is the HTTP status a route answers with. One
handler (http/errors.py) turns any of them into a page or JSON, so routes never catch and re-raise them.
"""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "NotFound", "TooManyRequests", "UpstreamError", "UserError"]


class UserError(ValueError):
    """A request a service refuses; the message says why and is safe to show (HTTP 400 by default)."""

    status: int = 400
    headers: dict[str, str] | None = None


class NotFound(UserError):
    """No such thing, or one the user may not see (HTTP 404)."""

    status = 404


class Forbidden(UserError):
    """The user may not do this (HTTP 403)."""

    status = 403


class Conflict(UserError):
    """The state already says otherwise: a duplicate, a taken name (HTTP 409)."""

    status = 409


class TooManyRequests(UserError):
    """A rate limit or quota is used up (HTTP 429 with Retry-After)."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


class UpstreamError(UserError):
    """A remote service (arXiv) did not answer usefully (HTTP 502)."""

    status = 502
