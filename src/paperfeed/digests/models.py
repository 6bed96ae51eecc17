"""Tables of digests: subscriptions and their preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId

__all__ = ["FREQUENCIES", "STATUSES", "Base", "Subscription"]

STATUSES = ("pending", "active", "unsubscribed", "bounced")
FREQUENCIES = ("daily", "weekly")
DEFAULT_MAX_PAPERS = 10


class Subscription(Base):
    """One email address subscribed to digests (no account needed); email stored lower-cased."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'unsubscribed', 'bounced')", name="status"),
        CheckConstraint("frequency IN ('daily', 'weekly')", name="frequency"),
        CheckConstraint("max_papers BETWEEN 1 AND 50", name="max_papers"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending", index=True)
    frequency: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    saved_searches: Mapped[list[str]] = mapped_column(JSON, default=list)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_papers: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_MAX_PAPERS, server_default=str(DEFAULT_MAX_PAPERS)
    )
    only_code: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    bounce_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped to revoke every confirmation and preferences link sent so far (e.g. on re-subscribing).
    token_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Last confirmation / "already subscribed" notice mailed: re-subscribing is rate-limited by it.
    notice_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def preferences(self) -> dict[str, Any]:
        """The reader's choices as plain values (for forms and tests)."""
        return {
            "frequency": self.frequency,
            "categories": list(self.categories or []),
            "saved_searches": list(self.saved_searches or []),
            "authors": list(self.authors or []),
            "max_papers": self.max_papers,
            "only_code": self.only_code,
        }
