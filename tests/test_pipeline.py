"""The worker pipeline: a day of its schedule on the replay server, its locks, and resuming after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.digests.ledger_models import DigestSend
from paperfeed.jobs.models import JobRun
from paperfeed.jobs.pipeline import Pipeline, harvest_sources
from paperfeed.jobs.queue import make_huey
from paperfeed.jobs.tasks import SKIPPED, locked_run, register_tasks
from paperfeed.mailsink import SmtpSink
from paperfeed.ops.status import pipeline_status
from paperfeed.ranking.models import StarSnapshot
from paperfeed.ranking.stars import repo_of
from paperfeed.search.embeddings import OnnxEmbedder
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import count_pending
from paperfeed.search.vectors import VectorIndex
from polling import HANG_S, wait_until
from replay import UA, ReplayServer, Reply
from sendkit import add_papers, add_subscribers, sink_settings

DATA = Path(__file__).parent / "data"
HF_DAY = date(2026, 6, 12)  # the recorded daily papers were listed on this Friday
GH_HEADERS = {"Content-Type": "application/json; charset=utf-8", "X-RateLimit-Remaining": "4999"}


def _oai(server: ReplayServer, from_day: str, stamp: str = "2026-06-11") -> None:
    """The three recorded OAI-PMH pages of set cs, from `from_day`, chained by their resumption tokens;
    their datestamps (2017 and 2015 in the recording) moved to `stamp`, as a harvest from from_day sees."""
    page = {
        n: (DATA / "oai_pmh" / f"paged_page{n}.xml")
        .read_bytes()
        .replace(b"<datestamp>2017-12-14<", f"<datestamp>{stamp}<".encode())
        .replace(b"<datestamp>2015-01-03<", f"<datestamp>{stamp}<".encode())
        for n in (1, 2, 3)
    }
    first = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": from_day, "set": "cs"}
    server.add("/oai", Reply(200, body=page[1]), query=first)
    server.add(
        "/oai", Reply(200, body=page[2]), query={"verb": "ListRecords", "resumptionToken": "6105391|1001"}
    )
    server.add(
        "/oai", Reply(200, body=page[3]), query={"verb": "ListRecords", "resumptionToken": "6105391|2001"}
    )


def _github(server: ReplayServer) -> int:
    """Every repository the recorded daily papers link, answering with a star count; how many."""
    papers = json.loads((DATA / "hf" / "daily_papers.json").read_text(encoding="utf-8"))
    repos = {repo_of(p["paper"]["githubRepo"]) for p in papers if p["paper"].get("githubRepo")}
    for i, repo in enumerate(sorted(r for r in repos if r)):
        body = json.dumps({"full_name": repo, "stargazers_count": 10 + i}).encode()
        server.add(f"/repos/{repo}", Reply(200, {**GH_HEADERS, "ETag": f'"e{i}"'}, body))
    return len(repos)


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder(max_tokens=48, batch_size=8, threads=1)


@pytest.fixture
def day_settings(settings: Settings, replay_server: ReplayServer, smtp_sink: SmtpSink) -> Settings:
    url = replay_server.url
    return sink_settings(
        settings,
        smtp_sink,
        user_agent=UA,
        arxiv_oai_url=f"{url}/oai",
        hf_api_url=f"{url}/api/daily_papers",
        github_api_url=url,
        github_token="test-token",
        arxiv_min_interval_s=0.0,
        github_min_interval_s=0.0,
        http_backoff_base_s=0.01,
        jobs_harvest_sources="oai:cs hf",
        jobs_oai_initial_days=3,
        embed_commit_batch=8,
    )


@pytest.fixture
def factory(day_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(day_settings)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _runs(factory: sessionmaker[Session]) -> list[JobRun]:
    with factory() as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_day_of_the_worker_schedule_harvests_embeds_indexes_stars_ranks_and_mails(
    day_settings: Settings,
    factory: sessionmaker[Session],
    replay_server: ReplayServer,
    smtp_sink: SmtpSink,
    embedder: OnnxEmbedder,
) -> None:
    _oai(replay_server, (HF_DAY - timedelta(days=3)).isoformat())
    replay_server.add("/api/daily_papers", Reply(200, body=(DATA / "hf" / "daily_papers.json").read_bytes()))
    repos = _github(replay_server)
    add_subscribers(factory, ["reader@example.org"], max_papers=5)
    huey = make_huey(day_settings)
    tasks = register_tasks(huey, day_settings, pipeline=Pipeline(day_settings, factory, embedder=embedder))
    by_name = {task.name: task for task in tasks.by_name().values()}
    # The default schedule, every 10 minutes of the day, the due jobs in registration (pipeline) order.
    start = datetime(HF_DAY.year, HF_DAY.month, HF_DAY.day)
    for step in range(24 * 6):
        at = start + timedelta(minutes=10 * step)
        for due in huey.read_periodic(at):
            by_name[due.name].call_local(now=at.replace(tzinfo=UTC).isoformat())

    runs = [r for r in _runs(factory) if r.result != "skipped"]
    assert {r.result for r in runs} == {"ok"}, [(r.job, r.message) for r in runs if r.result != "ok"]

    def first_with(job: str, key: str) -> JobRun:
        return next(r for r in runs if r.job == job and r.counts.get(key))

    harvest = first_with("harvest", "new")
    assert harvest.counts == {"new": 38, "updated": 0, "rejected": 0}  # 8 OAI records (a 9th deleted), 30 HF
    assert harvest.started_at.hour == 21  # jobs_ingest_cron's default
    embed = first_with("embed", "embedded")
    index = first_with("index", "indexed")
    stars = first_with("stars", "fetched")
    digests = first_with("digests", "sent")
    rank_after_stars = next(r for r in runs if r.job == "rank" and r.id > stars.id)
    order = [harvest, embed, index, stars, rank_after_stars, digests]
    assert [r.id for r in order] == sorted(r.id for r in order)
    assert [r.job for r in order] == ["harvest", "embed", "index", "stars", "rank", "digests"]
    assert embed.counts == {"embedded": 38, "backlog": 0}
    assert index.counts["indexed"] == 38 and index.counts["vectors"] == 38
    assert stars.counts["fetched"] == repos and rank_after_stars.counts["scores"] > 0
    assert digests.counts["sent"] == 1 and len(smtp_sink.messages) == 1

    with factory() as s:
        assert s.scalar(select(func.count()).select_from(StarSnapshot)) == repos
        assert count_pending(s) == 0
        status = pipeline_status(s, start.replace(tzinfo=UTC) + timedelta(days=1))
    assert status["backlog"] == {"embed": 0, "digests_unsent": 0}
    assert set(status["jobs"]) == {"harvest", "embed", "index", "stars", "rank", "digests"}
    assert status["jobs"]["harvest"]["result"] == "ok"
    assert status["jobs"]["harvest"]["lag_s"] == pytest.approx(3 * 3600, abs=60)  # 21:00 -> midnight
    firsts = [r for r in replay_server.requests_to("/oai") if r.param("from")]
    assert [r.param("from") for r in firsts] == ["2026-06-09"]  # one harvest that day, 3 days back
    # The next day's harvest asks OAI-PMH only from the newest datestamp it saw (an unchanged re-read).
    _oai(replay_server, "2026-06-11")
    again = tasks.harvest.call_local(
        now=(start + timedelta(days=1, hours=21)).replace(tzinfo=UTC).isoformat()
    )
    assert again == {"new": 0, "updated": 0, "rejected": 0}
    assert [r.param("from") for r in replay_server.requests_to("/oai") if r.param("from")][-1] == "2026-06-11"
    index_path = VectorIndex.from_settings(day_settings, embedder.dim)
    assert sorted(int(i) for i in index_path.ids()) == sorted(_paper_ids(factory))


def _paper_ids(factory: sessionmaker[Session]) -> list[int]:
    with factory() as s:
        return list(s.scalars(select(Paper.id)))


def test_harvest_sources_keep_the_old_setting_as_an_alias(settings: Settings) -> None:
    assert harvest_sources(settings) == ["hf"]  # jobs_ingest_source's default
    s = settings.model_copy(update={"jobs_ingest_source": "rss:cs.AI"})
    assert harvest_sources(s) == ["rss:cs.AI"]
    s = s.model_copy(update={"jobs_harvest_sources": "oai:cs, hf rss:cs.LG"})
    assert harvest_sources(s) == ["oai:cs", "hf", "rss:cs.LG"]
    for bad in ("oai:", "ftp", "hf rss"):
        with pytest.raises(ValueError, match="unknown harvest source"):
            harvest_sources(s.model_copy(update={"jobs_harvest_sources": bad}))


def test_a_failed_source_is_recorded_and_the_others_still_store(
    day_settings: Settings, factory: sessionmaker[Session], replay_server: ReplayServer
) -> None:
    replay_server.add("/oai", Reply(500))
    replay_server.add("/api/daily_papers", Reply(200, body=(DATA / "hf" / "daily_papers.json").read_bytes()))
    s = day_settings.model_copy(update={"http_max_retries": 0})
    tasks = register_tasks(make_huey(s), s, pipeline=Pipeline(s, factory))
    with pytest.raises(RuntimeError, match="oai:cs"):
        tasks.harvest.call_local(now="2026-06-12T21:00:00+00:00")
    (run,) = _runs(factory)
    assert (run.job, run.result) == ("harvest", "failed")
    assert "oai:cs" in run.message and "'new': 30" in run.message
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Paper)) == 30


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_two_workers_never_run_one_job_at_once(
    storage: str, settings: Settings, factory: sessionmaker[Session]
) -> None:
    s = settings
    name = "paperfeed"
    if storage == "redis":
        url = os.environ.get("PAPERFEED_TEST_REDIS_URL")
        if not url:
            pytest.fail("PAPERFEED_TEST_REDIS_URL is not set: run the tests with `make test`", pytrace=False)
        s = settings.model_copy(update={"redis_url": url})
        name = f"paperfeed-lock-{os.getpid()}-{threading.get_ident()}"
    first, second = make_huey(s, name=name), make_huey(s, name=name)  # two workers of one queue
    pipe = Pipeline(s, factory)
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(now: datetime) -> dict[str, Any]:
        calls.append("ran")
        entered.set()
        assert release.wait(HANG_S)
        return {"done": 1}

    result: list[dict[str, Any]] = []
    worker_a = threading.Thread(target=lambda: result.append(locked_run(first, pipe, "rank", slow, None)))
    worker_a.start()
    try:
        assert entered.wait(HANG_S)
        assert locked_run(second, pipe, "rank", slow, None) == SKIPPED  # the lock is held: skipped
    finally:
        release.set()
        worker_a.join(HANG_S)
    assert result == [{"done": 1}] and calls == ["ran"]
    assert [(r.job, r.result) for r in _runs(factory)] == [("rank", "ok")]
    assert locked_run(second, pipe, "rank", lambda now: {"again": 1}, None) == {"again": 1}  # released
    if storage == "redis":
        first.storage.flush_all()


def _vectors(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(PaperVector)) or 0)


def _start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        PAPERFEED_DATA_DIR=str(s.data_dir),
        PAPERFEED_EMBED_MODEL="shipped",  # no graph build in the subprocess
        PAPERFEED_EMBED_MAX_TOKENS="48",
        PAPERFEED_EMBED_BATCH_SIZE="8",
        PAPERFEED_EMBED_THREADS="1",
        PAPERFEED_EMBED_COMMIT_BATCH="8",
        **{f"PAPERFEED_JOBS_{j}_CRON": "" for j in ("INGEST", "EMBED", "INDEX", "STARS", "RANK", "DIGEST")},
    )
    cmd = [sys.executable, "-m", "paperfeed.cli", "worker", "--db", s.database_url, "--workers", "1"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_a_worker_killed_mid_embed_resumes_without_duplicates(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    total = 600
    add_papers(factory, HF_DAY, total)
    log = tmp_path / "worker.log"
    tasks = register_tasks(make_huey(settings), settings)
    proc = _start_worker(settings, log)
    try:
        tasks.embed()  # enqueued; the worker picks it up
        wait_until(lambda: _vectors(factory) >= 16, what="the first committed batches")
        proc.send_signal(signal.SIGKILL)
        proc.wait(HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = _vectors(factory)
    assert 16 <= done_before < total, log.read_text()
    (killed,) = _runs(factory)
    assert (killed.job, killed.result, killed.finished_at) == ("embed", "running", None)

    proc = _start_worker(settings, log)  # clears the dead worker's lock, or the job would stay locked
    try:
        counts = tasks.embed().get(blocking=True, timeout=HANG_S * 4)
        assert counts == {"embedded": total - done_before, "backlog": 0}, log.read_text()
        assert tasks.index().get(blocking=True, timeout=HANG_S)["vectors"] == total
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(HANG_S)
        except subprocess.TimeoutExpired:
            proc.kill()
    with factory() as s:
        ids = list(s.scalars(select(PaperVector.paper_id)))
        assert len(ids) == len(set(ids)) == total  # every paper once, none twice
        assert count_pending(s) == 0
        assert s.scalar(select(func.count()).select_from(DigestSend)) == 0
    assert [(r.job, r.result) for r in _runs(factory)] == [
        ("embed", "running"),
        ("embed", "ok"),
        ("index", "ok"),
    ]
    index = VectorIndex.from_settings(settings, 384)
    assert len(index) == total and len(set(index.ids().tolist())) == total
    engine.dispose()
