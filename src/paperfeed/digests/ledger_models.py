"""Tables of digest sending: the send ledger and papers already sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId
from paperfeed.digests import models as _subscription_models  # noqa: F401  (the FK target table)

__all__ = [
    "CLAIMABLE_SQL",
    "DIGEST_SENDS",
    "DIGEST_SENT_PAPERS",
    "Base",
    "DigestSend",
    "DigestSentPaper",
    "SendStatus",
]


class SendStatus:
    """The states of a ledger row (plain strings in the database)."""

    PREPARED = "prepared"  # selected and stored, not tried yet
    SENDING = "sending"  # claimed; SMTP under way (committed before talking to the server)
    SENT = "sent"  # the server answered 250 to DATA
    RETRY = "retry"  # a 4xx or a network error: tried again at next_attempt_at
    FAILED = "failed"  # retries exhausted
    BOUNCED = "bounced"  # a 5xx: never retried
    UNCERTAIN = "uncertain"  # found `sending` after a crash: maybe delivered; reported, never resent
    SKIPPED = "skipped"  # nothing to send (empty selection, or unsubscribed before the send)

    CLAIMABLE = (PREPARED, RETRY)  # keep CLAIMABLE_SQL in step
    FINAL = (SENT, FAILED, BOUNCED, UNCERTAIN, SKIPPED)


# Literal, not bound: SQLite uses a partial index only when the query repeats its WHERE term verbatim.
CLAIMABLE_SQL = "status IN ('prepared', 'retry')"


class DigestSend(Base):
    """One digest for one subscription and one period: the unit that is sent at most once."""

    __tablename__ = "digest_sends"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period", name="uq_digest_sends_subscription_period"),
        # The claim query's access path: only claimable rows, in due order (no sort over the whole period).
        # No other index on period: SQLite would pick it for `claim(period=...)` and sort every row.
        Index(
            "ix_digest_sends_due",
            "next_attempt_at",
            "id",
            sqlite_where=text(CLAIMABLE_SQL),
            postgresql_where=text(CLAIMABLE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(32))  # Period.label, e.g. 2026-11-27 or 2026-W48
    frequency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)  # fixed when prepared
    paper_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestSentPaper(Base):
    """A paper given to a subscriber in one digest: a paper goes to the same subscriber at most once."""

    __tablename__ = "digest_sent_papers"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("digest_sends.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)  # why it was picked, as the digest says it


DIGEST_SENDS: Table = DigestSend.__table__  # type: ignore[assignment]
DIGEST_SENT_PAPERS: Table = DigestSentPaper.__table__  # type: ignore[assignment]
