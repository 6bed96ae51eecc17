"""A paper's upvotes and GitHub stars over time, for the paper page's sparklines (reads only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.community.models import Vote
from paperfeed.db.models import Paper
from paperfeed.ranking.models import StarSnapshot
from paperfeed.ranking.stars import repo_of
from paperfeed.timeutil import as_utc

__all__ = ["PaperHistory", "Series", "paper_history"]

MAX_POINTS = 200  # a sparkline 120 px wide shows no more


@dataclass(frozen=True, slots=True)
class Series:
    """(day, value) points, oldest first."""

    points: tuple[tuple[date, int], ...]

    @property
    def values(self) -> list[int]:
        """The values alone."""
        return [v for _, v in self.points]

    @property
    def first(self) -> tuple[date, int]:
        """The oldest point."""
        return self.points[0]

    @property
    def last(self) -> tuple[date, int]:
        """The newest point."""
        return self.points[-1]


@dataclass(frozen=True, slots=True)
class PaperHistory:
    """The upvote series (None without paperfeed votes) and the star series of the first GitHub repository."""

    votes: Series | None
    stars: Series | None
    repo: str | None


def _thin(points: list[tuple[date, int]]) -> tuple[tuple[date, int], ...]:
    if len(points) <= MAX_POINTS:
        return tuple(points)
    step = len(points) / MAX_POINTS
    kept = [points[int(i * step)] for i in range(MAX_POINTS - 1)] + [points[-1]]
    return tuple(kept)


def paper_history(session: Session, paper: Paper) -> PaperHistory:
    """Votes per day as a running total over Hugging Face's count (which has no dates), and star snapshots."""
    days = Counter(
        as_utc(ts).date() for ts in session.scalars(select(Vote.created_at).where(Vote.paper_id == paper.id))
    )
    votes = None
    if days:
        total = paper.upvotes or 0
        points = []
        for day in sorted(days):
            total += days[day]
            points.append((day, total))
        votes = Series(_thin(points))
    repo = next((r for link in paper.code_links if link.kind == "github" and (r := repo_of(link.url))), None)
    stars = None
    if repo:
        per_day: dict[date, int] = {}
        for fetched, count in session.execute(
            select(StarSnapshot.fetched_at, StarSnapshot.stars)
            .where(StarSnapshot.repo == repo)
            .order_by(StarSnapshot.fetched_at, StarSnapshot.id)
        ):
            per_day[as_utc(fetched).date()] = int(count)  # the day's last fetch
        if per_day:
            stars = Series(_thin(sorted(per_day.items())))
    return PaperHistory(votes=votes, stars=stars, repo=repo)
