"""What an author page shows: one exact name (or a claimed profile's grouped names), read-only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from paperfeed.accounts.models import User
from paperfeed.authors.models import APPROVED, AuthorClaim, AuthorVariant
from paperfeed.db.models import Author, Paper, PaperAuthor, PaperCategory
from paperfeed.errors import NotFound, UserError

__all__ = [
    "MAX_MONTHS",
    "AuthorPage",
    "Claimant",
    "author_page",
    "author_papers",
    "find_author",
    "month_counts",
]

MAX_MONTHS = 120  # the timeline shows at most the last ten years of months
COAUTHORS_SHOWN = 30
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Claimant:
    """A user with an approved claim on one of the page's names: the profile the page shows."""

    username: str
    names: tuple[str, ...]  # the names this user grouped (empty: none grouped)


@dataclass(frozen=True, slots=True)
class AuthorPage:
    """The data of /authors/<name>."""

    name: str
    author_id: int
    names: tuple[str, ...]  # every name shown: the name, then the variants grouped with it
    papers: list[Paper]
    total: int
    page: int
    limit: int
    coauthors: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    timeline: list[tuple[str, int]]  # ("YYYY-MM", papers) for every month from the first to the last
    claimants: list[Claimant]

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return (self.page + 1) * self.limit < self.total


def find_author(session: Session, name: str) -> Author:
    """The author with exactly this name (as arXiv gives it); NotFound otherwise."""
    author = session.scalars(select(Author).where(Author.name == name)).first()
    if author is None:
        raise NotFound(f"no author called {name!r}")
    return author


def _group(session: Session, author: Author) -> tuple[list[int], list[str], int | None]:
    """The author ids the page covers: the name alone, or every name its claimed owner grouped with it."""
    owner = session.scalar(select(AuthorVariant.user_id).where(AuthorVariant.author_id == author.id))
    if owner is None:
        return [author.id], [author.name], None
    rows = session.execute(
        select(Author.id, Author.name)
        .join(AuthorVariant, AuthorVariant.author_id == Author.id)
        .where(AuthorVariant.user_id == owner, Author.id != author.id)
        .order_by(Author.name)
    ).all()
    return [author.id, *(r.id for r in rows)], [author.name, *(r.name for r in rows)], owner


def _paper_ids(ids: list[int]) -> Select[int]:
    return select(PaperAuthor.paper_id).where(PaperAuthor.author_id.in_(ids)).distinct()


def month_counts(days: list[date], *, max_months: int = MAX_MONTHS) -> list[tuple[str, int]]:
    """Papers per month from the first month to the last (empty months are 0), at most the last max_months."""
    if not days:
        return []
    counts = Counter((d.year, d.month) for d in days)
    first, last = min(counts), max(counts)
    months: list[tuple[int, int]] = []
    year, month = last
    while (year, month) >= first and len(months) < max_months:
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [(f"{y:04d}-{m:02d}", counts.get((y, m), 0)) for y, m in reversed(months)]


def _day(published: datetime | None, listed: date | None, created: datetime) -> date:
    return published.date() if published else listed or created.date()


def author_papers(session: Session, author_ids: list[int], *, offset: int, limit: int) -> list[Paper]:
    """Papers of these author ids, newest first (published, then id), with authors and categories loaded."""
    stmt = (
        select(Paper)
        .where(Paper.id.in_(_paper_ids(author_ids)))
        .order_by(Paper.published.desc().nulls_last(), Paper.id.desc())
        .offset(offset)
        .limit(limit)
        .options(selectinload(Paper.authors), selectinload(Paper.categories), selectinload(Paper.code_links))
    )
    return list(session.scalars(stmt))


def author_page(session: Session, name: str, *, page: int = 0, limit: int = 20) -> AuthorPage:
    """Everything /authors/<name> shows; NotFound for an unknown name, UserError for a bad page."""
    if page < 0 or page > MAX_PAGE:
        raise UserError(f"invalid page {page}")
    author = find_author(session, name)
    ids, names, _owner = _group(session, author)
    mine = _paper_ids(ids)
    total = int(session.scalar(select(func.count()).select_from(mine.subquery())) or 0)
    papers = author_papers(session, ids, offset=page * limit, limit=limit)
    coauthors = [
        (row.name, int(row.n))
        for row in session.execute(
            select(Author.name, func.count(distinct(PaperAuthor.paper_id)).label("n"))
            .join(Author, Author.id == PaperAuthor.author_id)
            .where(PaperAuthor.paper_id.in_(mine), PaperAuthor.author_id.not_in(ids))
            .group_by(Author.name)
            .order_by(func.count(distinct(PaperAuthor.paper_id)).desc(), Author.name)
            .limit(COAUTHORS_SHOWN)
        )
    ]
    categories = [
        (row.category, int(row.n))
        for row in session.execute(
            select(PaperCategory.category, func.count(distinct(PaperCategory.paper_id)).label("n"))
            .where(PaperCategory.paper_id.in_(mine))
            .group_by(PaperCategory.category)
            .order_by(func.count(distinct(PaperCategory.paper_id)).desc(), PaperCategory.category)
        )
    ]
    days = [
        _day(r.published, r.listing_date, r.created_at)
        for r in session.execute(
            select(Paper.published, Paper.listing_date, Paper.created_at).where(Paper.id.in_(mine))
        )
    ]
    return AuthorPage(
        name=author.name,
        author_id=author.id,
        names=tuple(names),
        papers=papers,
        total=total,
        page=page,
        limit=limit,
        coauthors=coauthors,
        categories=categories,
        timeline=month_counts(days),
        claimants=_claimants(session, ids),
    )


def _claimants(session: Session, author_ids: list[int]) -> list[Claimant]:
    """Users with an approved claim on any of these names (homonyms: several), with their grouped names."""
    users = session.execute(
        select(User.id, User.username)
        .join(AuthorClaim, AuthorClaim.user_id == User.id)
        .where(AuthorClaim.author_id.in_(author_ids), AuthorClaim.status == APPROVED)
        .group_by(User.id, User.username)
        .order_by(User.username)
    ).all()
    out = []
    for uid, username in users:
        grouped = session.scalars(
            select(Author.name)
            .join(AuthorVariant, AuthorVariant.author_id == Author.id)
            .where(AuthorVariant.user_id == uid)
            .order_by(Author.name)
        ).all()
        out.append(Claimant(username=username, names=tuple(grouped)))
    return out
