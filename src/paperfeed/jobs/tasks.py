"""The background tasks, registered on a huey instance: thin wrappers over the services.

`register_tasks(huey, settings)` adds them (nothing is registered at import time). Periodic ones follow the
crontab settings: ingest (`jobs_ingest_cron`, source `jobs_ingest_source`), rank (`jobs_rank_cron`) and
digests (`jobs_digest_cron`); an empty crontab disables that job. Each is idempotent, so a retry or two
workers running the same job cannot store or send anything twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from huey import Huey
from huey.api import TaskWrapper
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.jobs.queue import parse_cron

log = logging.getLogger(__name__)


@dataclass
class Tasks:
    """The registered tasks; call one (`tasks.digests()`) to enqueue it."""

    huey: Huey
    ingest: TaskWrapper
    rank: TaskWrapper
    digests: TaskWrapper
    send_period: TaskWrapper


class _Db:
    """One migrated session factory per process, built on first use (workers may be forked)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._factory: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> sessionmaker[Session]:
        with self._lock:
            if self._factory is None:
                from paperfeed.commands.common import ready

                self._factory = ready(self.settings)
            return self._factory


def ingest_items(settings: Settings) -> Iterable[Any]:
    """The records of the configured periodic source (`hf` or `rss:<category>`)."""
    from paperfeed.ingest.http import PoliteClient

    source = settings.jobs_ingest_source.strip()
    with PoliteClient.from_settings(settings) as client:
        if source == "hf":
            from paperfeed.ingest.hf_daily import hf_daily_url, parse_daily_papers

            return list(parse_daily_papers(client.get(hf_daily_url(settings.hf_api_url, None)).content))
        if source.startswith("rss:"):
            from paperfeed.ingest.rss import parse_arxiv_rss

            url = f"{settings.arxiv_rss_url.rstrip('/')}/{source[4:]}"
            return list(parse_arxiv_rss(client.get(url).content))
    raise ValueError(f"unknown jobs_ingest_source {source!r}: use hf or rss:<category>")


def register_tasks(huey: Huey, settings: Settings) -> Tasks:
    """Register paperfeed's tasks (and the periodic schedule from settings) on huey."""
    db = _Db(settings)

    def ingest() -> dict[str, int]:
        from paperfeed.ingest.store import store_records

        report = store_records(db(), ingest_items(settings), batch_size=settings.ingest_batch_size)
        log.info(
            "periodic ingest: %d new, %d updated, %d rejected", report.new, report.updated, report.rejected
        )
        return {"new": report.new, "updated": report.updated, "rejected": report.rejected}

    def rank() -> int:
        from paperfeed.ranking.service import recompute

        return recompute(db(), settings=settings, now=datetime.now(UTC))

    def digests(day: str | None = None) -> dict[str, int]:
        from paperfeed.digests.schedule import run_digests

        when = date.fromisoformat(day) if day else datetime.now(UTC).date()
        # One digest run at a time per queue; the ledger would keep two safe, but one is less work.
        with huey.lock_task("paperfeed.digests"):
            run = run_digests(db(), settings=settings, day=when)
        return _send_counts(run.send)

    def send_period(period: str, frequency: str) -> dict[str, int]:
        from paperfeed.digests.periods import parse_period
        from paperfeed.digests.schedule import run_digests

        chosen = parse_period(period, frequency)
        with huey.lock_task("paperfeed.digests"):
            run = run_digests(db(), settings=settings, day=chosen.end, periods=[chosen])
        return _send_counts(run.send)

    tasks = Tasks(
        huey=huey,
        ingest=_add(huey, ingest, "paperfeed.ingest", settings.jobs_ingest_cron),
        rank=_add(huey, rank, "paperfeed.rank", settings.jobs_rank_cron),
        digests=_add(huey, digests, "paperfeed.digests", settings.jobs_digest_cron),
        send_period=huey.task(name="paperfeed.send_period")(send_period),
    )
    return tasks


def _add(huey: Huey, fn: Any, name: str, cron: str) -> TaskWrapper:
    """A periodic task when cron is set, else a plain task (still enqueue-able by hand)."""
    if cron.strip():
        wrapper: TaskWrapper = huey.periodic_task(parse_cron(cron), name=name)(fn)
    else:
        wrapper = huey.task(name=name)(fn)
    return wrapper


def _send_counts(report: Any) -> dict[str, int]:
    if report is None:
        return {}
    return {
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failed,
        "bounced": report.bounced,
        "uncertain": report.uncertain + len(report.recovered),
        "skipped": report.skipped,
    }
