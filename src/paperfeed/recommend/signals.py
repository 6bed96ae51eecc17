"""A reader's signals: record and clear more/less/dismiss/seed, and gather the examples to learn from."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.authors.models import AuthorClaim, AuthorFollow
from paperfeed.community.models import Collection, CollectionItem, Vote
from paperfeed.db.models import Paper, PaperAuthor
from paperfeed.errors import NotFound, UserError
from paperfeed.recommend.model import Example
from paperfeed.recommend.models import SIGNAL_KINDS, ReaderSignal


class SignalError(UserError):
    """A signal the service cannot take (unknown kind)."""

    status = 400


def record_signal(
    factory: sessionmaker[Session], *, user_id: int, paper_id: int, kind: str, now: datetime
) -> None:
    """Store the reader's signal about a paper; idempotent, and the latest signal replaces an earlier one."""
    if kind not in SIGNAL_KINDS:
        raise SignalError(f"unknown signal {kind!r}: expected one of {', '.join(SIGNAL_KINDS)}")
    with factory() as session, session.begin():
        if session.get(Paper, paper_id) is None:
            raise NotFound("no such paper")
        values = {"user_id": user_id, "paper_id": paper_id, "kind": kind, "created_at": now}
        table = ReaderSignal
        dialect = session.get_bind().dialect.name
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "paper_id"], set_={"kind": kind, "created_at": now}
            )
        )


def clear_signal(factory: sessionmaker[Session], *, user_id: int, paper_id: int) -> bool:
    """Forget the reader's explicit signal about a paper; True when there was one."""
    with factory() as session, session.begin():
        result = session.execute(
            delete(ReaderSignal).where(ReaderSignal.user_id == user_id, ReaderSignal.paper_id == paper_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def signal_kinds(session: Session, user_id: int, paper_ids: list[int]) -> dict[int, str]:
    """The reader's explicit signal per paper among paper_ids (for showing the buttons' state)."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(ReaderSignal.paper_id, ReaderSignal.kind).where(
            ReaderSignal.user_id == user_id, ReaderSignal.paper_id.in_(paper_ids)
        )
    )
    return {int(pid): str(kind) for pid, kind in rows}


# Papers of each followed author the model learns from: their latest ones describe what they work on now.
FOLLOW_PAPERS_PER_AUTHOR = 10


def examples(session: Session, user_id: int, *, follow_before: date | None = None) -> list[Example]:
    """Everything the reader did that the model learns from.

    Votes, collection saves, explicit signals, the papers of their approved authorship claims ("claim"),
    and the latest papers of the authors they follow ("follow", listed before `follow_before` only: a
    followed author's new paper is a candidate to recommend, not an example to learn from).
    """
    out: list[Example] = []
    for pid, at in session.execute(select(Vote.paper_id, Vote.created_at).where(Vote.user_id == user_id)):
        out.append(Example(int(pid), "vote", at))
    saves = (
        select(CollectionItem.paper_id, CollectionItem.added_at)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id)
    )
    for pid, at in session.execute(saves):
        out.append(Example(int(pid), "save", at))
    signals = select(ReaderSignal.paper_id, ReaderSignal.kind, ReaderSignal.created_at).where(
        ReaderSignal.user_id == user_id
    )
    for pid, kind, at in session.execute(signals):
        out.append(Example(int(pid), str(kind), at))
    claims = select(AuthorClaim.paper_id, AuthorClaim.decided_at).where(
        AuthorClaim.user_id == user_id, AuthorClaim.status == "approved"
    )
    for pid, decided in session.execute(claims):
        out.append(Example(int(pid), "claim", decided))
    out.extend(_followed(session, user_id, before=follow_before))
    return out


def _followed(session: Session, user_id: int, *, before: date | None) -> list[Example]:
    """The latest FOLLOW_PAPERS_PER_AUTHOR papers of each followed author (listed before `before`)."""
    stmt = (
        select(PaperAuthor.author_id, Paper.id, Paper.created_at)
        .join(Paper, Paper.id == PaperAuthor.paper_id)
        .join(AuthorFollow, AuthorFollow.author_id == PaperAuthor.author_id)
        .where(AuthorFollow.user_id == user_id)
        .order_by(PaperAuthor.author_id, Paper.published.desc().nulls_last(), Paper.id.desc())
    )
    if before is not None:
        stmt = stmt.where(Paper.listing_date < before)
    taken: dict[int, int] = {}
    seen: set[int] = set()
    out: list[Example] = []
    for author_id, pid, at in session.execute(stmt):
        if taken.get(author_id, 0) >= FOLLOW_PAPERS_PER_AUTHOR or pid in seen:
            continue
        taken[author_id] = taken.get(author_id, 0) + 1
        seen.add(pid)
        out.append(Example(int(pid), "follow", at))
    return out


# The signals a reader gives by pressing a button (web, API); "seed" comes from importing papers.
BUTTON_KINDS = ("more", "less", "dismiss")


def apply_signal(
    factory: sessionmaker[Session], *, user_id: int, paper_id: int, kind: str, on: bool, now: datetime
) -> str | None:
    """Press (on) or release a signal button; returns the reader's signal about the paper afterwards.

    Releasing clears the signal only when it is still `kind` (a stale page's button never clears another).
    """
    if kind not in BUTTON_KINDS:
        raise SignalError(f"unknown signal {kind!r}: expected one of {', '.join(BUTTON_KINDS)}")
    if on:
        record_signal(factory, user_id=user_id, paper_id=paper_id, kind=kind, now=now)
        return kind
    with factory() as session, session.begin():
        session.execute(
            delete(ReaderSignal).where(
                ReaderSignal.user_id == user_id, ReaderSignal.paper_id == paper_id, ReaderSignal.kind == kind
            )
        )
        return signal_kinds(session, user_id, [paper_id]).get(paper_id)
