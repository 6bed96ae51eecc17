"""Server-side login sessions: a random id in the `pf_session` cookie, only its SHA-256 in the database.

A session ends after `session_idle_hours` without a request or `session_absolute_hours` after login,
whichever comes first. Login always creates a new id (no session fixation); logout deletes the row, so a
copied cookie is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperfeed.accounts.models import User, UserSession
from paperfeed.config import Settings
from paperfeed.timeutil import as_utc

COOKIE = "pf_session"
# Writing last_seen_at on every request would turn each page view into a write; a minute is precise enough.
TOUCH_EVERY = timedelta(seconds=60)


def hash_id(raw: str) -> str:
    """The stored form of a session id (or API token): its SHA-256, hex."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create(db: Session, user: User, *, now: datetime | None = None) -> str:
    """Start a session for user; returns the raw id for the cookie (never stored)."""
    now = now or datetime.now(UTC)
    raw = secrets.token_urlsafe(32)
    db.add(UserSession(id_hash=hash_id(raw), user_id=user.id, created_at=now, last_seen_at=now))
    return raw


def is_expired(settings: Settings, row: UserSession, now: datetime) -> bool:
    """True when the session is past its idle or absolute lifetime."""
    idle = timedelta(hours=settings.session_idle_hours)
    absolute = timedelta(hours=settings.session_absolute_hours)
    return now - as_utc(row.last_seen_at) > idle or now - as_utc(row.created_at) > absolute


def lookup(db: Session, settings: Settings, raw: str, *, now: datetime | None = None) -> User | None:
    """The user of a live session id (touching it), or None; an expired session is deleted."""
    now = now or datetime.now(UTC)
    row = db.scalars(select(UserSession).where(UserSession.id_hash == hash_id(raw))).first()
    if row is None:
        return None
    if is_expired(settings, row, now):
        db.delete(row)
        return None
    if now - as_utc(row.last_seen_at) > TOUCH_EVERY:
        row.last_seen_at = now
    return db.get(User, row.user_id)


def delete_one(db: Session, raw: str) -> None:
    """End one session (logout)."""
    db.execute(delete(UserSession).where(UserSession.id_hash == hash_id(raw)))


def delete_for_user(db: Session, user_id: int, *, keep_raw: str | None = None) -> None:
    """End every session of a user (password change/reset), optionally keeping the current one."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_raw is not None:
        stmt = stmt.where(UserSession.id_hash != hash_id(keep_raw))
    db.execute(stmt)


def purge_expired(
    db: Session, settings: Settings, *, user_id: int | None = None, now: datetime | None = None
) -> int:
    """Delete expired sessions (of one user, or everyone's); returns how many."""
    now = now or datetime.now(UTC)
    idle_cut = now - timedelta(hours=settings.session_idle_hours)
    abs_cut = now - timedelta(hours=settings.session_absolute_hours)
    stmt = delete(UserSession).where(
        (UserSession.last_seen_at < idle_cut) | (UserSession.created_at < abs_cut)
    )
    if user_id is not None:
        stmt = stmt.where(UserSession.user_id == user_id)
    result = db.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
