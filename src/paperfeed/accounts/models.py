"""Tables of accounts: users, username holds, sessions, API tokens, rate-limit counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId


class User(Base):
    """A registered user; email and username are unique (email stored lower-cased)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")  # user|moderator
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set on every password change: reset links signed before it stop working (single use).
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_moderator(self) -> bool:
        """True for the moderator role."""
        return self.role == "moderator"

    @property
    def is_verified(self) -> bool:
        """True once the email address was confirmed."""
        return self.email_verified_at is not None


class UsernameHold(Base):
    """A username held by a sign-up that created no account because its email already had one.

    The name stays taken exactly as the name of a new account waiting for confirmation does, so what a
    sign-up leaves behind does not tell a known address from an unknown one (docs/accounts.md).
    """

    __tablename__ = "username_holds"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)  # lower-cased
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A server-side login session; only the SHA-256 of the cookie's random id is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A named API token; the secret is shown once, only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_api_tokens_user_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, so a user can tell tokens apart
    # "read" (GET only) or "write"; rows from before scopes existed are write tokens (migration 0011).
    scope: Mapped[str] = mapped_column(String(16), server_default="write")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitCounter(Base):
    """Hits of one rate-limit key in one fixed window; shared by every process through the database."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)
