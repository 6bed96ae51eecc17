"""The "For you" section of a digest: the reader's recommended papers, picked at prepare time.

A subscription is linked to an account by its address: the account with that (verified) email and a
For-you profile (a reader_profiles row: the setup page or a seed import creates it). Its For-you papers are
chosen by `paperfeed.recommend.service.recommend` over the period's listings and put FIRST in the digest's
picks, before the saved searches, followed authors and trending fill, within the reader's papers per
digest. They are part of the prepared selection stored in the ledger (`digest_sent_papers`, their reason
starting with "For you · "), so a resend after a crash sends the same papers, never a re-ranked list, and a
paper sent once is never sent again. A subscriber without a linked profile gets the digest unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.accounts.models import User
from paperfeed.config import Settings
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period
from paperfeed.digests.select import Pick
from paperfeed.recommend.candidates import CandidateCache
from paperfeed.recommend.models import ReaderProfile
from paperfeed.recommend.service import ForYouItem, recommend

__all__ = ["PREFIX", "add_for_you", "for_you_picks", "is_for_you", "linked_readers", "shown_reason"]

PREFIX = "For you · "  # the stored reason of a For-you pick starts with it: that is what marks the section


def is_for_you(reason: str) -> bool:
    """True for the stored reason of a For-you pick."""
    return reason.startswith(PREFIX)


def shown_reason(reason: str) -> str:
    """The reason as the mail shows it (the section heading already says "For you")."""
    return reason[len(PREFIX) :] if is_for_you(reason) else reason


def linked_readers(session: Session, emails: Collection[str]) -> dict[str, int]:
    """address -> user id, for the addresses of verified accounts that have a For-you profile."""
    wanted = sorted({e.lower() for e in emails})
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        rows = session.execute(
            select(User.email, User.id)
            .join(ReaderProfile, ReaderProfile.user_id == User.id)
            .where(User.email.in_(wanted[start : start + 1000]), User.email_verified_at.is_not(None))
        )
        out.update({str(email).lower(): int(uid) for email, uid in rows})
    return out


def _reason(item: ForYouItem) -> str:
    if item.reasons:
        first = item.reasons[0]
        title = " ".join(first.title.split())
        if len(title) > 90:
            title = title[:88].rstrip() + "…"
        text = f"{first.verb[:1].upper()}{first.verb[1:]} “{title}”"
    else:
        text = "Close to the papers you follow"
    if item.terms:
        text += f" (shared: {', '.join(item.terms[:3])})"
    return PREFIX + text


def for_you_picks(
    session: Session,
    *,
    user_id: int,
    period: Period,
    settings: Settings,
    exclude: Collection[int],
    only_code: bool,
    now: datetime,
    cache: CandidateCache | None = None,
) -> list[Pick]:
    """Up to digest_for_you_papers of the period's papers for this reader, best first (no exploration)."""
    limit = settings.digest_for_you_papers
    if limit <= 0:
        return []
    items = recommend(
        session,
        user_id=user_id,
        start=period.start,
        end=period.end + timedelta(days=1),
        limit=limit + len(exclude) + 20,  # room for papers already sent or without code
        now=now,
        settings=settings,
        exploration=0.0,
        cache=cache,
    )
    out: list[Pick] = []
    for item in items:
        if item.paper.id in exclude or (only_code and not item.paper.code_links):
            continue
        out.append(Pick(item.paper.id, _reason(item)))
        if len(out) >= limit:
            break
    return out


def merge(for_you: Sequence[Pick], rest: Sequence[Pick], limit: int) -> list[Pick]:
    """For-you picks first, then the rest without them, within the digest's size."""
    taken = {p.paper_id for p in for_you}
    return (list(for_you) + [p for p in rest if p.paper_id not in taken])[:limit]


def add_for_you(
    session: Session,
    subs: Sequence[Subscription],
    picks: Mapping[int, list[Pick]],
    *,
    period: Period,
    settings: Settings,
    sent: Mapping[int, Collection[int]],
    now: datetime,
    cache: CandidateCache | None = None,
) -> dict[int, list[Pick]]:
    """Each subscription's picks with its For-you section first (unchanged without a linked profile)."""
    out = {sid: list(p) for sid, p in picks.items()}
    if settings.digest_for_you_papers <= 0 or not subs:
        return out
    readers = linked_readers(session, [sub.email for sub in subs])
    for sub in subs:
        user_id = readers.get(sub.email.lower())
        if user_id is None:
            continue
        mine = for_you_picks(
            session,
            user_id=user_id,
            period=period,
            settings=settings,
            exclude=sent.get(sub.id, ()),
            only_code=bool(sub.only_code),
            now=now,
            cache=cache,
        )
        if mine:
            limit = max(1, min(50, int(sub.max_papers or 10)))
            out[sub.id] = merge(mine, out.get(sub.id, []), limit)
    return out
