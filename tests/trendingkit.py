"""Papers with trending signals for the ranking and trending-page tests: one row, its listing, a code link."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from paperfeed.db.models import CodeLinkRow, Paper, Submission

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def add_paper(
    session: Session,
    key: str,
    day: date,
    *,
    up: int = 0,
    local: int = 0,
    comments: int = 0,
    title: str | None = None,
    repo: str | None = None,
) -> int:
    """Store a paper listed on `day` with upvotes `up`, local votes, comments and, if given, a GitHub repo."""
    paper = Paper(
        key=key,
        arxiv_id=key,
        version=1,
        title=title or f"Paper {key}",
        abstract="An abstract.",
        source="test",
        content_hash="h",
        upvotes=up,
        vote_count=local,
        comment_count=comments,
        listing_date=day,
        created_at=T0,
        updated_at=T0,
    )
    session.add(paper)
    session.flush()
    session.add(Submission(paper_id=paper.id, day=day, submitted_at=T0, source="test"))
    if repo:
        session.add(
            CodeLinkRow(paper_id=paper.id, url=f"https://github.com/{repo}", kind="github", origin="abstract")
        )
    return paper.id
