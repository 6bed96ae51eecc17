""" "More like this" / "Less like this" links in digest mails: signed tokens, read without side effects.

A link carries a token signed with the site secret (paperfeed.signing, purpose "for-you-rate"): the user,
the paper, the kind and, through itsdangerous' timestamp, when it was made; it expires after
`digest_rating_max_age_s`. Opening the link (GET) only shows a page with one button; the button's POST
carries the same token, which is the proof (no login, no cookie): nobody can forge one for another reader
or paper, and a mail scanner that fetches every link records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts.models import User
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound, UserError
from paperfeed.recommend.models import LESS, MORE
from paperfeed.recommend.signals import record_signal
from paperfeed.signing import BadSignature, SignatureExpired, load, sign

__all__ = ["PURPOSE", "RatingLinkError", "RatingRequest", "rating_token", "read_rating", "record_rating"]

PURPOSE = "for-you-rate"
KINDS = (MORE, LESS)


class RatingLinkError(UserError):
    """A rating link that is tampered with, expired or malformed."""

    status = 400


@dataclass(frozen=True)
class RatingRequest:
    """What a valid link asks: the reader, the paper (key and title, for the page) and the kind."""

    user_id: int
    paper_id: int
    paper_key: str
    paper_title: str
    kind: str


def rating_token(settings: Settings, *, user_id: int, paper_id: int, kind: str) -> str:
    """The signed token of one link (valid for digest_rating_max_age_s from now)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return sign(settings, PURPOSE, {"u": user_id, "p": paper_id, "k": kind})


def _payload(settings: Settings, token: str) -> tuple[int, int, str]:
    try:
        data: Any = load(settings, PURPOSE, token, max_age_s=settings.digest_rating_max_age_s)
    except SignatureExpired:
        raise RatingLinkError("This link has expired: rate the paper from its page instead.") from None
    except BadSignature:
        raise RatingLinkError("This link is not valid.") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("u"), int)
        and isinstance(data.get("p"), int)
        and data.get("k") in KINDS
    ):
        raise RatingLinkError("This link is not valid.")
    return int(data["u"]), int(data["p"]), str(data["k"])


def read_rating(session: Session, settings: Settings, token: str) -> RatingRequest:
    """What a link asks, checked (signature, expiry, the reader and paper still exist); changes nothing."""
    user_id, paper_id, kind = _payload(settings, token)
    paper = session.get(Paper, paper_id)
    if paper is None or session.get(User, user_id) is None:
        raise NotFound("This paper or account no longer exists.")
    return RatingRequest(user_id, paper_id, paper.key, paper.title, kind)


def record_rating(
    factory: sessionmaker[Session], settings: Settings, token: str, *, now: datetime
) -> RatingRequest:
    """Record the link's signal (idempotent: the latest signal of the reader on the paper wins)."""
    with factory() as session:
        request = read_rating(session, settings, token)
    record_signal(factory, user_id=request.user_id, paper_id=request.paper_id, kind=request.kind, now=now)
    return request
