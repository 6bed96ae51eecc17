"""Comments and replies: write, edit (author), delete (author or moderator), hide (moderator).

papers.comment_count counts the comments a reader sees (neither deleted nor hidden); every change of that
visibility updates it in the same transaction, through a conditional UPDATE whose row count says whether
the comment really changed state, so a repeated or concurrent request never counts twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from paperfeed import feed
from paperfeed.accounts.models import User
from paperfeed.community import quotas
from paperfeed.community.markdown import render_markdown
from paperfeed.community.models import Comment
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import Forbidden, NotFound, UserError

__all__ = [
    "CommentView",
    "Posted",
    "clean_body",
    "create_comment",
    "delete_comment",
    "edit_comment",
    "paper_key_of",
    "post_comment",
    "set_hidden",
    "thread",
]

DEFAULT_MAX_CHARS = 10_000
# Replies nest at most this deep; a reply to a comment at the limit becomes its sibling, so threads stay
# readable on a phone and rendering never recurses deeply.
MAX_DEPTH = 6


@dataclass(slots=True)
class CommentView:
    """A comment as a page shows it; body/html are empty once deleted (and when hidden, but to moderators)."""

    id: int
    paper_id: int
    parent_id: int | None
    user_id: int | None
    author: str | None  # None: the account was deleted
    body: str
    html: Markup
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    children: list[CommentView] = field(default_factory=list)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_body(body: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The body trimmed and checked: not empty, not longer than max_chars, CRLF as LF, no control chars."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    # A NUL or a terminal escape in a comment is a paste accident or an attack, never meant: it goes
    # (PostgreSQL would refuse a NUL outright; SQLite would store it). Newlines and tabs stay.
    text = _CONTROLS.sub("", text).strip()
    if not text:
        raise UserError("a comment cannot be empty")
    if len(text) > max_chars:
        raise UserError(f"a comment can be at most {max_chars} characters (this one has {len(text)})")
    return text


def _count(session: Session, paper_id: int, delta: int) -> None:
    session.execute(
        update(Paper)
        .where(Paper.id == paper_id)
        .values(comment_count=Paper.comment_count + delta)
        .execution_options(synchronize_session=False)
    )


def _role(session: Session, user_id: int) -> str:
    role = session.scalar(select(User.role).where(User.id == user_id))
    if role is None:
        raise Forbidden("this account no longer exists")
    return role


def _depth(session: Session, comment: Comment) -> int:
    """How many ancestors the comment has (0 for a top-level comment)."""
    depth, parent_id = 0, comment.parent_id
    while parent_id is not None and depth <= MAX_DEPTH:
        depth += 1
        parent_id = session.scalar(select(Comment.parent_id).where(Comment.id == parent_id))
    return depth


def create_comment(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    paper_id: int,
    body: str,
    parent_id: int | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    now: datetime | None = None,
) -> int:
    """Store a comment (or a reply to parent_id) and count it; returns its id."""
    text = clean_body(body, max_chars)
    with factory() as session, session.begin():
        if session.get(Paper, paper_id) is None:
            raise NotFound(f"no paper with id {paper_id}")
        if parent_id is not None:
            parent = session.get(Comment, parent_id)
            if parent is None or parent.paper_id != paper_id:
                raise NotFound("the comment you reply to does not exist on this paper")
            if not parent.visible:
                raise UserError("the comment you reply to was deleted or hidden")
            if _depth(session, parent) >= MAX_DEPTH:
                parent_id = parent.parent_id
        comment = Comment(
            paper_id=paper_id,
            user_id=user_id,
            parent_id=parent_id,
            body=text,
            created_at=now or datetime.now(UTC),
        )
        session.add(comment)
        session.flush()
        _count(session, paper_id, 1)
        return comment.id


def paper_key_of(session: Session, comment_id: int) -> str:
    """The key of the paper a comment is on (NotFound when there is no such comment)."""
    key = session.scalar(
        select(Paper.key).join(Comment, Comment.paper_id == Paper.id).where(Comment.id == comment_id)
    )
    if key is None:
        raise NotFound(f"No comment with id {comment_id}.")
    return key


def _owned(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"no comment with id {comment_id}")
    return comment


def edit_comment(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    comment_id: int,
    body: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    now: datetime | None = None,
) -> None:
    """Replace the body of the user's own comment (not once deleted or hidden)."""
    text = clean_body(body, max_chars)
    with factory() as session, session.begin():
        comment = _owned(session, comment_id)
        if comment.user_id != user_id:
            raise Forbidden("only its author can edit a comment")
        if comment.deleted_at is not None or comment.hidden_at is not None:
            raise UserError("a deleted or hidden comment cannot be edited")
        if comment.body != text:
            comment.body = text
            comment.edited_at = now or datetime.now(UTC)


def delete_comment(
    factory: sessionmaker[Session], *, user_id: int, comment_id: int, now: datetime | None = None
) -> int:
    """Delete a comment (its author or a moderator): the body goes, the row stays for its replies.

    Returns the paper id. Deleting twice is harmless.
    """
    now = now or datetime.now(UTC)
    with factory() as session, session.begin():
        comment = _owned(session, comment_id)
        if comment.user_id != user_id and _role(session, user_id) != "moderator":
            raise Forbidden("only its author or a moderator can delete a comment")
        base = update(Comment).where(Comment.id == comment_id, Comment.deleted_at.is_(None))
        values = {"deleted_at": now, "body": ""}
        opts = {"synchronize_session": False}
        shown = session.execute(
            base.where(Comment.hidden_at.is_(None)).values(values).execution_options(**opts)
        )
        if shown.rowcount:  # type: ignore[attr-defined]
            _count(session, comment.paper_id, -1)
        else:
            session.execute(base.values(values).execution_options(**opts))  # a hidden one: not counted
        return comment.paper_id


def set_hidden(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    comment_id: int,
    hidden: bool,
    now: datetime | None = None,
) -> int:
    """Hide (or show again) a comment; moderators only. Returns the paper id; repeating is harmless."""
    now = now or datetime.now(UTC)
    with factory() as session, session.begin():
        if _role(session, user_id) != "moderator":
            raise Forbidden("only moderators can hide comments")
        comment = _owned(session, comment_id)
        opts = {"synchronize_session": False}
        stmt = update(Comment).where(Comment.id == comment_id, Comment.deleted_at.is_(None))
        if hidden:
            stmt = stmt.where(Comment.hidden_at.is_(None)).values(hidden_at=now, hidden_by=user_id)
        else:
            stmt = stmt.where(Comment.hidden_at.is_not(None)).values(hidden_at=None, hidden_by=None)
        if session.execute(stmt.execution_options(**opts)).rowcount:  # type: ignore[attr-defined]
            _count(session, comment.paper_id, -1 if hidden else 1)
        return comment.paper_id


def thread(session: Session, paper_id: int, *, moderator: bool = False) -> list[CommentView]:
    """The paper's comments as a tree, oldest first; removed comments without replies are left out."""
    rows = session.execute(
        select(Comment, User.username)
        .outerjoin(User, User.id == Comment.user_id)
        .where(Comment.paper_id == paper_id)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    views: dict[int, CommentView] = {}
    for comment, username in rows:
        hidden = comment.hidden_at is not None
        deleted = comment.deleted_at is not None
        readable = not deleted and (not hidden or moderator)
        views[comment.id] = CommentView(
            id=comment.id,
            paper_id=comment.paper_id,
            parent_id=comment.parent_id,
            user_id=comment.user_id,
            author=username,
            body=comment.body if readable else "",
            html=render_markdown(comment.body) if readable else Markup(""),
            created_at=comment.created_at,
            edited_at=comment.edited_at,
            deleted=deleted,
            hidden=hidden,
        )
    roots: list[CommentView] = []
    for view in views.values():
        parent = views.get(view.parent_id) if view.parent_id is not None else None
        (parent.children if parent is not None else roots).append(view)

    def prune(nodes: list[CommentView]) -> list[CommentView]:
        kept = []
        for node in nodes:
            node.children = prune(node.children)
            removed = node.deleted or (node.hidden and not moderator)
            if not removed or node.children:
                kept.append(node)
        return kept

    return prune(roots)


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a new comment went: its paper (id and key) and its own id."""

    paper_id: int
    paper_key: str
    comment_id: int


def post_comment(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    user_id: int,
    paper_ref: str,
    body: str,
    parent_id: int | None = None,
    now: datetime | None = None,
) -> Posted:
    """The one way a user comments (page and API): find the paper, spend the quota, store the comment.

    Refused text and an unknown paper cost no quota; a used-up quota raises RateLimited (429).
    """
    clean_body(body, settings.comment_max_chars)
    with factory() as session:
        paper = feed.get_paper(session, paper_ref)
        if paper is None:
            raise NotFound(f"paper {paper_ref!r} not found")
        paper_id, key = paper.id, paper.key
    quotas.spend(factory, settings, action="comment", user_id=user_id)
    new_id = create_comment(
        factory,
        user_id=user_id,
        paper_id=paper_id,
        body=body,
        parent_id=parent_id,
        max_chars=settings.comment_max_chars,
        now=now,
    )
    return Posted(paper_id, key, new_id)
