"""Tables of authors: follows (private to the reader), authorship claims, and grouped name variants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId

__all__ = [
    "APPROVED",
    "CLAIM_STATUSES",
    "PENDING",
    "REJECTED",
    "AuthorClaim",
    "AuthorFollow",
    "AuthorVariant",
]

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
CLAIM_STATUSES = (PENDING, APPROVED, REJECTED)


class AuthorFollow(Base):
    """A user follows an author name; the primary key makes a second follow impossible."""

    __tablename__ = "author_follows"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuthorClaim(Base):
    """A user says "this is me" of one byline place (paper, position); a moderator approves or rejects it."""

    __tablename__ = "author_claims"
    __table_args__ = (
        UniqueConstraint("user_id", "paper_id", "position", name="uq_author_claims_user_place"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        # One approved claim per byline place, enforced by the database so two moderators approving two
        # users' claims on the same place at once cannot both succeed (partial index: both dialects).
        Index(
            "uq_author_claims_approved_place",
            "paper_id",
            "position",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
        Index("ix_author_claims_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # The name at that place when the claim was made: a later byline change leaves the claim stale, not moved.
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, server_default=PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AuthorVariant(Base):
    """A name a claimed profile groups: its page shows the papers of every name of the same owner.

    author_id is the key: a name belongs to at most one profile's group (see docs/authors.md, homonyms).
    """

    __tablename__ = "author_variants"

    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
