"""One answer for every refusal: a JSON {"error": ...} under /api, an HTML error page everywhere else.

Services raise a UserError subclass (its status and a message written to be shown); FastAPI raises
RequestValidationError for bad parameters; dependencies raise HTTPException (401 with WWW-Authenticate,
303 to the login page). Routes catch none of these: the handlers installed here answer them all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from paperfeed.errors import UserError

__all__ = ["ErrorPage", "error_response", "install_error_handlers", "is_api", "wants_json"]

log = logging.getLogger(__name__)


class ErrorPage(Protocol):
    """Renders the HTML error page (web/ provides it, so this package never imports web/)."""

    def __call__(self, request: Request, status: int, message: str) -> Response: ...


def is_api(request: Request) -> bool:
    """True for a request to the JSON API (/api and below)."""
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def wants_json(request: Request) -> bool:
    """True for our own script's fetch of a page route (Accept: application/json), not a plain form post."""
    return "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str) -> Response:
    """JSON {"error": ...} under /api, the app's HTML error page everywhere else."""
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status)
    page: ErrorPage = request.app.state.error_page
    return page(request, status, message)


def _with_headers(response: Response, headers: Mapping[str, str] | None) -> Response:
    if headers:
        response.headers.update(headers)
    return response


async def _user_error(request: Request, exc: Exception) -> Response:
    # A service's refusal (bad input, not found, not allowed, rate limited): its status and its message.
    assert isinstance(exc, UserError)
    return _with_headers(error_response(request, exc.status, str(exc)), exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    # Hugging Face answers a bad parameter with 400 {"error": ...}; clients written for it expect that.
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return error_response(request, 400, "; ".join(parts) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _with_headers(error_response(request, exc.status_code, str(exc.detail)), exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # SQLite's writer lock held past busy_timeout, or PostgreSQL gone (restarting, connection dropped): the
    # transaction was rolled back, nothing half-written stays, and the same request can simply be sent again.
    # A 503 with Retry-After says exactly that; a 500 would say "bug".
    assert isinstance(exc, OperationalError)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
    response = error_response(request, 503, "the database is busy or restarting: try again in a moment")
    return _with_headers(response, {"Retry-After": "2"})


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_error_handlers(app: FastAPI, *, page: ErrorPage) -> None:
    """Register the handlers above on `app`; `page` renders the HTML error page for non-API paths."""
    app.state.error_page = page
    handlers: tuple[tuple[type[Exception], Handler], ...] = (
        (UserError, _user_error),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_error),
        (OperationalError, _database_unavailable),
    )
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
