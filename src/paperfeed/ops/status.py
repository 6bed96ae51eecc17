"""The pipeline's state: each job's last run, result and lag, and the backlogs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.digests.ledger_models import DigestSend, SendStatus
from paperfeed.jobs.pipeline import JOBS
from paperfeed.jobs.runs import lag_s, last_runs
from paperfeed.ops.health import _index_lag
from paperfeed.search.vector_store import count_pending
from paperfeed.timeutil import as_utc

__all__ = ["pipeline_status", "pipeline_status_or_none"]

UNSENT = (*SendStatus.CLAIMABLE, SendStatus.SENDING)


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value is not None else None


def pipeline_status(session: Session, now: datetime, *, keyword_root: Path | None = None) -> dict[str, Any]:
    """Each job's last run (when, duration, result, message, counts) and lag (seconds since its last
    success, None if it never succeeded), and the backlogs: papers without a current vector, digests not
    sent yet, and (given the index folder) the keyword index's lag behind the database."""
    jobs: dict[str, Any] = {}
    for job, runs in last_runs(session, list(JOBS)).items():
        last = runs.last
        jobs[job] = {
            "last_run": _iso(last.started_at) if last else None,
            "duration_s": round(last.duration_s, 3) if last and last.duration_s is not None else None,
            "result": last.result if last else None,
            "message": last.message if last else "",
            "counts": dict(last.counts or {}) if last else {},
            "lag_s": lag_s(runs.last_ok, now),
        }
    unsent = session.scalar(select(func.count()).select_from(DigestSend).where(DigestSend.status.in_(UNSENT)))
    backlog: dict[str, Any] = {"embed": count_pending(session), "digests_unsent": int(unsent or 0)}
    if keyword_root is not None:
        _built, backlog["index_lag_s"] = _index_lag(session, keyword_root)
    return {"jobs": jobs, "backlog": backlog}


def pipeline_status_or_none(
    factory: sessionmaker[Session], now: datetime, *, keyword_root: Path | None = None
) -> dict[str, Any] | None:
    """pipeline_status in a session of its own; None when the database cannot say (down, schema behind)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with factory() as session:
            return pipeline_status(session, now, keyword_root=keyword_root)
    except SQLAlchemyError:
        return None
