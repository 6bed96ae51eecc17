"""Readiness: can this node serve? Database reachable, schema current, indexes and queues keeping up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.migrate import head_revision
from paperfeed.db.models import Paper
from paperfeed.digests.ledger_models import DigestSend, SendStatus
from paperfeed.search.keyword_store import SyncState, current_generation
from paperfeed.search.vector_store import count_pending
from paperfeed.timeutil import as_utc


@dataclass
class Readiness:
    """The verdict and what it rests on: `checks` is shown as is by /readyz and `paperfeed status`."""

    ready: bool = True
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        """Mark not ready, saying why."""
        self.ready = False
        self.reasons.append(reason)


def _index_lag(session: Session, keyword_root: Path) -> tuple[bool, float | None]:
    """(index exists, seconds between the newest paper change and the keyword index's sync cursor)."""
    gen = current_generation(keyword_root)
    if gen is None:
        return False, None
    state = SyncState.load(gen)
    newest = session.scalar(select(func.max(Paper.updated_at)))
    if newest is None or state is None or state.cursor is None:
        return True, 0.0 if newest is None else None
    cursor = datetime.fromisoformat(state.cursor)
    return True, max(0.0, (as_utc(newest) - as_utc(cursor)).total_seconds())


def readiness(
    factory: sessionmaker[Session],
    *,
    keyword_root: Path,
    now: datetime,
    max_index_lag_s: float,
    max_embed_backlog: int,
    require_index: bool,
) -> Readiness:
    """Check the database, the schema revision, the keyword index lag, the embed backlog and due digests."""
    out = Readiness()
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
            current = MigrationContext.configure(session.connection()).get_current_revision()
            head = head_revision()
            out.checks["database"] = "ok"
            out.checks["migrations"] = {"current": current, "head": head}
            if current != head:
                out.fail(f"database schema at {current}, code expects {head}: run `paperfeed db upgrade`")
            papers = int(session.scalar(select(func.count()).select_from(Paper)) or 0)
            exists, lag = _index_lag(session, keyword_root)
            out.checks["papers"] = papers
            out.checks["keyword_index"] = {"built": exists, "lag_s": lag}
            if require_index and papers and not exists:
                out.fail("keyword index not built yet")
            elif require_index and lag is not None and lag > max_index_lag_s:
                out.fail(f"keyword index {lag:.0f} s behind the database (limit {max_index_lag_s:.0f} s)")
            backlog = count_pending(session)
            out.checks["embed_backlog"] = backlog
            if backlog > max_embed_backlog:
                out.fail(f"{backlog} papers wait for a vector (limit {max_embed_backlog})")
            due = session.scalar(
                select(func.count())
                .select_from(DigestSend)
                .where(DigestSend.status.in_(SendStatus.CLAIMABLE), DigestSend.next_attempt_at <= now)
            )
            out.checks["digests_due"] = int(due or 0)
    except SQLAlchemyError as exc:
        out.checks["database"] = "unreachable"
        # The driver's message names the host and reason; never the password (the URL is not in it).
        out.fail(f"database unreachable: {type(exc).__name__}")
    return out
