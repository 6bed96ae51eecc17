"""Errors of the community services; web and API map each class to one HTTP status."""

from __future__ import annotations

__all__ = ["CommunityError", "Conflict", "Forbidden", "NotFound", "UpstreamError"]


class CommunityError(ValueError):
    """A request the service refuses; the message says why and is safe to show (HTTP 400)."""

    status = 400


class NotFound(CommunityError):
    """No such paper, comment or collection, or one the user may not see (HTTP 404)."""

    status = 404


class Forbidden(CommunityError):
    """The user may not do this (HTTP 403)."""

    status = 403


class Conflict(CommunityError):
    """The state already says otherwise: a duplicate submission, a taken slug (HTTP 409)."""

    status = 409


class UpstreamError(CommunityError):
    """arXiv did not answer usefully (HTTP 502)."""

    status = 502
