"""Authorship claims: "this is me" on one byline place, decided by a moderator; grouped name variants."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts.models import User
from paperfeed.authors.models import APPROVED, PENDING, REJECTED, AuthorClaim, AuthorVariant
from paperfeed.db.models import Author, Paper, PaperAuthor
from paperfeed.errors import Conflict, Forbidden, NotFound, UserError

__all__ = [
    "ApprovedClaim",
    "ClaimView",
    "approved_for_papers",
    "claim",
    "decide",
    "my_claims",
    "pending_claims",
    "set_variants",
    "variant_choices",
]

MAX_PENDING = 200  # per user: a claim costs a moderator's time


@dataclass(frozen=True, slots=True)
class ApprovedClaim:
    """An approved claim as the API and the paper page show it."""

    username: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimView:
    """One claim in the moderation queue."""

    id: int
    username: str
    paper_key: str
    paper_title: str
    position: int
    name: str  # the name claimed
    byline_name: str | None  # the name at that place now (None: the byline no longer has the place)
    created_at: datetime


def claim(factory: sessionmaker[Session], *, user_id: int, paper_id: int, position: int) -> str:
    """Claim the byline place (paper, position) for this user; returns the claim's status. Idempotent.

    A second claim of the same place by the same user returns the first one's status (a rejected claim
    stays rejected: asking again does not re-queue it). A place already approved for somebody else is a
    Conflict.
    """
    with factory() as session, session.begin():
        author_id = session.scalar(
            select(PaperAuthor.author_id).where(
                PaperAuthor.paper_id == paper_id, PaperAuthor.position == position
            )
        )
        if author_id is None:
            raise NotFound(f"the paper has no author at position {position}")
        mine = session.scalars(
            select(AuthorClaim).where(
                AuthorClaim.user_id == user_id,
                AuthorClaim.paper_id == paper_id,
                AuthorClaim.position == position,
            )
        ).first()
        if mine is not None:
            return mine.status
        taken = session.scalar(
            select(AuthorClaim.id).where(
                AuthorClaim.paper_id == paper_id,
                AuthorClaim.position == position,
                AuthorClaim.status == APPROVED,
            )
        )
        if taken is not None:
            raise Conflict("another user's claim on this author was approved already")
        pending = session.scalars(
            select(AuthorClaim.id).where(AuthorClaim.user_id == user_id, AuthorClaim.status == PENDING)
        ).all()
        if len(pending) >= MAX_PENDING:
            raise Conflict(f"you have {MAX_PENDING} claims waiting for a moderator already")
        now = datetime.now(UTC)
        try:
            with session.begin_nested():  # two tabs at once: the unique key keeps one, the other reads it
                session.add(
                    AuthorClaim(
                        user_id=user_id,
                        paper_id=paper_id,
                        position=position,
                        author_id=author_id,
                        status=PENDING,
                        created_at=now,
                    )
                )
        except IntegrityError:
            return PENDING
        return PENDING


def decide(factory: sessionmaker[Session], *, moderator_id: int, claim_id: int, approve: bool) -> str:
    """Approve or reject a claim; deciding the same way twice is harmless. Returns the new status."""
    with factory() as session, session.begin():
        mod = session.get(User, moderator_id)
        if mod is None or mod.role != "moderator":
            raise Forbidden("only moderators decide claims")
        row = session.get(AuthorClaim, claim_id)
        if row is None:
            raise NotFound(f"no claim {claim_id}")
        wanted = APPROVED if approve else REJECTED
        if row.status == wanted:
            return wanted
        row.status = wanted
        row.decided_at = datetime.now(UTC)
        row.decided_by = moderator_id
        if not approve:
            # A rejected name leaves the owner's group unless another approved claim still backs it.
            _drop_unbacked_variants(session, row.user_id, exclude_claim=row.id)
        try:
            session.flush()  # the partial unique index: one approved claim per byline place
        except IntegrityError:
            raise Conflict("another user's claim on this author was approved already") from None
        return wanted


def _drop_unbacked_variants(session: Session, user_id: int, *, exclude_claim: int) -> None:
    backed = select(AuthorClaim.author_id).where(
        AuthorClaim.user_id == user_id, AuthorClaim.status == APPROVED, AuthorClaim.id != exclude_claim
    )
    session.execute(
        delete(AuthorVariant).where(AuthorVariant.user_id == user_id, AuthorVariant.author_id.not_in(backed))
    )


def pending_claims(session: Session, *, limit: int = 100) -> list[ClaimView]:
    """The moderation queue: pending claims, oldest first."""
    now_name = (
        select(Author.name)
        .join(PaperAuthor, PaperAuthor.author_id == Author.id)
        .where(PaperAuthor.paper_id == AuthorClaim.paper_id, PaperAuthor.position == AuthorClaim.position)
        .scalar_subquery()
    )
    rows = session.execute(
        select(AuthorClaim, User.username, Paper.key, Paper.title, Author.name, now_name)
        .join(User, User.id == AuthorClaim.user_id)
        .join(Paper, Paper.id == AuthorClaim.paper_id)
        .join(Author, Author.id == AuthorClaim.author_id)
        .where(AuthorClaim.status == PENDING)
        .order_by(AuthorClaim.created_at, AuthorClaim.id)
        .limit(limit)
    ).all()
    return [
        ClaimView(
            id=c.id,
            username=username,
            paper_key=key,
            paper_title=title,
            position=c.position,
            name=name,
            byline_name=current,
            created_at=c.created_at,
        )
        for c, username, key, title, name, current in rows
    ]


def approved_for_papers(session: Session, paper_ids: Collection[int]) -> dict[tuple[int, int], ApprovedClaim]:
    """Approved claims by (paper id, position), where the byline still has the claimed name there."""
    ids = sorted(set(paper_ids))
    out: dict[tuple[int, int], ApprovedClaim] = {}
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(AuthorClaim.paper_id, AuthorClaim.position, User.username, AuthorClaim.decided_at)
            .join(User, User.id == AuthorClaim.user_id)
            .join(
                PaperAuthor,
                (PaperAuthor.paper_id == AuthorClaim.paper_id)
                & (PaperAuthor.position == AuthorClaim.position)
                & (PaperAuthor.author_id == AuthorClaim.author_id),
            )
            .where(AuthorClaim.paper_id.in_(ids[start : start + 900]), AuthorClaim.status == APPROVED)
        )
        for pid, pos, username, decided in rows:
            out[(pid, pos)] = ApprovedClaim(username=username, decided_at=decided or datetime.now(UTC))
    return out


def my_claims(session: Session, user_id: int | None, paper_id: int) -> dict[int, str]:
    """This user's claims on one paper: position -> status."""
    if user_id is None:
        return {}
    rows = session.execute(
        select(AuthorClaim.position, AuthorClaim.status).where(
            AuthorClaim.user_id == user_id, AuthorClaim.paper_id == paper_id
        )
    )
    return {int(pos): status for pos, status in rows}


def variant_choices(session: Session, user_id: int) -> list[tuple[str, bool]]:
    """The names this user may group (those with an approved claim) and whether each is grouped now."""
    names = session.scalars(
        select(Author.name)
        .join(AuthorClaim, AuthorClaim.author_id == Author.id)
        .where(AuthorClaim.user_id == user_id, AuthorClaim.status == APPROVED)
        .group_by(Author.name)
        .order_by(Author.name)
    ).all()
    grouped = set(
        session.scalars(
            select(Author.name)
            .join(AuthorVariant, AuthorVariant.author_id == Author.id)
            .where(AuthorVariant.user_id == user_id)
        )
    )
    return [(n, n in grouped) for n in names]


def set_variants(factory: sessionmaker[Session], *, user_id: int, names: Collection[str]) -> list[str]:
    """Make exactly these names (each backed by an approved claim of the user) the user's group.

    Grouping fewer than two names groups nothing: the group is cleared. A name another profile grouped is a
    Conflict (homonyms: docs/authors.md).
    """
    wanted = sorted(set(names))
    with factory() as session, session.begin():
        allowed = {n for n, _ in variant_choices(session, user_id)}
        unknown = [n for n in wanted if n not in allowed]
        if unknown:
            raise UserError(f"no approved claim of yours under {unknown[0]!r}")
        session.execute(delete(AuthorVariant).where(AuthorVariant.user_id == user_id))
        if len(wanted) < 2:
            return []
        rows = session.execute(select(Author.id, Author.name).where(Author.name.in_(wanted))).all()
        taken = session.execute(
            select(Author.name)
            .join(AuthorVariant, AuthorVariant.author_id == Author.id)
            .where(AuthorVariant.author_id.in_([r.id for r in rows]), AuthorVariant.user_id != user_id)
        ).first()
        if taken is not None:
            raise Conflict(f"{taken[0]!r} is grouped on another profile")
        now = datetime.now(UTC)
        session.add_all(AuthorVariant(author_id=r.id, user_id=user_id, created_at=now) for r in rows)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("one of these names was grouped on another profile just now") from None
        return wanted
