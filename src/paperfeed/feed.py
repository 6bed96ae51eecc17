"""The daily feed: which papers were listed on a day, week or month, and single-paper lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, lazyload, selectinload

from paperfeed.categories import CategoryScope
from paperfeed.db.models import Paper, PaperAuthor, Submission
from paperfeed.errors import UserError
from paperfeed.periods import Period, PeriodKind, parse_period
from paperfeed.ranking.models import TrendingScoreRow
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id

__all__ = [
    "MAX_LIMIT",
    "SORTS",
    "DailyPage",
    "FeedError",
    "Period",
    "PeriodKind",
    "Sort",
    "anchor_day",
    "daily",
    "get_paper",
    "latest_day",
    "latest_papers",
    "latest_submission",
    "neighbours",
    "parse_period",
]

MAX_LIMIT = 100
Sort = Literal["trending", "publishedAt"]
SORTS: tuple[str, ...] = ("trending", "publishedAt")


class FeedError(UserError):
    """A request the feed cannot answer (bad date, week, limit, page or sort); the message says why."""


@dataclass(frozen=True, slots=True)
class DailyPage:
    """One page of a listing: submissions (each with its paper loaded), in order, and the total."""

    period: Period | None  # None only when the database has no submissions at all
    entries: list[Submission]
    total: int
    page: int
    limit: int
    sort: Sort
    category: CategoryScope | None = None

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return (self.page + 1) * self.limit < self.total

    @property
    def pages(self) -> int:
        """How many pages the whole listing fills (at least 1)."""
        return max(1, -(-self.total // self.limit))


def _days(agg: Any, category: CategoryScope | None) -> Select[Any]:
    stmt = select(agg)
    if category is not None:
        stmt = stmt.where(Submission.paper_id.in_(category.paper_ids()))
    return stmt


def latest_day(session: Session, category: CategoryScope | None = None) -> date | None:
    """The most recent day that has submissions (in `category`), or None when there is none."""
    newest: date | None = session.scalar(_days(func.max(Submission.day), category))
    return newest


def anchor_day(session: Session, period: Period, category: CategoryScope | None = None) -> date:
    """The latest day with submissions inside `period` (its start when it has none): tabs link to it."""
    found = session.scalar(
        _days(func.max(Submission.day), category).where(Submission.day.between(period.start, period.end))
    )
    return found or period.start


def neighbours(
    session: Session, period: Period, category: CategoryScope | None = None
) -> tuple[Period | None, Period | None]:
    """The previous and next periods of the same kind that HAVE submissions (in `category`)."""
    before = session.scalar(_days(func.max(Submission.day), category).where(Submission.day < period.start))
    after = session.scalar(_days(func.min(Submission.day), category).where(Submission.day > period.end))
    return (
        Period.containing(period.kind, before) if before else None,
        Period.containing(period.kind, after) if after else None,
    )


def _check_paging(sort: str, page: int, limit: int) -> Sort:
    if sort not in SORTS:
        raise FeedError(f"invalid sort {sort!r}: expected one of {', '.join(SORTS)}")
    if page < 0:
        raise FeedError(f"invalid page {page}: must be 0 or more")
    if not 1 <= limit <= MAX_LIMIT:
        raise FeedError(f"invalid limit {limit}: must be between 1 and {MAX_LIMIT}")
    # Bound the offset too, so a huge page number cannot overflow the database's integer type.
    if page * limit > 10_000_000:
        raise FeedError(f"invalid page {page}: too large")
    return "trending" if sort == "trending" else "publishedAt"


def _with_relations(stmt: Select[Any]) -> Select[Any]:
    # Explicit eager loads: one query per relationship for the whole page, never one per paper.
    return stmt.options(
        selectinload(Submission.paper).options(
            selectinload(Paper.authors).joinedload(PaperAuthor.author),
            selectinload(Paper.categories),
            selectinload(Paper.code_links),
        )
    )


def daily(
    session: Session,
    *,
    day: str | date | None = None,
    week: str | None = None,
    month: str | None = None,
    sort: str = "trending",
    page: int = 0,
    limit: int = 50,
    category: CategoryScope | None = None,
    submitter: str | None = None,
) -> DailyPage:
    """One page of the papers listed on a day, ISO week or month (default: the latest listed day).

    `category` keeps the papers in that category or archive; `submitter` the listings that user submitted
    (Hugging Face's `submitter=`: a username, matched exactly).
    """
    checked_sort = _check_paging(sort, page, limit)
    period = parse_period(day=day, week=week, month=month)
    if period is None:
        newest = latest_day(session, category)
        if newest is None:
            return DailyPage(None, [], 0, page, limit, checked_sort, category)
        period = Period("day", newest, newest)

    # A paper listed on several days of a week or month appears once, with its earliest listing there.
    listed = select(Submission.paper_id.label("pid"), func.min(Submission.day).label("day")).where(
        Submission.day.between(period.start, period.end)
    )
    if category is not None:
        listed = listed.where(Submission.paper_id.in_(category.paper_ids()))
    if submitter is not None:
        listed = listed.where(Submission.submitted_by == submitter)
    first = listed.group_by(Submission.paper_id).subquery()
    total = session.scalar(select(func.count()).select_from(first)) or 0
    # Ties never fall back on ingest time alone: papers with no date or arXiv id (seed-page papers)
    # were ingested last and would lead every day. (arXiv ids do not sort by age: astro-ph/... > 2606.)
    has_id = case((Paper.arxiv_id.is_(None), 0), else_=1)
    if checked_sort == "trending":
        # The stored trending score of the period's window (written by `paperfeed rank`, see
        # docs/trending.md); papers not scored yet follow, by votes (source + local), then newest.
        stored = (
            select(TrendingScoreRow.score)
            .where(TrendingScoreRow.paper_id == Paper.id, TrendingScoreRow.window == period.kind)
            .scalar_subquery()
        )
        keys: list[ColumnElement[Any] | InstrumentedAttribute[Any]] = [
            stored,
            Paper.upvotes + Paper.vote_count,
            Paper.published,
            has_id,
        ]
    else:
        # The date the API reports as publishedAt: the listing day when the source gave none.
        keys = [func.coalesce(Paper.published, first.c.day), has_id]
    # Choose the page's (paper, day) pairs on paper columns alone, then load only those submissions:
    # joining every submission of the period back by id made PostgreSQL read the whole table.
    chosen = (
        select(first.c.pid, first.c.day, *(k.label(f"k{i}") for i, k in enumerate(keys)))
        .join(Paper, Paper.id == first.c.pid)
        .order_by(*(k.desc().nulls_last() for k in keys), first.c.pid.desc())
        .offset(page * limit)
        .limit(limit)
        .subquery()
    )
    order = [chosen.c[f"k{i}"].desc().nulls_last() for i in range(len(keys))]
    stmt = (
        select(Submission)
        .join(chosen, and_(Submission.paper_id == chosen.c.pid, Submission.day == chosen.c.day))
        .order_by(*order, chosen.c.pid.desc())
    )
    stmt = _with_relations(stmt)
    entries = list(session.scalars(stmt).unique())
    return DailyPage(period, entries, total, page, limit, checked_sort, category)


def latest_papers(session: Session, *, page: int = 0, limit: int = 20) -> list[Paper]:
    """The newest papers (by publication time, arXiv papers first on a tie), one page of them."""
    if page < 0 or page * limit > 10_000_000:
        raise FeedError(f"invalid page {page}")
    has_id = case((Paper.arxiv_id.is_(None), 0), else_=1)
    stmt = (
        select(Paper)
        .order_by(Paper.published.desc().nulls_last(), has_id.desc(), Paper.id.desc())
        .offset(page * limit)
        .limit(limit)
        .options(
            selectinload(Paper.authors).joinedload(PaperAuthor.author),
            selectinload(Paper.categories),
            selectinload(Paper.code_links),
        )
    )
    return list(session.scalars(stmt).unique())


def get_paper(session: Session, ident: str) -> Paper | None:
    """A paper by arXiv id (any spelling, with or without version) or by its internal key; None if unknown."""
    ident = ident.strip()
    # Keys and arXiv ids are short and printable; PostgreSQL would even refuse a NUL in the query.
    if not ident or len(ident) > 300 or not ident.isprintable():
        return None
    try:
        arxiv_id, _version = parse_arxiv_id(ident)
    except InvalidArxivId:
        key = ident
    else:
        key = arxiv_id
    stmt = (
        select(Paper)
        .where(Paper.key == key)
        .options(
            selectinload(Paper.authors).joinedload(PaperAuthor.author),
            selectinload(Paper.categories),
            selectinload(Paper.code_links),
        )
    )
    return session.scalars(stmt).first()


def latest_submission(session: Session, paper: Paper) -> Submission | None:
    """The paper's most recent daily-feed submission, if it was ever listed."""
    # The paper is already in the session: a lazy many-to-one finds it there instead of reloading it
    # (and its authors, categories and links) through the default joined load.
    stmt = (
        select(Submission)
        .where(Submission.paper_id == paper.id)
        .order_by(Submission.day.desc())
        .limit(1)
        .options(lazyload(Submission.paper))
    )
    return session.scalars(stmt).first()
