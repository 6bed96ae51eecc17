"""The daily feed: which papers were listed on a day, week or month, and single-paper lookup."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, lazyload, selectinload

from paperfeed.db.models import Paper, PaperAuthor, Submission
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
    "latest_submission",
    "neighbours",
    "parse_period",
]

MAX_LIMIT = 100
Sort = Literal["trending", "publishedAt"]
SORTS: tuple[str, ...] = ("trending", "publishedAt")
PeriodKind = Literal["day", "week", "month"]

# ASCII digits only: \d alone would also take full-width and Arabic-Indic digits, which int() accepts.
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# The week or month around a day in year 9999 ends past date.max; reject such years when parsing.
_MAX_YEAR = 9998


class FeedError(ValueError):
    """A request the feed cannot answer (bad date, week, limit, page or sort); the message says why."""


@dataclass(frozen=True, slots=True)
class Period:
    """A listing period: one day, an ISO week or a calendar month (both ends inclusive)."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def param(self) -> str:
        """The query-string value naming this period: 2026-05-29, 2026-W22 or 2026-05."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def query_key(self) -> str:
        """The query-string parameter for this kind: date, week or month."""
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def label(self) -> str:
        """A human label: 'May 29, 2026', 'Week 22, 2026', 'May 2026'."""
        if self.kind == "day":
            return f"{self.start:%B} {self.start.day}, {self.start.year}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}, {year}"
        return f"{self.start:%B %Y}"

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        """The period of `kind` that contains `day`."""
        if kind == "day":
            return cls("day", day, day)
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls("week", start, start + timedelta(days=6))
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return cls("month", start, following - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class DailyPage:
    """One page of a listing: submissions (each with its paper loaded), in order, and the total."""

    period: Period | None  # None only when the database has no submissions at all
    entries: list[Submission]
    total: int
    page: int
    limit: int
    sort: Sort

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return (self.page + 1) * self.limit < self.total

    @property
    def pages(self) -> int:
        """How many pages the whole listing fills (at least 1)."""
        return max(1, -(-self.total // self.limit))


def _check_year(text: str, year: int) -> None:
    if not 1 <= year <= _MAX_YEAR:
        raise FeedError(f"invalid year in {text!r}: must be between 0001 and {_MAX_YEAR}")


def _parse_day(text: str) -> date:
    m = _DATE.fullmatch(text.strip())
    if not m:
        raise FeedError(f"invalid date {text!r}: expected YYYY-MM-DD")
    _check_year(text, int(m.group(1)))
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise FeedError(f"invalid date {text!r}: {exc}") from None


def _parse_week(text: str) -> Period:
    m = _WEEK.fullmatch(text.strip())
    if not m:
        raise FeedError(f"invalid week {text!r}: expected YYYY-Www, e.g. 2026-W22")
    year, week = int(m.group(1)), int(m.group(2))
    _check_year(text, year)
    try:
        start = date.fromisocalendar(year, week, 1)
    except ValueError:
        # Years have 52 or 53 ISO weeks; fromisocalendar knows which.
        raise FeedError(f"invalid week {text!r}: {year} has no ISO week {week}") from None
    return Period("week", start, start + timedelta(days=6))


def _parse_month(text: str) -> Period:
    m = _MONTH.fullmatch(text.strip())
    if not m:
        raise FeedError(f"invalid month {text!r}: expected YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    _check_year(text, year)
    if not 1 <= month <= 12:
        raise FeedError(f"invalid month {text!r}: month must be 01-12")
    return Period.containing("month", date(year, month, 1))


def parse_period(
    *, day: str | date | None = None, week: str | None = None, month: str | None = None
) -> Period | None:
    """The period named by at most one of day/week/month, or None when none is given."""
    given = [v for v in (day, week, month) if v not in (None, "")]
    if len(given) > 1:
        raise FeedError("give only one of date, week and month")
    if isinstance(day, date):
        return Period("day", day, day)
    if day:
        parsed = _parse_day(day)
        return Period("day", parsed, parsed)
    if week:
        return _parse_week(week)
    if month:
        return _parse_month(month)
    return None


def latest_day(session: Session) -> date | None:
    """The most recent day that has submissions, or None on an empty database."""
    return session.scalar(select(func.max(Submission.day)))


def anchor_day(session: Session, period: Period) -> date:
    """The latest day with submissions inside `period` (its start when it has none): tabs link to it."""
    found = session.scalar(
        select(func.max(Submission.day)).where(Submission.day.between(period.start, period.end))
    )
    return found or period.start


def neighbours(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    """The previous and next periods of the same kind that HAVE submissions (None at either end)."""
    before = session.scalar(select(func.max(Submission.day)).where(Submission.day < period.start))
    after = session.scalar(select(func.min(Submission.day)).where(Submission.day > period.end))
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
) -> DailyPage:
    """One page of the papers listed on a day, ISO week or month (default: the latest listed day)."""
    checked_sort = _check_paging(sort, page, limit)
    period = parse_period(day=day, week=week, month=month)
    if period is None:
        newest = latest_day(session)
        if newest is None:
            return DailyPage(None, [], 0, page, limit, checked_sort)
        period = Period("day", newest, newest)

    # A paper listed on several days of a week or month appears once, with its earliest listing there.
    first = (
        select(Submission.paper_id.label("pid"), func.min(Submission.day).label("day"))
        .where(Submission.day.between(period.start, period.end))
        .group_by(Submission.paper_id)
        .subquery()
    )
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
    return DailyPage(period, entries, total, page, limit, checked_sort)


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
