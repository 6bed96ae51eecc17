"""The login session on the wire: the HttpOnly cookie, and the middleware that puts the user on the request.

The session rows themselves (create, look up, expire, delete) are accounts/sessions.py's; this module only
reads and writes the cookie and runs the lookup once per request.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed.accounts.models import User
from paperfeed.accounts.sessions import COOKIE, lookup
from paperfeed.config import Settings
from paperfeed.cookies import scope_cookie

__all__ = ["LoginSessionMiddleware", "clear_cookie", "cookie_value", "set_cookie"]


def _secure(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def set_cookie(response: Response, settings: Settings, raw: str) -> None:
    """Put the session id in an HttpOnly, SameSite=Lax cookie (Secure behind https)."""
    response.set_cookie(
        COOKIE,
        raw,
        max_age=int(settings.session_absolute_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(settings))


def cookie_value(scope: Scope) -> str | None:
    """The raw session id from the request's Cookie header, if it looks like one."""
    return scope_cookie(scope, COOKIE, min_len=20)


def _load_user(factory: sessionmaker[Session], settings: Settings, raw: str) -> User | None:
    with factory() as db, db.begin():
        return lookup(db, settings, raw)


class LoginSessionMiddleware:
    """Sets request.state.user (a detached User, or None) and request.state.session_id on every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["user"] = None
        state["session_id"] = None
        raw = cookie_value(scope)
        if raw is not None and not scope.get("path", "").startswith("/static/"):
            app_state = scope["app"].state
            # The lookup is a blocking database call: run it off the event loop.
            user = await run_in_threadpool(_load_user, app_state.sessionmaker, app_state.settings, raw)
            if user is not None:
                state["user"] = user
                state["session_id"] = raw
        await self.app(scope, receive, send)
