"""A paper's upvotes and GitHub stars over time, for the paper page's sparklines (reads only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.community.models import Vote
from paperfeed.db.models import Paper
from paperfeed.ranking.models import StarSnapshot
from paperfeed.ranking.stars import repo_of
from paperfeed.timeutil import as_utc

__all__ = ["PaperHistory", "Series", "paper_history", "star_series_by_paper"]

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


def star_series_by_paper(
    session: Session, papers: Sequence[Paper], *, start: datetime, end: datetime
) -> dict[int, tuple[str, Series]]:
    """Each paper's first GitHub repository and its daily star counts from `start` to `end` (one query).

    The last snapshot before `start` opens the series, so the line starts where the window's gain is
    counted from; papers without a repository or snapshots are left out.
    """
    first: dict[int, str] = {}
    for paper in papers:
        repo = next(
            (r for link in paper.code_links if link.kind == "github" and (r := repo_of(link.url))), None
        )
        if repo:
            first[paper.id] = repo
    repos = sorted(set(first.values()))
    if not repos:
        return {}
    per_repo: dict[str, dict[date, int]] = {}
    baseline: dict[str, tuple[datetime, int]] = {}
    rows = session.execute(
        select(StarSnapshot.repo, StarSnapshot.fetched_at, StarSnapshot.stars)
        .where(StarSnapshot.repo.in_(repos), StarSnapshot.fetched_at <= end)
        .order_by(StarSnapshot.fetched_at, StarSnapshot.id)
    )
    for repo, fetched, count in rows:
        when = as_utc(fetched)
        if when < start:
            baseline[repo] = (when, int(count))  # the newest one before the window wins
        else:
            per_repo.setdefault(repo, {})[when.date()] = int(count)
    out: dict[int, tuple[str, Series]] = {}
    for pid, repo in first.items():
        days = dict(per_repo.get(repo, {}))
        if repo in baseline:
            days.setdefault(start.date(), baseline[repo][1])
        if days:
            out[pid] = (repo, Series(_thin(sorted(days.items()))))
    return out
