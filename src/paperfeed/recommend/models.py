"""Tables of the For-you feature: a reader's explicit signals and profile. Private to the reader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base

# The kinds of reader_signals.kind. Votes and collection saves are read from their own tables (they are
# public or owned elsewhere); these are the private, For-you-only ones.
MORE = "more"  # "more like this": positive
LESS = "less"  # "less like this": negative
DISMISS = "dismiss"  # "not interested" on a recommendation: a weak negative
SEED = "seed"  # a paper the reader imported (arXiv ids, BibTeX, CSL-JSON): positive
SIGNAL_KINDS = (MORE, LESS, DISMISS, SEED)


class ReaderSignal(Base):
    """One explicit signal of a reader about a paper; one row per (reader, paper): the latest one wins."""

    __tablename__ = "reader_signals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReaderProfile(Base):
    """A reader's For-you settings: chosen categories, the exploration share, the private feed's secret."""

    __tablename__ = "reader_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    categories: Mapped[str] = mapped_column(Text, default="", server_default="")  # space-separated
    exploration: Mapped[float] = mapped_column(Float, default=0.1, server_default="0.1")
    # sha256 of the private feed's secret (the URL carries the secret; a new one revokes the old URL).
    feed_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
