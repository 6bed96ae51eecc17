"""Preparing a period's digests: select each reader's papers, store the ledger rows (a batch per transaction).

A row and its papers are written together (one transaction per batch of subscriptions); its Message-ID is
fixed here, so the digest carries the same one whenever it is sent. An empty selection stores a `skipped`
row and sends nothing.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.authors.follows import followed_by_email
from paperfeed.config import Settings
from paperfeed.db.engine import session_scope
from paperfeed.digests.for_you import add_for_you
from paperfeed.digests.ledger_models import DIGEST_SENDS as T
from paperfeed.digests.ledger_models import DIGEST_SENT_PAPERS as P
from paperfeed.digests.ledger_models import SendStatus
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period
from paperfeed.digests.select import Pick, SelectionContext, select_digest
from paperfeed.mail import mail_domain
from paperfeed.recommend.candidates import CandidateCache

__all__ = ["PrepareReport", "new_message_id", "prepare"]


def utcnow() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


@dataclass
class PrepareReport:
    """What prepare() did for one period."""

    prepared: int = 0  # rows with papers, ready to send
    skipped: int = 0  # nothing to send (empty selection): a row, no mail
    papers: int = 0


def new_message_id(settings: Settings, period: Period, subscription_id: int) -> str:
    """A Message-ID fixed when the row is prepared: a resend after a crash would carry the same one."""
    return f"<digest.{period.label}.{subscription_id}.{secrets.token_hex(6)}@{mail_domain(settings)}>"


def prepare(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    period: Period,
    now: datetime | None = None,
    on_batch: Callable[[PrepareReport], None] | None = None,
    dry_run: bool = False,
) -> PrepareReport:
    """Select and store the digests of every active subscription of this frequency without a row yet.

    dry_run selects and counts in one transaction that is rolled back: nothing is stored.
    """
    report = PrepareReport()
    conflicts = 0
    context: SelectionContext | None = None
    at = now or utcnow()
    cache = CandidateCache(maxsize=1)  # the period's For-you candidates, built once for every reader
    while True:
        batch = PrepareReport()
        try:
            with session_scope(factory) as session:
                subs = _unprepared(session, period, settings.digest_send_prepare_batch)
                if not subs:
                    return report
                if context is None:  # the period's papers, loaded and indexed once for every subscriber
                    context = SelectionContext.build(session, period, settings)
                sent = _sent_papers(session, [sub.id for sub in subs])
                follows = followed_by_email(session, [sub.email for sub in subs])
                picks = {
                    sub.id: select_digest(
                        session,
                        subscription=sub,
                        period=period,
                        settings=settings,
                        exclude=sent.get(sub.id, ()),
                        context=context,
                        followed=follows.get(sub.email.lower(), ()),
                    )
                    for sub in subs
                }
                # For you first: chosen now and stored with the rest, so a resend sends the same papers.
                picks = add_for_you(
                    session, subs, picks, period=period, settings=settings, sent=sent, now=at, cache=cache
                )
                _insert_rows(session, settings, period, subs, picks, at, batch)
                if dry_run:
                    _add(report, batch)
                    _add(report, _count_rest(session, settings, period, context, at, cache))
                    session.rollback()
                    return report
        except IntegrityError:
            # Another preparer stored some of these rows first: select again what is still missing.
            conflicts += 1
            if conflicts > 5:
                raise
            continue
        _add(report, batch)
        if on_batch:
            on_batch(batch)


def _add(total: PrepareReport, part: PrepareReport) -> None:
    total.prepared += part.prepared
    total.skipped += part.skipped
    total.papers += part.papers


def _count_rest(
    session: Session,
    settings: Settings,
    period: Period,
    context: SelectionContext,
    now: datetime,
    cache: CandidateCache,
) -> PrepareReport:
    """A dry run's count over the remaining batches (the first batch's rows make them look prepared)."""
    rest = PrepareReport()
    while subs := _unprepared(session, period, settings.digest_send_prepare_batch):
        sent = _sent_papers(session, [sub.id for sub in subs])
        follows = followed_by_email(session, [sub.email for sub in subs])
        picks = {
            sub.id: select_digest(
                session,
                subscription=sub,
                period=period,
                settings=settings,
                exclude=sent.get(sub.id, ()),
                context=context,
                followed=follows.get(sub.email.lower(), ()),
            )
            for sub in subs
        }
        picks = add_for_you(
            session, subs, picks, period=period, settings=settings, sent=sent, now=now, cache=cache
        )
        _insert_rows(session, settings, period, subs, picks, now, rest)
    return rest


def _unprepared(session: Session, period: Period, limit: int) -> list[Subscription]:
    has_row = exists().where(and_(T.c.subscription_id == Subscription.id, T.c.period == period.label))
    stmt = (
        select(Subscription)
        .where(Subscription.status == "active", Subscription.frequency == period.frequency, ~has_row)
        .order_by(Subscription.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _sent_papers(session: Session, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
    sent: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(P.c.subscription_id, P.c.paper_id).where(P.c.subscription_id.in_(subscription_ids))
    )
    for sub_id, paper_id in rows:
        sent[sub_id].add(paper_id)
    return sent


def _insert_rows(
    session: Session,
    settings: Settings,
    period: Period,
    subs: Sequence[Subscription],
    picks: Mapping[int, Sequence[Pick]],
    now: datetime,
    report: PrepareReport,
) -> None:
    rows = []
    for sub in subs:
        chosen = picks.get(sub.id) or ()
        rows.append(
            {
                "subscription_id": sub.id,
                "period": period.label,
                "frequency": period.frequency,
                "status": SendStatus.PREPARED if chosen else SendStatus.SKIPPED,
                "message_id": new_message_id(settings, period, sub.id),
                "paper_count": len(chosen),
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        if chosen:
            report.prepared += 1
        else:
            report.skipped += 1
    ids = session.execute(
        insert(T).returning(T.c.id, T.c.subscription_id, sort_by_parameter_order=True), rows
    ).all()
    paper_rows = []
    for send_id, sub_id in ids:
        for position, pick in enumerate(picks.get(sub_id) or ()):
            paper_rows.append(
                {
                    "subscription_id": sub_id,
                    "paper_id": pick.paper_id,
                    "send_id": send_id,
                    "position": position,
                    "reason": str(pick.reason),
                }
            )
    if paper_rows:
        session.execute(insert(P), paper_rows)
    report.papers += len(paper_rows)
