"""The send ledger: prepare (select + store), claim, record the outcome, and recover after a crash.

Every digest is one row per (subscription, period), created with its Message-ID and its papers in one
transaction. A row is claimed (`sending`, committed) just before SMTP and marked `sent` after the 250, so a
process that dies in between leaves `sending` rows: `recover()` turns those into `uncertain` (reported, never
resent). A paper appears in at most one digest per subscriber (primary key of digest_sent_papers).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Table, TextClause, and_, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import session_scope
from paperfeed.digests.ledger_models import CLAIMABLE_SQL, SendStatus
from paperfeed.digests.ledger_models import DIGEST_SENDS as T
from paperfeed.digests.ledger_models import DIGEST_SENT_PAPERS as P
from paperfeed.digests.models import Subscription
from paperfeed.digests.prepare import PrepareReport, new_message_id, prepare
from paperfeed.timeutil import as_utc

__all__ = [
    "Claim",
    "LedgerRow",
    "PrepareReport",
    "Result",
    "claim",
    "new_message_id",
    "prepare",
    "record",
    "recover",
]

log = logging.getLogger(__name__)

SUBS: Table = Subscription.__table__  # type: ignore[assignment]
_TS = DateTime(timezone=True)


def utcnow() -> datetime:
    """The current time, UTC, to the microsecond."""
    return datetime.now(UTC)


def _started(pid: int) -> str | None:
    """When process pid started (clock ticks since boot, from /proc), "" off Linux, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except FileNotFoundError:
        return None
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""


def worker_id() -> str:
    """host:pid:start-time of this process; the start time tells a live pid from a reused one."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{_started(os.getpid()) or ''}"


def _dead_here(claimed_by: str | None) -> bool:
    """True when claimed_by names a process of this host that no longer runs."""
    if not claimed_by:
        return True
    parts = claimed_by.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:80]:
        return False  # another host: only the stale timeout can tell
    try:
        started = _started(int(parts[1]))
    except ValueError:
        return False
    return started is None or (started != "" and started != parts[2])


@dataclass(frozen=True)
class Claim:
    """A row claimed for sending (already `sending` in the database)."""

    id: int
    subscription_id: int
    period: str
    frequency: str
    message_id: str
    attempts: int
    # Filled by settle() in the same transaction, so the sending thread needs no query of its own:
    subscription: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    picks: tuple[tuple[int, str], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Result:
    """What the sender learnt about one claimed row."""

    claim: Claim
    outcome: str  # sent | retry | bounce | uncertain | skipped
    reply: str = ""


@dataclass
class LedgerRow:
    """A ledger row as reported by `digest status` and recover()."""

    id: int
    subscription_id: int
    email: str
    period: str
    status: str
    message_id: str
    attempts: int
    claimed_by: str | None
    claimed_at: datetime | None
    last_error: str | None = None


def recover(
    factory: sessionmaker[Session], *, settings: Settings, now: datetime | None = None
) -> list[LedgerRow]:
    """Turn `sending` rows of dead processes (or stale ones) into `uncertain`; return them for the report."""
    now = now or utcnow()
    stale = now - timedelta(seconds=settings.digest_send_stale_after_s)
    found: list[LedgerRow] = []
    with session_scope(factory) as session:
        rows = session.execute(
            select(T.c.id, T.c.claimed_by, T.c.claimed_at).where(T.c.status == SendStatus.SENDING)
        ).all()
        ids = [
            r.id for r in rows if _dead_here(r.claimed_by) or (r.claimed_at and as_utc(r.claimed_at) < stale)
        ]
        if not ids:
            return []
        session.execute(
            update(T)
            .where(T.c.id.in_(ids), T.c.status == SendStatus.SENDING)
            .values(
                status=SendStatus.UNCERTAIN,
                last_error="the sending process stopped before the server's reply was recorded",
                updated_at=now,
            )
        )
        found = _rows(session, T.c.id.in_(ids))
    for row in found:
        log.warning(
            "digest %s for %s (%s) is uncertain: %s died while sending; not resent",
            row.message_id,
            row.email,
            row.period,
            row.claimed_by,
        )
    return found


def claim(
    factory: sessionmaker[Session],
    *,
    worker: str,
    limit: int,
    period: str | None = None,
    now: datetime | None = None,
) -> list[Claim]:
    """Atomically mark up to `limit` due rows `sending` for this worker and commit; return them."""
    with session_scope(factory) as session:
        return _claim_in(session, worker=worker, limit=limit, period=period, now=now or utcnow())


@functools.cache
def _claim_sql(dialect: str, with_period: bool) -> TextClause:
    """The claim statement, built once: this runs for every digest, so it skips SQL construction."""
    period = " AND period = :period" if with_period else ""
    sets = (
        "SET status = 'sending', claimed_by = :worker, claimed_at = :now, attempts = attempts + 1, "
        "updated_at = :now "
    )
    pick = f"SELECT id FROM digest_sends WHERE {CLAIMABLE_SQL} AND next_attempt_at <= :now{period} "  # noqa: S608
    if dialect == "postgresql":
        # Concurrent workers skip each other's locked rows instead of waiting on them. The picked ids are
        # MATERIALIZED first: as `WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL may
        # rerun the subquery once per outer row (a nested-loop semi join), each rerun skipping the rows the
        # statement already updated, so one claim took every due row (seen on the 94k-paper database: a
        # claim of 4 took 78; a crash then left all of them `uncertain`).
        sql = (
            f"WITH picked AS MATERIALIZED ({pick}ORDER BY next_attempt_at, id LIMIT :lim "
            "FOR UPDATE SKIP LOCKED) "
            f"UPDATE digest_sends {sets}FROM picked WHERE digest_sends.id = picked.id AND {CLAIMABLE_SQL} "
            "RETURNING digest_sends.id, subscription_id, period, frequency, message_id, attempts"
        )
    else:
        # SQLite has one writer at a time and evaluates the IN list once.
        sql = (
            f"UPDATE digest_sends {sets}WHERE id IN ({pick}ORDER BY next_attempt_at, id LIMIT :lim) "
            f"AND {CLAIMABLE_SQL} RETURNING id, subscription_id, period, frequency, message_id, attempts"
        )
    return text(sql).bindparams(bindparam("now", type_=_TS))


_SENT_SQL = text(
    "UPDATE digest_sends SET status = 'sent', sent_at = :now, last_error = NULL, smtp_reply = :reply, "
    "updated_at = :now WHERE id = :id AND claimed_by = :worker"
).bindparams(bindparam("now", type_=_TS))
_SUBS_BY_ID = select(SUBS).where(SUBS.c.id.in_(bindparam("ids", expanding=True)))
_PICKS_BY_SEND = (
    select(P.c.send_id, P.c.paper_id, P.c.reason)
    .where(P.c.send_id.in_(bindparam("ids", expanding=True)))
    .order_by(P.c.send_id, P.c.position)
)


def _claim_in(session: Session, *, worker: str, limit: int, period: str | None, now: datetime) -> list[Claim]:
    if limit <= 0:
        return []
    stmt = _claim_sql(session.get_bind().dialect.name, period is not None)
    params: dict[str, Any] = {"worker": worker, "now": now, "lim": limit}
    if period is not None:
        params["period"] = period
    claims = [Claim(*row) for row in session.execute(stmt, params)]
    claims.sort(key=lambda c: c.id)
    return claims


def backoff_s(settings: Settings, attempts: int, rng: random.Random | None = None) -> float:
    """Delay before the next try: base * 2^(attempts-1), capped, times a random factor in [0.5, 1]."""
    base = min(
        settings.digest_send_backoff_max_s, settings.digest_send_backoff_base_s * 2 ** max(0, attempts - 1)
    )
    return float(base * (0.5 + 0.5 * (rng or random).random()))


def record(
    factory: sessionmaker[Session],
    results: Iterable[Result],
    *,
    settings: Settings,
    worker: str,
    now: datetime | None = None,
) -> None:
    """Store the outcome of claimed rows in one transaction (bounces also count on the subscription)."""
    with session_scope(factory) as session:
        _record_in(session, results, settings=settings, worker=worker, now=now or utcnow())


def settle(
    factory: sessionmaker[Session],
    results: Iterable[Result],
    *,
    settings: Settings,
    worker: str,
    limit: int,
    period: str | None = None,
) -> list[Claim]:
    """record() these results and claim() up to `limit` more rows, in one transaction (one commit).

    The claims come with their subscription row and stored papers, read in the same transaction.
    """
    now = utcnow()
    with session_scope(factory) as session:
        _record_in(session, results, settings=settings, worker=worker, now=now)
        claims = _claim_in(session, worker=worker, limit=limit, period=period, now=now)
        if not claims:
            return []
        sub_ids = [c.subscription_id for c in claims]
        subs = {row.id: dict(row._mapping) for row in session.execute(_SUBS_BY_ID, {"ids": sub_ids})}
        picks: dict[int, list[tuple[int, str]]] = {c.id: [] for c in claims}
        for send_id, paper_id, reason in session.execute(_PICKS_BY_SEND, {"ids": list(picks)}):
            picks[send_id].append((paper_id, reason))
    return [
        dataclasses.replace(c, subscription=subs.get(c.subscription_id), picks=tuple(picks[c.id]))
        for c in claims
    ]


def _record_in(
    session: Session, results: Iterable[Result], *, settings: Settings, worker: str, now: datetime
) -> None:
    results = list(results)
    sent = [
        {"id": r.claim.id, "worker": worker, "now": now, "reply": r.reply or None}
        for r in results
        if r.outcome == "sent"
    ]
    if sent:  # the common case, in one executemany
        session.execute(_SENT_SQL, sent)
    for res in results:
        if res.outcome == "sent":
            continue
        c = res.claim
        mine = and_(T.c.id == c.id, T.c.claimed_by == worker)
        values: dict[str, Any] = {"updated_at": now, "smtp_reply": res.reply or None}
        release = False
        if res.outcome == "sent":
            values.update(status=SendStatus.SENT, sent_at=now, last_error=None)
        elif res.outcome == "retry" and c.attempts < settings.digest_send_max_attempts:
            values.update(
                status=SendStatus.RETRY,
                last_error=res.reply,
                next_attempt_at=now + timedelta(seconds=backoff_s(settings, c.attempts)),
            )
        elif res.outcome == "retry":
            values.update(status=SendStatus.FAILED, last_error=res.reply)
            release = True
        elif res.outcome == "bounce":
            values.update(status=SendStatus.BOUNCED, last_error=res.reply)
            release = True
            _count_bounce(session, c.subscription_id, settings, now)
        elif res.outcome == "uncertain":
            values.update(status=SendStatus.UNCERTAIN, last_error=res.reply)
        else:
            values.update(status=SendStatus.SKIPPED, last_error=res.reply or None)
            release = True
        session.execute(update(T).where(mine).values(**values))
        if release:
            # Not delivered: these papers may still go in this reader's next digest.
            session.execute(delete(P).where(P.c.send_id == c.id))


def _count_bounce(session: Session, subscription_id: int, settings: Settings, now: datetime) -> None:
    count = session.execute(
        update(SUBS)
        .where(SUBS.c.id == subscription_id)
        .values(bounce_count=SUBS.c.bounce_count + 1, updated_at=now)
        .returning(SUBS.c.bounce_count)
    ).scalar_one_or_none()
    if count is not None and count >= settings.digest_send_bounce_threshold:
        session.execute(
            update(SUBS)
            .where(SUBS.c.id == subscription_id, SUBS.c.status == "active")
            .values(status="bounced", updated_at=now)
        )
        log.warning("subscription %s marked bounced after %s bounces", subscription_id, count)


def next_due(factory: sessionmaker[Session], *, period: str | None = None) -> datetime | None:
    """When the earliest claimable row becomes due (None: nothing left to send)."""
    with factory() as session:
        stmt = select(func.min(T.c.next_attempt_at)).where(T.c.status.in_(SendStatus.CLAIMABLE))
        if period is not None:
            stmt = stmt.where(T.c.period == period)
        value = session.execute(stmt).scalar_one_or_none()
    return as_utc(value) if value is not None else None


def counts(factory: sessionmaker[Session], *, period: str | None = None) -> dict[str, int]:
    """Rows per status (for one period, or all)."""
    with factory() as session:
        stmt = select(T.c.status, func.count()).group_by(T.c.status)
        if period is not None:
            stmt = stmt.where(T.c.period == period)
        return {status: n for status, n in session.execute(stmt)}


def rows_with_status(
    factory: sessionmaker[Session], status: str, *, period: str | None = None, limit: int = 1000
) -> list[LedgerRow]:
    """Ledger rows in one status (e.g. uncertain), oldest first."""
    with factory() as session:
        cond = T.c.status == status
        if period is not None:
            cond = and_(cond, T.c.period == period)
        return _rows(session, cond, limit=limit)


def _rows(session: Session, cond: Any, *, limit: int = 10_000) -> list[LedgerRow]:
    stmt = (
        select(
            T.c.id,
            T.c.subscription_id,
            SUBS.c.email,
            T.c.period,
            T.c.status,
            T.c.message_id,
            T.c.attempts,
            T.c.claimed_by,
            T.c.claimed_at,
            T.c.last_error,
        )
        .join(SUBS, SUBS.c.id == T.c.subscription_id)
        .where(cond)
        .order_by(T.c.id)
        .limit(limit)
    )
    return [LedgerRow(**row._asdict()) for row in session.execute(stmt)]


def stored_picks(session: Session, send_id: int) -> list[tuple[int, str]]:
    """The (paper id, reason) of one ledger row, in digest order."""
    stmt = select(P.c.paper_id, P.c.reason).where(P.c.send_id == send_id).order_by(P.c.position)
    return [(pid, reason) for pid, reason in session.execute(stmt)]
