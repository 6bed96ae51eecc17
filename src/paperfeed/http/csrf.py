"""CSRF protection for form POSTs: a signed double-submit token plus an Origin/Referer check.

Every browser gets a random `pf_csrf` cookie (set by CsrfCookieMiddleware). Forms carry
`csrf_token(request)`: an HMAC of that cookie under the site secret, so a token from another browser or
one forged by another site does not verify. Route handlers that change state depend on `CsrfDep`, which
answers 403 on a missing or wrong token or a foreign Origin, before anything is written.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.config import Settings
from paperfeed.cookies import scope_cookie
from paperfeed.signing import secret_key

COOKIE = "pf_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def _cookie_value(scope: Scope) -> str | None:
    return scope_cookie(scope, COOKIE, min_len=16)


class CsrfCookieMiddleware:
    """Gives every browser a random CSRF cookie (HttpOnly, SameSite=Lax) the first time it visits."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = _cookie_value(scope)
        fresh = value is None
        if value is None:
            value = secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_cookie"] = value

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                attrs = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
                if self.secure:
                    attrs += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", attrs.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _expected(settings: Settings, cookie: str) -> str:
    return hmac.new(secret_key(settings).encode(), f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token a form on this page must send back (field `csrf_token` or header X-CSRF-Token)."""
    cookie = getattr(request.state, "csrf_cookie", None)
    if not cookie:
        raise RuntimeError("CsrfCookieMiddleware is not installed")
    return _expected(request.app.state.settings, cookie)


def _same_origin(request: Request, url: str) -> bool:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return False
    own = {request.headers.get("host", ""), urlsplit(request.app.state.settings.base_url).netloc}
    return parts.netloc in own


async def require_csrf(request: Request) -> None:
    """403 unless the request is same-origin and carries this browser's CSRF token."""
    origin = request.headers.get("origin")
    referer = request.headers.get("referer")
    if origin is not None and origin != "null" and not _same_origin(request, origin):
        raise HTTPException(403, "cross-site request refused (Origin)")
    if origin is None and referer and not _same_origin(request, referer):
        raise HTTPException(403, "cross-site request refused (Referer)")
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches it: the route's Form() parameters still work
        field = form.get(FIELD)
        sent = field if isinstance(field, str) else None
    cookie = _cookie_value(request.scope)
    if not sent or not cookie or not hmac.compare_digest(sent, _expected(request.app.state.settings, cookie)):
        raise HTTPException(403, "missing or invalid CSRF token; reload the page and try again")


CsrfDep = Annotated[None, Depends(require_csrf)]
