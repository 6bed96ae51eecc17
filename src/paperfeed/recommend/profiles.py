"""A reader's For-you profile: settings, the private feed's secret, export, deletion. Private to them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.authors.models import AuthorClaim, AuthorFollow
from paperfeed.community.models import Collection, CollectionItem, Vote
from paperfeed.db.models import Paper
from paperfeed.errors import UserError
from paperfeed.recommend.models import ReaderProfile, ReaderSignal
from paperfeed.recommend.service import DEFAULT_EXPLORATION
from paperfeed.text.arxiv_ids import is_arxiv_category
from paperfeed.timeutil import iso_utc

__all__ = [
    "MAX_CATEGORIES",
    "ProfileError",
    "ProfileView",
    "delete_profile",
    "export_profile",
    "feed_user",
    "get_profile",
    "has_profile",
    "make_feed_secret",
    "revoke_feed_secret",
    "save_profile",
]

MAX_CATEGORIES = 50


class ProfileError(UserError):
    """A profile setting the service cannot take (the message says why)."""

    status = 400


@dataclass(frozen=True)
class ProfileView:
    """What the settings page shows: chosen categories, the exploration share, whether a feed URL exists."""

    categories: tuple[str, ...]
    exploration: float
    has_feed: bool
    stored: bool  # False: no profile row yet (the defaults)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def get_profile(session: Session, user_id: int) -> ProfileView:
    """The reader's profile, or the defaults when they have none."""
    row = session.get(ReaderProfile, user_id)
    if row is None:
        return ProfileView((), DEFAULT_EXPLORATION, False, False)
    cats = tuple(sorted(set(row.categories.split())))
    return ProfileView(cats, float(row.exploration), row.feed_secret_hash is not None, True)


def has_profile(session: Session, user_id: int) -> bool:
    """True when the reader has anything to learn from: a profile, an explicit signal, a vote, a save,
    a followed author or an approved authorship claim."""
    saves = (
        select(CollectionItem.paper_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id)
    )
    probes = (
        select(ReaderProfile.user_id).where(ReaderProfile.user_id == user_id),
        select(ReaderSignal.user_id).where(ReaderSignal.user_id == user_id),
        select(Vote.user_id).where(Vote.user_id == user_id),
        saves,
        select(AuthorFollow.user_id).where(AuthorFollow.user_id == user_id),
        select(AuthorClaim.user_id).where(AuthorClaim.user_id == user_id, AuthorClaim.status == "approved"),
    )
    return any(session.scalar(select(exists(p))) for p in probes)


def _check_categories(categories: Sequence[str]) -> str:
    clean = sorted({c.strip() for c in categories if c.strip()})
    bad = [c for c in clean if not is_arxiv_category(c)]
    if bad:
        raise ProfileError(f"not an arXiv category: {bad[0][:64]!r} (for example cs.LG or astro-ph.GA)")
    if len(clean) > MAX_CATEGORIES:
        raise ProfileError(f"choose at most {MAX_CATEGORIES} categories")
    return " ".join(clean)


def _row(session: Session, user_id: int, now: datetime) -> ReaderProfile:
    row = session.get(ReaderProfile, user_id, with_for_update=True)
    if row is None:
        row = ReaderProfile(
            user_id=user_id, categories="", exploration=DEFAULT_EXPLORATION, created_at=now, updated_at=now
        )
        session.add(row)
    return row


def save_profile(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    now: datetime,
    categories: Sequence[str] | None = None,
    exploration: float | None = None,
) -> ProfileView:
    """Change the reader's categories and/or exploration share (None keeps the stored value)."""
    cats = None if categories is None else _check_categories(categories)
    if exploration is not None and not 0.0 <= exploration <= 0.5:
        raise ProfileError("the exploration share must be between 0 and 0.5")
    with factory() as session, session.begin():
        row = _row(session, user_id, now)
        if cats is not None:
            row.categories = cats
        if exploration is not None:
            row.exploration = float(exploration)
        row.updated_at = now
        session.flush()
        return get_profile(session, user_id)


def make_feed_secret(factory: sessionmaker[Session], *, user_id: int, now: datetime) -> str:
    """A new secret for the private feed URL (only its hash is stored); it replaces (revokes) the old one."""
    secret = secrets.token_urlsafe(32)
    with factory() as session, session.begin():
        row = _row(session, user_id, now)
        row.feed_secret_hash = _hash(secret)
        row.updated_at = now
    return secret


def revoke_feed_secret(factory: sessionmaker[Session], *, user_id: int, now: datetime) -> bool:
    """Forget the private feed's secret: its URL answers 404 from now on. True when there was one."""
    with factory() as session, session.begin():
        row = session.get(ReaderProfile, user_id, with_for_update=True)
        if row is None or row.feed_secret_hash is None:
            return False
        row.feed_secret_hash = None
        row.updated_at = now
        return True


def feed_user(session: Session, secret: str) -> int | None:
    """The reader whose private feed this secret opens, or None (wrong, revoked, or malformed)."""
    if not secret or len(secret) > 200 or not secret.isascii():
        return None
    return session.scalar(
        select(ReaderProfile.user_id).where(ReaderProfile.feed_secret_hash == _hash(secret))
    )


def export_profile(session: Session, user_id: int) -> dict[str, Any]:
    """Everything For you keeps about the reader, and the votes and saves it learns from (JSON-ready)."""
    view = get_profile(session, user_id)
    explicit = session.execute(
        select(Paper.key, Paper.title, ReaderSignal.kind, ReaderSignal.created_at)
        .join(Paper, Paper.id == ReaderSignal.paper_id)
        .where(ReaderSignal.user_id == user_id)
        .order_by(ReaderSignal.created_at, Paper.key)
    )
    voted = session.execute(
        select(Paper.key, Paper.title, Vote.created_at)
        .join(Paper, Paper.id == Vote.paper_id)
        .where(Vote.user_id == user_id)
        .order_by(Vote.created_at, Paper.key)
    )
    saved = session.execute(
        select(Paper.key, Paper.title, Collection.slug, CollectionItem.added_at)
        .join(CollectionItem, CollectionItem.paper_id == Paper.id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id)
        .order_by(CollectionItem.added_at, Paper.key)
    )
    return {
        "profile": {
            "categories": list(view.categories),
            "exploration": view.exploration,
            "privateFeed": view.has_feed,
        },
        "signals": [
            {"paperId": k, "title": t, "kind": kind, "at": iso_utc(at)} for k, t, kind, at in explicit
        ],
        "votes": [{"paperId": k, "title": t, "at": iso_utc(at)} for k, t, at in voted],
        "saves": [{"paperId": k, "title": t, "collection": c, "at": iso_utc(at)} for k, t, c, at in saved],
    }


def delete_profile(factory: sessionmaker[Session], *, user_id: int) -> int:
    """Delete the reader's explicit signals and profile (feed secret included); public votes stay.

    Returns the number of signals deleted.
    """
    with factory() as session, session.begin():
        result = session.execute(delete(ReaderSignal).where(ReaderSignal.user_id == user_id))
        session.execute(delete(ReaderProfile).where(ReaderProfile.user_id == user_id))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
