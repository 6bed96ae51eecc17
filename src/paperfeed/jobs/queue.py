"""The huey instance for Settings (SQLite file under data_dir, or Redis), and a consumer to run its tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from paperfeed.config import Settings

log = logging.getLogger(__name__)


def make_huey(settings: Settings, *, name: str = "paperfeed") -> Huey:
    """RedisHuey when settings.redis_url is set, else SqliteHuey in data_dir/jobs.db (no tasks registered)."""
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url, utc=True)
    path = Path(settings.data_dir) / "jobs.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), utc=True)


class CronError(ValueError):
    """A crontab setting that is not five fields."""


def parse_cron(text: str) -> Callable[[datetime], bool]:
    """'minute hour day month weekday' (UTC, weekday 0 = Sunday) as a huey crontab test."""
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"crontab {text!r}: expected 5 fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    try:
        test: Callable[[datetime], bool] = crontab(
            minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, strict=True
        )
    except ValueError as exc:
        raise CronError(f"crontab {text!r}: {exc}") from None
    return test


class ThreadConsumer(Consumer):  # type: ignore[misc]
    """A huey consumer that runs beside a web server: worker threads, no signal handlers of its own."""

    def _set_signal_handlers(self) -> None:
        # Signal handlers can only be set from the main thread, and uvicorn owns them there.
        pass


def start_consumer(huey: Huey, *, workers: int) -> ThreadConsumer:
    """Start a consumer's scheduler and worker threads in this process; stop it with .stop(graceful=True)."""
    # A graceful stop waits for running tasks, at most 30 s: a digest run resumes from its ledger anyway.
    consumer = ThreadConsumer(huey, workers=workers, worker_type="thread", periodic=True, shutdown_timeout=30)
    consumer.start()
    return consumer


def start_in_process(settings: Settings) -> ThreadConsumer | None:
    """The job consumer inside `paperfeed serve` when settings.jobs_in_process is on (else None)."""
    if not settings.jobs_in_process:
        return None
    from paperfeed.jobs.tasks import register_tasks

    huey = make_huey(settings)
    register_tasks(huey, settings)
    log.info("job consumer running in-process (%d worker threads)", settings.jobs_workers)
    return start_consumer(huey, workers=settings.jobs_workers)
