"""The background tasks, registered on a huey instance: the pipeline's jobs, each locked and recorded.

`register_tasks(huey, settings)` adds them (nothing is registered at import time). Periodic ones follow the
crontab settings: harvest (`jobs_ingest_cron`, sources `jobs_harvest_sources`), embed (`jobs_embed_cron`),
index (`jobs_index_cron`), stars (`jobs_stars_cron`), rank (`jobs_rank_cron`) and digests
(`jobs_digest_cron`); an empty crontab disables that job. Each job holds a huey lock while it runs, so two
workers (or two triggers) never run it at once: the second one skips. Each is idempotent and resumes from
its cursors, so a killed run loses at most its batch in flight. Every run is a row in job_runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from huey import Huey
from huey.api import TaskWrapper
from huey.exceptions import TaskLockedException
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.jobs.pipeline import Pipeline, send_counts
from paperfeed.jobs.queue import parse_cron
from paperfeed.jobs.runs import run_recorded

log = logging.getLogger(__name__)

SKIPPED = {"skipped": 1}  # what a job returns when another worker holds its lock


@dataclass
class Tasks:
    """The registered tasks; call one (`tasks.digests()`) to enqueue it, `.call_local(now=...)` to run it."""

    huey: Huey
    pipeline: Pipeline
    harvest: TaskWrapper
    embed: TaskWrapper
    index: TaskWrapper
    stars: TaskWrapper
    rank: TaskWrapper
    digests: TaskWrapper
    send_period: TaskWrapper

    @property
    def ingest(self) -> TaskWrapper:
        """The harvest task under its former name."""
        return self.harvest

    def by_name(self) -> dict[str, TaskWrapper]:
        """Job name -> task, in pipeline order."""
        return {
            "harvest": self.harvest,
            "embed": self.embed,
            "index": self.index,
            "stars": self.stars,
            "rank": self.rank,
            "digests": self.digests,
        }


def _factory_builder(settings: Settings) -> Callable[[], sessionmaker[Session]]:
    def build() -> sessionmaker[Session]:
        from paperfeed.commands.common import ready

        return ready(settings)

    return build


def locked_run(
    huey: Huey, pipeline: Pipeline, job: str, body: Callable[[datetime], dict[str, Any]], now: str | None
) -> dict[str, Any]:
    """Run one job under its huey lock, recorded in job_runs; {"skipped": 1} when it runs elsewhere."""
    fixed = datetime.fromisoformat(now) if now else None

    def clock() -> datetime:
        return fixed or datetime.now(UTC)

    try:
        with huey.lock_task(f"paperfeed.{job}"):
            return run_recorded(pipeline.factory, job, lambda: body(clock()), clock=clock)
    except TaskLockedException:
        log.info("job %s is running in another worker: skipped", job)
        return dict(SKIPPED)


def register_tasks(huey: Huey, settings: Settings, *, pipeline: Pipeline | None = None) -> Tasks:
    """Register paperfeed's tasks (and the periodic schedule from settings) on huey."""
    pipe = pipeline or Pipeline(settings, _factory_builder(settings))

    def job(name: str, body: Callable[[datetime], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def run(now: str | None = None) -> dict[str, Any]:
            return locked_run(huey, pipe, name, body, now)

        run.__name__ = name
        return run

    def digests(day: str | None = None, now: str | None = None) -> dict[str, Any]:
        if day is None:
            return locked_run(huey, pipe, "digests", pipe.digests, now)
        return locked_run(huey, pipe, "digests", lambda _now: pipe.digests(_at(day)), now)

    def send_period(period: str, frequency: str) -> dict[str, int]:
        from paperfeed.digests.periods import parse_period
        from paperfeed.digests.schedule import run_digests

        chosen = parse_period(period, frequency)
        # One digest run at a time per queue; the ledger would keep two safe, but one is less work.
        with huey.lock_task("paperfeed.digests"):
            run = run_digests(pipe.factory, settings=settings, day=chosen.end, periods=[chosen])
        return send_counts(run.send)

    harvest_sources_checked(settings)
    return Tasks(
        huey=huey,
        pipeline=pipe,
        harvest=_add(huey, job("harvest", pipe.harvest), "paperfeed.harvest", settings.jobs_ingest_cron),
        embed=_add(huey, job("embed", pipe.embed), "paperfeed.embed", settings.jobs_embed_cron),
        index=_add(huey, job("index", pipe.index), "paperfeed.index", settings.jobs_index_cron),
        stars=_add(huey, job("stars", pipe.stars), "paperfeed.stars", settings.jobs_stars_cron),
        rank=_add(huey, job("rank", pipe.rank), "paperfeed.rank", settings.jobs_rank_cron),
        digests=_add(huey, digests, "paperfeed.digests", settings.jobs_digest_cron),
        send_period=huey.task(name="paperfeed.send_period")(send_period),
    )


def harvest_sources_checked(settings: Settings) -> None:
    """Refuse unknown harvest sources when the worker starts, not at the first harvest (if one is due)."""
    from paperfeed.jobs.pipeline import harvest_sources

    if settings.jobs_ingest_cron.strip():
        harvest_sources(settings)


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)


def _add(huey: Huey, fn: Any, name: str, cron: str) -> TaskWrapper:
    """A periodic task when cron is set, else a plain task (still enqueue-able by hand)."""
    if cron.strip():
        wrapper: TaskWrapper = huey.periodic_task(parse_cron(cron), name=name)(fn)
    else:
        wrapper = huey.task(name=name)(fn)
    return wrapper
