"""Upvotes: one per user and paper; the vote row and papers.vote_count change in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.community.models import Vote
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound

__all__ = ["VoteState", "insert_ignore", "set_vote", "toggle_vote", "vote_state", "voted_ids"]

VOTES: Table = Vote.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class VoteState:
    """A paper's votes as one user sees them: own vote, paperfeed votes, and the total shown."""

    paper_id: int
    voted: bool
    vote_count: int  # paperfeed users' votes
    upvotes: int  # votes carried over from the source (Hugging Face)

    @property
    def total(self) -> int:
        """The number on the button: source upvotes plus paperfeed's own."""
        return self.upvotes + self.vote_count


def insert_ignore(session: Session, table: Table, values: dict[str, object]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns 1 when a row was written, 0 when it already existed."""
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(values)
    # RETURNING rather than rowcount: a skipped row returns nothing on both databases, which the drivers'
    # rowcount for ON CONFLICT DO NOTHING does not report reliably.
    first = next(iter(table.primary_key.columns))
    return 1 if session.execute(stmt.on_conflict_do_nothing().returning(first)).first() is not None else 0


def _paper_exists(factory: sessionmaker[Session], paper_id: int) -> None:
    with factory() as session:
        if session.get(Paper, paper_id) is None:
            raise NotFound(f"no paper with id {paper_id}")


def _state(session: Session, user_id: int | None, paper_id: int) -> VoteState:
    row = session.execute(select(Paper.vote_count, Paper.upvotes).where(Paper.id == paper_id)).first()
    if row is None:
        raise NotFound(f"no paper with id {paper_id}")
    voted = user_id is not None and (
        session.scalar(
            select(VOTES.c.user_id).where(VOTES.c.user_id == user_id, VOTES.c.paper_id == paper_id)
        )
        is not None
    )
    return VoteState(paper_id, voted, int(row.vote_count), int(row.upvotes))


def set_vote(
    factory: sessionmaker[Session], *, user_id: int, paper_id: int, voted: bool, now: datetime | None = None
) -> VoteState:
    """Make the user's vote on the paper `voted`; repeating the same request changes nothing."""
    _paper_exists(factory, paper_id)
    with factory() as session, session.begin():
        # The write comes first in the transaction: on SQLite it takes the write lock (waiting for it),
        # on PostgreSQL the primary key makes a concurrent twin wait, then do nothing.
        if voted:
            values = {"user_id": user_id, "paper_id": paper_id, "created_at": now or datetime.now(UTC)}
            changed = insert_ignore(session, VOTES, values)
            delta = changed
        else:
            result = session.execute(
                delete(VOTES).where(VOTES.c.user_id == user_id, VOTES.c.paper_id == paper_id)
            )
            changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
            delta = -changed
        if delta:
            session.execute(
                update(Paper)
                .where(Paper.id == paper_id)
                .values(vote_count=Paper.vote_count + delta)
                .execution_options(synchronize_session=False)
            )
        return _state(session, user_id, paper_id)


def toggle_vote(
    factory: sessionmaker[Session], *, user_id: int, paper_id: int, now: datetime | None = None
) -> VoteState:
    """Flip the user's vote. Forms send the wanted state instead (set_vote), so a double click is harmless."""
    with factory() as session:
        current = _state(session, user_id, paper_id).voted
    return set_vote(factory, user_id=user_id, paper_id=paper_id, voted=not current, now=now)


def vote_state(session: Session, user_id: int | None, paper_id: int) -> VoteState:
    """The paper's vote counts and whether this user (None: nobody signed in) voted for it."""
    return _state(session, user_id, paper_id)


def voted_ids(session: Session, user_id: int | None, paper_ids: Iterable[int]) -> set[int]:
    """Which of these papers the user has upvoted (one query for a whole listing)."""
    ids = list(paper_ids)
    if user_id is None or not ids:
        return set()
    stmt = select(VOTES.c.paper_id).where(VOTES.c.user_id == user_id, VOTES.c.paper_id.in_(ids))
    return set(session.scalars(stmt))
