"""Jobs on huey for real: SQLite storage in data_dir, a real redis-server, a consumer, `paperfeed worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from huey import RedisHuey, SqliteHuey
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.jobs.queue import CronError, make_huey, parse_cron, start_consumer
from paperfeed.jobs.tasks import register_tasks
from paperfeed.mailsink import SmtpSink
from polling import HANG_S
from replay import UA, ReplayServer, Reply
from sendkit import DAY1, add_papers, add_subscribers, by_recipient, ledger_rows, sink_settings

NO_CRON = {
    "jobs_ingest_cron": "",
    "jobs_embed_cron": "",
    "jobs_index_cron": "",
    "jobs_stars_cron": "",
    "jobs_rank_cron": "",
    "jobs_digest_cron": "",
}


def _redis_url() -> str:
    url = os.environ.get("PAPERFEED_TEST_REDIS_URL")
    if not url:
        pytest.fail(
            "PAPERFEED_TEST_REDIS_URL is not set: run the tests with `make test` (it starts redis-server)",
            pytrace=False,
        )
    return url


@pytest.fixture
def filled(settings: Settings, smtp_sink: SmtpSink) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """A SQLite database with papers listed on DAY1 and three subscribers; settings send to the sink."""
    s = sink_settings(settings, smtp_sink, **NO_CRON)
    engine = make_engine(s)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    add_papers(factory, DAY1, 4)
    add_subscribers(factory, ["a@example.org", "b@example.org", "c@example.org"])
    yield s, factory
    engine.dispose()


def test_the_queue_follows_the_settings(settings: Settings) -> None:
    local = make_huey(settings)
    assert isinstance(local, SqliteHuey)
    assert local.storage.filename == str(settings.data_dir / "jobs.db")
    remote = make_huey(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    assert isinstance(remote, RedisHuey)  # nothing connects until a task is enqueued


def test_crontab_settings() -> None:
    test = parse_cron("*/10 22-23 * * 1-5")
    assert test(datetime(2026, 11, 27, 22, 10)) and test(datetime(2026, 11, 27, 23, 50))
    assert not test(datetime(2026, 11, 27, 22, 15)) and not test(datetime(2026, 11, 28, 22, 10))  # Saturday
    for bad in ("* * *", "61 * * * *", "x * * * *"):
        with pytest.raises(CronError):
            parse_cron(bad)


def test_periodic_tasks_come_from_the_settings(settings: Settings) -> None:
    s = settings.model_copy(
        update={**NO_CRON, "jobs_ingest_cron": "0 21 * * *", "jobs_digest_cron": "*/10 22-23 * * *"}
    )
    huey = make_huey(s)
    register_tasks(huey, s)
    due = {t.name for t in huey.read_periodic(datetime(2026, 11, 27, 21, 0))}
    assert due == {"paperfeed.harvest"}
    due = {t.name for t in huey.read_periodic(datetime(2026, 11, 27, 22, 20))}
    assert due == {"paperfeed.digests"}  # the default digest window: every 10 minutes, 22:00-23:59 UTC
    assert {t.name for t in huey.read_periodic(datetime(2026, 11, 27, 21, 5))} == set()


def _send_through(huey_settings: Settings, factory: sessionmaker[Session], sink: SmtpSink, name: str) -> None:
    """Enqueue a digest send, run a consumer in a background thread, and see the mail arrive."""
    huey = make_huey(huey_settings, name=name)
    tasks = register_tasks(huey, huey_settings)
    result = tasks.send_period(DAY1.isoformat(), "daily")
    assert len(sink.messages) == 0  # enqueued, not run
    holder: list[object] = []
    starter = threading.Thread(target=lambda: holder.append(start_consumer(huey, workers=1)))
    starter.start()  # off the main thread, as inside `paperfeed serve`
    starter.join()
    consumer = holder[0]
    try:
        counts = result.get(blocking=True, timeout=HANG_S)
    finally:
        consumer.stop(graceful=True)  # type: ignore[attr-defined]
    assert counts == {"sent": 3, "retried": 0, "failed": 0, "bounced": 0, "uncertain": 0, "skipped": 0}
    assert sorted(by_recipient(sink.messages)) == ["a@example.org", "b@example.org", "c@example.org"]
    assert {r.status for r in ledger_rows(factory)} == {"sent"}


def test_sqlite_queue_runs_a_task_in_a_consumer(
    filled: tuple[Settings, sessionmaker[Session]], smtp_sink: SmtpSink
) -> None:
    s, factory = filled
    _send_through(s, factory, smtp_sink, "paperfeed")
    assert (Path(s.data_dir) / "jobs.db").exists()


def test_redis_queue_runs_a_task_in_a_consumer(
    filled: tuple[Settings, sessionmaker[Session]], smtp_sink: SmtpSink
) -> None:
    s, factory = filled
    s = s.model_copy(update={"redis_url": _redis_url()})
    name = f"paperfeed-test-{uuid.uuid4().hex[:8]}"  # its own keys on the shared server
    try:
        _send_through(s, factory, smtp_sink, name)
    finally:
        make_huey(s, name=name).storage.flush_all()


def test_paperfeed_worker_consumes_enqueued_tasks(
    filled: tuple[Settings, sessionmaker[Session]], smtp_sink: SmtpSink
) -> None:
    s, _factory = filled
    env = dict(os.environ)
    env.update(
        PAPERFEED_DATA_DIR=str(s.data_dir),
        PAPERFEED_SMTP_PORT=str(smtp_sink.port),
        PAPERFEED_SECRET_KEY=s.secret_key,
        **{f"PAPERFEED_{k.upper()}": "" for k in NO_CRON},
    )
    cmd = [sys.executable, "-m", "paperfeed.cli", "worker", "--db", s.database_url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        tasks = register_tasks(make_huey(s), s)
        result = tasks.send_period(DAY1.isoformat(), "daily")
        counts = result.get(blocking=True, timeout=HANG_S)
        assert counts is not None and counts["sent"] == 3
        assert len(smtp_sink.messages) == 3
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    text = out.decode(errors="replace")
    assert "paperfeed.send_period" in text
    assert proc.returncode == 0, text


def test_serve_runs_the_consumer_in_process_when_asked(
    filled: tuple[Settings, sessionmaker[Session]], smtp_sink: SmtpSink
) -> None:
    from fastapi.testclient import TestClient

    from paperfeed.app import create_app

    s, _factory = filled
    s = s.model_copy(update={"jobs_in_process": True, "jobs_workers": 1})
    with TestClient(create_app(s)) as client:  # the lifespan starts the consumer thread
        assert client.get("/").status_code == 200
        result = register_tasks(make_huey(s), s).send_period(DAY1.isoformat(), "daily")
        counts = result.get(blocking=True, timeout=HANG_S)
    assert counts is not None and counts["sent"] == 3
    assert len(smtp_sink.messages) == 3
    assert not any(t.name.startswith("digest-send") for t in threading.enumerate())


def test_periodic_ingest_and_rank_tasks_call_their_services(
    settings: Settings, replay_server: ReplayServer
) -> None:
    body = (Path(__file__).parent / "data" / "hf" / "daily_papers.json").read_bytes()
    replay_server.add("/api/daily_papers", Reply(200, body=body))
    s = settings.model_copy(
        update={**NO_CRON, "hf_api_url": f"{replay_server.url}/api/daily_papers", "user_agent": UA}
    )
    tasks = register_tasks(make_huey(s), s)
    assert tasks.ingest.call_local() == {"new": 30, "updated": 0, "rejected": 0}
    assert tasks.ingest.call_local() == {"new": 0, "updated": 0, "rejected": 0}  # idempotent
    assert tasks.rank.call_local()["scores"] > 0  # trending scores written for the stored papers
    bad = s.model_copy(update={"jobs_ingest_source": "ftp"})
    with pytest.raises(ValueError, match="jobs_ingest_source"):
        register_tasks(make_huey(bad, name="other"), bad).ingest.call_local()
