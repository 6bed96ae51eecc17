"""Following authors: private to the reader (never shown on a public profile; see docs/authors.md)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from paperfeed.accounts.models import User
from paperfeed.authors.models import AuthorFollow
from paperfeed.authors.pages import find_author
from paperfeed.community.votes import insert_ignore
from paperfeed.db.models import Author, Paper, PaperAuthor
from paperfeed.errors import Conflict

__all__ = ["follow", "followed_by_email", "followed_names", "following_papers", "is_following"]

FOLLOWS: Table = AuthorFollow.__table__  # type: ignore[assignment]
MAX_FOLLOWS = 500  # per user: enough for a reading list, not a crawl of the author table


def follow(factory: sessionmaker[Session], *, user_id: int, name: str, on: bool = True) -> bool:
    """Follow (on=True) or unfollow the author with exactly this name; idempotent. Returns the new state."""
    with factory() as session, session.begin():
        author = find_author(session, name)
        if not on:
            session.execute(
                delete(FOLLOWS).where(FOLLOWS.c.user_id == user_id, FOLLOWS.c.author_id == author.id)
            )
            return False
        count = session.scalar(select(func.count()).select_from(FOLLOWS).where(FOLLOWS.c.user_id == user_id))
        if int(count or 0) >= MAX_FOLLOWS and not is_following(session, user_id, author.id):
            raise Conflict(f"you follow {MAX_FOLLOWS} authors already: unfollow some first")
        # ON CONFLICT DO NOTHING: a double click or two tabs at once store one row.
        insert_ignore(
            session, FOLLOWS, {"user_id": user_id, "author_id": author.id, "created_at": datetime.now(UTC)}
        )
        return True


def is_following(session: Session, user_id: int | None, author_id: int) -> bool:
    """True when this user follows this author id."""
    if user_id is None:
        return False
    stmt = select(FOLLOWS.c.user_id).where(FOLLOWS.c.user_id == user_id, FOLLOWS.c.author_id == author_id)
    return session.scalar(stmt) is not None


def followed_names(session: Session, user_id: int) -> list[str]:
    """The names this user follows, alphabetically."""
    return list(
        session.scalars(
            select(Author.name)
            .join(AuthorFollow, AuthorFollow.author_id == Author.id)
            .where(AuthorFollow.user_id == user_id)
            .order_by(Author.name)
        )
    )


def following_papers(session: Session, user_id: int, *, offset: int, limit: int) -> tuple[list[Paper], int]:
    """Papers by any followed author, newest first, and how many there are."""
    ids = (
        select(PaperAuthor.paper_id)
        .join(AuthorFollow, AuthorFollow.author_id == PaperAuthor.author_id)
        .where(AuthorFollow.user_id == user_id)
        .distinct()
    )
    total = int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)
    papers = session.scalars(
        select(Paper)
        .where(Paper.id.in_(ids))
        .order_by(Paper.published.desc().nulls_last(), Paper.id.desc())
        .offset(offset)
        .limit(limit)
        .options(selectinload(Paper.authors), selectinload(Paper.categories), selectinload(Paper.code_links))
    )
    return list(papers), total


def followed_by_email(session: Session, emails: Collection[str]) -> dict[str, list[str]]:
    """Followed names per (lower-cased) email of a verified account: what a digest subscriber follows.

    Only verified accounts count: an unverified account may name somebody else's address, and must not
    change what that person's digest holds.
    """
    wanted = sorted({e.lower() for e in emails})
    out: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 900):  # below SQLite's bound-parameter limit
        chunk = wanted[start : start + 900]
        rows = session.execute(
            select(User.email, Author.name)
            .join(AuthorFollow, AuthorFollow.user_id == User.id)
            .join(Author, Author.id == AuthorFollow.author_id)
            .where(User.email.in_(chunk), User.email_verified_at.is_not(None))
            .order_by(User.email, Author.name)
        )
        for email, name in rows:
            out.setdefault(email.lower(), []).append(name)
    return out
