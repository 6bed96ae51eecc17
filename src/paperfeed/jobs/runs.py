"""The job_runs ledger: start a run, finish it ok or failed, read each job's latest runs."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.jobs.models import JobRun
from paperfeed.timeutil import as_utc

__all__ = ["LastRuns", "finish_run", "lag_s", "last_runs", "run_recorded", "start_run"]

MESSAGE_MAX = 2000  # a traceback's last line is what helps; a whole payload in an error is cut


def _host() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def start_run(factory: sessionmaker[Session], job: str, now: datetime) -> int:
    """Insert a `running` row (committed at once, so a killed run stays visible); returns its id."""
    with factory() as session, session.begin():
        row = JobRun(job=job, started_at=now, result="running", message="", counts={}, host=_host())
        session.add(row)
        session.flush()
        return row.id


def finish_run(
    factory: sessionmaker[Session],
    run_id: int,
    *,
    now: datetime,
    started: datetime,
    ok: bool,
    message: str = "",
    counts: dict[str, Any] | None = None,
) -> None:
    """Mark the run ok or failed, with its duration, message and counts."""
    with factory() as session, session.begin():
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                finished_at=now,
                duration_s=max(0.0, (now - started).total_seconds()),
                result="ok" if ok else "failed",
                message=message[-MESSAGE_MAX:],
                counts=counts or {},
            )
        )


def run_recorded(
    factory: sessionmaker[Session],
    job: str,
    body: Callable[[], dict[str, Any]],
    *,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    """Run body() as one recorded run of `job`; its exception is recorded, then raised again."""
    started = clock()
    t0 = time.monotonic()
    run_id = start_run(factory, job, started)

    def finished() -> datetime:
        # The duration is measured, not read off `clock`: a test's fake clock stands still during a run.
        return started + timedelta(seconds=time.monotonic() - t0)

    try:
        counts = body()
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        finish_run(factory, run_id, now=finished(), started=started, ok=False, message=message)
        raise
    finish_run(factory, run_id, now=finished(), started=started, ok=True, counts=counts)
    return counts


@dataclass(frozen=True)
class LastRuns:
    """A job's newest run (whatever its result) and its newest successful one."""

    last: JobRun | None
    last_ok: JobRun | None


def last_runs(session: Session, jobs: list[str]) -> dict[str, LastRuns]:
    """For each job: its newest run and newest `ok` run (None when it never ran)."""
    out: dict[str, LastRuns] = {}
    newest = (
        select(JobRun.job, func.max(JobRun.id).label("rid"))
        .where(JobRun.job.in_(jobs))
        .group_by(JobRun.job)
        .subquery()
    )
    newest_ok = (
        select(JobRun.job, func.max(JobRun.id).label("rid"))
        .where(JobRun.job.in_(jobs), JobRun.result == "ok")
        .group_by(JobRun.job)
        .subquery()
    )
    last = {r.job: r for r in session.scalars(select(JobRun).join(newest, newest.c.rid == JobRun.id))}
    ok = {r.job: r for r in session.scalars(select(JobRun).join(newest_ok, newest_ok.c.rid == JobRun.id))}
    for job in jobs:
        out[job] = LastRuns(last.get(job), ok.get(job))
    return out


def lag_s(run: JobRun | None, now: datetime) -> float | None:
    """Seconds since a run finished (None: no such run)."""
    if run is None or run.finished_at is None:
        return None
    return max(0.0, (as_utc(now) - as_utc(run.finished_at)).total_seconds())
