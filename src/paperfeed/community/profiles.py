"""A user's public profile: the papers they submitted and upvoted, and their public collections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from paperfeed.accounts.models import User
from paperfeed.community.collections import Summary, user_collections
from paperfeed.community.models import Comment, Vote
from paperfeed.community.submissions import SOURCE
from paperfeed.db.models import Paper, PaperAuthor, Submission
from paperfeed.errors import NotFound

__all__ = ["Profile", "profile"]

SHOWN = 50  # papers per list on a profile page


@dataclass(frozen=True, slots=True)
class Profile:
    """What /u/{username} shows."""

    username: str
    joined: datetime
    moderator: bool
    own: bool  # the viewer is this user (private collections are listed too)
    submitted: list[tuple[date, Paper]]
    upvoted: list[Paper]
    collections: list[Summary]
    submission_count: int
    vote_count: int
    comment_count: int


def _papers_opts() -> tuple[object, ...]:
    return (selectinload(Paper.authors).joinedload(PaperAuthor.author), selectinload(Paper.categories))


def profile(session: Session, username: str, *, viewer_id: int | None) -> Profile:
    """The profile of `username`; NotFound when no such user."""
    user = session.scalars(select(User).where(User.username == username)).first()
    # An account waiting for its address to be confirmed has no profile: a sign-up must not show
    # whether it created an account (its email was unknown) or not (docs/accounts.md).
    if user is None or user.email_verified_at is None:
        raise NotFound(f"no user called {username!r}")
    # Only submissions made here: a Hugging Face submitter of the same name is somebody else.
    mine = (Submission.submitted_by == user.username) & (Submission.source == SOURCE)
    submitted = [
        (day, paper)
        for day, paper in session.execute(
            select(Submission.day, Paper)
            .join(Paper, Paper.id == Submission.paper_id)
            .where(mine)
            .order_by(Submission.day.desc(), Submission.submitted_at.desc())
            .limit(SHOWN)
            .options(*_papers_opts())  # type: ignore[arg-type]
        )
    ]
    upvoted = list(
        session.scalars(
            select(Paper)
            .join(Vote, Vote.paper_id == Paper.id)
            .where(Vote.user_id == user.id)
            .order_by(Vote.created_at.desc(), Paper.id.desc())
            .limit(SHOWN)
            .options(*_papers_opts())  # type: ignore[arg-type]
        )
    )
    own = viewer_id == user.id
    counts = session.execute(
        select(
            select(func.count()).select_from(Submission).where(mine).scalar_subquery(),
            select(func.count()).select_from(Vote).where(Vote.user_id == user.id).scalar_subquery(),
            select(func.count())
            .select_from(Comment)
            .where(Comment.user_id == user.id, Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))
            .scalar_subquery(),
        )
    ).one()
    return Profile(
        username=user.username,
        joined=user.created_at,
        moderator=user.role == "moderator",
        own=own,
        submitted=submitted,
        upvoted=upvoted,
        collections=user_collections(session, user.id, public_only=not own),
        submission_count=int(counts[0]),
        vote_count=int(counts[1]),
        comment_count=int(counts[2]),
    )
