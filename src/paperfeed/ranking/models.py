"""Tables of ranking: GitHub stars history and stored trending scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import PAPERS, Base, BigId

__all__ = ["STAR_SNAPSHOTS", "TRENDING_SCORES", "Base", "StarSnapshot", "TrendingScoreRow"]


class StarSnapshot(Base):
    """A repository's stargazer count at one fetch: the history "stars gained this week" is read from.

    Keyed by repository ("owner/name", lower-case), not by paper: papers sharing a repository share
    its history, and a repository is fetched once however many papers link it.
    """

    __tablename__ = "star_snapshots"
    __table_args__ = (Index("ix_star_snapshots_repo_fetched_at", "repo", "fetched_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repo: Mapped[str] = mapped_column(String(255))
    stars: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The ETag of the response, for the next conditional request (a 304 costs no rate limit).
    etag: Mapped[str | None] = mapped_column(String(255))


class TrendingScoreRow(Base):
    """A paper's trending score in one window, as last computed by `paperfeed rank` (see ranking/service.py).

    The terms are stored (not JSON) so the daily list can sort on `score` in SQL and the API can explain
    a stored score without recomputing it.
    """

    __tablename__ = "trending_scores"

    paper_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    window: Mapped[str] = mapped_column(String(8), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    votes: Mapped[float] = mapped_column(Float)  # each term's contribution
    comments: Mapped[float] = mapped_column(Float)
    stars: Mapped[float] = mapped_column(Float)
    stars_gained: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the clock ages were measured to
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# `paperfeed rank` reads these columns of every paper: a covering index lets SQLite scan ~5 MB of index
# instead of ~300 MB of rows with their abstracts (measured: half the time under load, and it grows with
# the abstracts). Declared here, created by migration 0007.
TRENDING_SIGNALS_INDEX = Index(
    "ix_papers_trending_signals",
    PAPERS.c.id,
    PAPERS.c.upvotes,
    PAPERS.c.vote_count,
    PAPERS.c.comment_count,
    PAPERS.c.listing_date,
    PAPERS.c.published,
    PAPERS.c.arxiv_id,
)

STAR_SNAPSHOTS: Table = StarSnapshot.__table__  # type: ignore[assignment]
TRENDING_SCORES: Table = TrendingScoreRow.__table__  # type: ignore[assignment]
