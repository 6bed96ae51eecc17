"""Request dependencies for signed-in users: web pages (cookie session) and the JSON API (bearer tokens).

- `CurrentUser`: the signed-in user or None (set by LoginSessionMiddleware on every request).
- `RequireUser`: a signed-in user; otherwise a web page redirects (303) to /login?next=<this page>, and
  an /api path answers 401.
- `RequireVerifiedUser`: a signed-in user whose email address is confirmed (403 otherwise): submitting,
  voting and commenting need it.
- `RequireModerator`: a signed-in moderator (403 otherwise).
- `ApiUser` / `ApiVerifiedUser` / `ApiModerator`: for /api routes: `Authorization: Bearer <token>`, or the
  session cookie (our own JS), which must then send the X-CSRF-Token header on POST/PUT/PATCH/DELETE.
- `ApiCurrentUser`: for /api reads that anyone may make but that show more to their owner: the bearer
  token's user or the session's, else None (a bad token is still a 401).
- `ApiSessionUser`: the session's user only (403 with a bearer token): creating API tokens.
A read token may only GET; a write token may use every /api write except creating tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from paperfeed.accounts import tokens
from paperfeed.accounts.models import User
from paperfeed.http.csrf import require_csrf
from paperfeed.http.errors import is_api

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BEARER = {"WWW-Authenticate": "Bearer"}
_BAD_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
_READ_ONLY = {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write"'}


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site ('/x?y'), else `default`: no open redirect or header injection."""
    if not value or len(value) > 2000:
        return default
    # Controls (CR/LF would split the Location header; browsers drop tabs) and backslashes (browsers read
    # '/\\evil.com' as '//evil.com') are refused outright rather than cleaned.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or "\\" in value:
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def get_current_user(request: Request) -> User | None:
    """The signed-in user of this request, or None."""
    user: User | None = getattr(request.state, "user", None)
    return user


def _here(request: Request) -> str:
    """Where to come back to after login: this page for a GET, the referring page of a form POST."""
    if request.method in SAFE_METHODS:
        query = request.url.query
        return request.url.path + ("?" + query if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.headers.get("host"):
        return referer.path + ("?" + referer.query if referer.query else "")
    return "/"


def login_required(request: Request) -> HTTPException:
    """The answer to an anonymous request for a signed-in page: 401 under /api, else 303 to the login page."""
    if is_api(request):
        return HTTPException(401, "sign in required", headers={"WWW-Authenticate": "Bearer"})
    location = "/login?" + urlencode({"next": safe_next(_here(request))})
    return HTTPException(303, "sign in required", headers={"Location": location})


def require_user(request: Request) -> User:
    """The signed-in user, or a redirect to the login page (401 under /api)."""
    user = get_current_user(request)
    if user is None:
        raise login_required(request)
    return user


def _verified(user: User) -> User:
    if user.email_verified_at is None:
        raise HTTPException(403, "confirm your email address first (your account page can resend the link)")
    return user


def _moderator(user: User) -> User:
    if user.role != "moderator":
        raise HTTPException(403, "moderators only")
    return user


def require_verified_user(user: Annotated[User, Depends(require_user)]) -> User:
    """A signed-in user with a confirmed email address (403 otherwise)."""
    return _verified(user)


def require_moderator(user: Annotated[User, Depends(require_user)]) -> User:
    """A signed-in moderator (403 otherwise)."""
    return _moderator(user)


def _token_user(factory: sessionmaker[Session], raw: str) -> tokens.TokenUser | None:
    with factory() as db, db.begin():
        return tokens.authenticate(db, raw, now=datetime.now(UTC))


async def api_user(request: Request) -> User:
    """The user of an API call: a bearer token, or the session cookie plus the CSRF header for writes.

    A read token may only make GET/HEAD/OPTIONS requests (403 insufficient_scope otherwise).
    """
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, raw = auth.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise HTTPException(401, "use Authorization: Bearer <token>", headers=_BEARER)
        found = await run_in_threadpool(_token_user, request.app.state.sessionmaker, raw)
        if found is None:
            raise HTTPException(401, "invalid or revoked API token", headers=_BAD_TOKEN)
        if found.scope != tokens.WRITE and request.method not in SAFE_METHODS:
            raise HTTPException(403, "this API token can only read (make a write token)", headers=_READ_ONLY)
        return found.user
    user = get_current_user(request)
    if user is None:
        raise HTTPException(401, "sign in required", headers=_BEARER)
    if request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests too: a write with it must prove it came from our page.
        await require_csrf(request)
    return user


async def api_optional_user(request: Request) -> User | None:
    """The API caller when there is one (a bearer token, or the session cookie for reads), else None."""
    if request.headers.get("authorization") is not None:
        return await api_user(request)  # a bad token is a 401, not an anonymous request
    user = get_current_user(request)
    if user is not None and request.method not in SAFE_METHODS:
        await require_csrf(request)
    return user


async def api_session_user(request: Request) -> User:
    """A signed-in browser session (with the CSRF header for writes), never a bearer token.

    For what a token must not do, such as creating tokens: a leaked token cannot mint itself successors.
    """
    if request.headers.get("authorization") is not None:
        raise HTTPException(403, "API tokens are created from a signed-in browser session, not with a token")
    return await api_user(request)


def api_verified_user(user: Annotated[User, Depends(api_user)]) -> User:
    """An API user with a confirmed email address (403 otherwise)."""
    return _verified(user)


def api_moderator(user: Annotated[User, Depends(api_user)]) -> User:
    """An API user who is a moderator (403 otherwise)."""
    return _moderator(user)


CurrentUser = Annotated[User | None, Depends(get_current_user)]
RequireUser = Annotated[User, Depends(require_user)]
RequireVerifiedUser = Annotated[User, Depends(require_verified_user)]
RequireModerator = Annotated[User, Depends(require_moderator)]
ApiUser = Annotated[User, Depends(api_user)]
ApiCurrentUser = Annotated[User | None, Depends(api_optional_user)]
ApiSessionUser = Annotated[User, Depends(api_session_user)]
ApiVerifiedUser = Annotated[User, Depends(api_verified_user)]
ApiModerator = Annotated[User, Depends(api_moderator)]
