"""API tokens: random secrets shown once at creation; only their SHA-256 is stored. Named and revocable.

A token has a scope: "read" (GET requests only) or "write" (the API's writes too). No token can create
tokens (only a signed-in browser session can), and a password reset revokes them all, so a leaked token
is not the whole account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperfeed.accounts.models import ApiToken, User
from paperfeed.accounts.sessions import hash_id
from paperfeed.errors import UserError
from paperfeed.timeutil import as_utc

READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)
# A recognisable prefix lets secret scanners (and people) spot a leaked paperfeed token.
PREFIX = "pf_"
MAX_TOKENS = 20
# Recording every use would make each API call a write; an hour is precise enough for "last used".
TOUCH_EVERY = timedelta(hours=1)


class TokenError(UserError):
    """A token cannot be created (bad or duplicate name, too many tokens); `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: `secret` is shown to the user once and never again."""

    id: int
    name: str
    secret: str
    scope: str


@dataclass(frozen=True)
class TokenUser:
    """The owner of a live token, and what the token may do."""

    user: User
    scope: str


def clean_name(name: str) -> str:
    """A token name: 1-64 printable characters."""
    name = " ".join(name.split())
    if not name or len(name) > 64 or not name.isprintable():
        raise TokenError("a token name is 1 to 64 printable characters")
    return name


def create(db: Session, user: User, name: str, *, scope: str = READ, now: datetime | None = None) -> NewToken:
    """Create a named token for user; raises TokenError on a bad scope, a bad or duplicate name."""
    now = now or datetime.now(UTC)
    name = clean_name(name)
    if scope not in SCOPES:
        raise TokenError("a token's scope is 'read' or 'write'")
    # Count under a lock, or a burst of creations each counts 19 and all insert: the no-op UPDATE takes the
    # user's row lock on PostgreSQL and SQLite's write lock, held to commit, before the names are read.
    db.execute(update(User).where(User.id == user.id).values(role=User.role))
    existing = list(db.scalars(select(ApiToken.name).where(ApiToken.user_id == user.id)))
    if name in existing:
        raise TokenError(f"you already have a token named {name!r}", status=409)
    if len(existing) >= MAX_TOKENS:
        raise TokenError(f"at most {MAX_TOKENS} tokens; revoke one first")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_id(secret), prefix=secret[:10], scope=scope)
    row.created_at = now
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:  # the unique (user, name) index: a creation the lock did not serialise
        raise TokenError(f"you already have a token named {name!r}", status=409) from None
    return NewToken(id=row.id, name=name, secret=secret, scope=scope)


def list_for(db: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list(db.scalars(stmt))


def revoke(db: Session, user_id: int, token_id: int) -> bool:
    """Delete one of the user's tokens; False when there was no such token of theirs."""
    result = db.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))


def revoke_all(db: Session, user_id: int) -> int:
    """Delete every token of the user (password reset, or a change that asks for it); returns how many."""
    result = db.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(db: Session, secret: str, *, now: datetime | None = None) -> TokenUser | None:
    """The owner of a live token and its scope (recording its use), or None."""
    now = now or datetime.now(UTC)
    if not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    row = db.scalars(select(ApiToken).where(ApiToken.token_hash == hash_id(secret))).first()
    if row is None:
        return None
    if row.last_used_at is None or now - as_utc(row.last_used_at) > TOUCH_EVERY:
        row.last_used_at = now
    user = db.get(User, row.user_id)
    return TokenUser(user, row.scope) if user is not None else None
