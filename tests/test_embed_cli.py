"""`paperfeed embed` (resumable backfill), execution providers, who embeds (embed_in), `paperfeed status`."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from paperfeed.app import create_app
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.jobs.runs import run_recorded
from paperfeed.search.embeddings import EmbedProviderError, OnnxEmbedder, check_providers, parse_providers
from paperfeed.search.maintainer import Maintainer, embeds_here
from paperfeed.search.models import PaperVector
from paperfeed.search.service import SearchService
from paperfeed.search.vector_store import count_pending
from polling import wait_until
from sendkit import DAY1, add_papers

RUNNER = CliRunner()
SMALL = ["--threads", "1", "--batch-size", "8", "--commit-batch", "8"]
ENV = {"PAPERFEED_EMBED_MODEL": "shipped", "PAPERFEED_EMBED_MAX_TOKENS": "48"}


@pytest.fixture
def filled(settings: Settings) -> tuple[Path, sessionmaker[Session]]:
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    add_papers(factory, DAY1, 24)
    return db, factory


def _vectors(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(PaperVector)) or 0)


def test_embed_backfills_in_committed_batches_and_a_rerun_continues(
    filled: tuple[Path, sessionmaker[Session]],
) -> None:
    db, factory = filled
    first = RUNNER.invoke(app, ["embed", "--db", str(db), *SMALL, "--limit", "16"], env=ENV)
    assert first.exit_code == 0, first.output
    assert "embedded 16 papers" in first.output and "papers/s" in first.output
    assert _vectors(factory) == 16  # what an interrupted run left: whole committed batches
    rest = RUNNER.invoke(app, ["embed", "--db", str(db), *SMALL], env=ENV)
    assert rest.exit_code == 0, rest.output
    assert "embedded 8 papers" in rest.output
    with factory() as s:
        assert count_pending(s) == 0
    again = RUNNER.invoke(app, ["embed", "--db", str(db)], env=ENV)
    assert "every paper has a current vector" in again.output


def test_an_unavailable_provider_is_refused_naming_the_available_ones(
    filled: tuple[Path, sessionmaker[Session]],
) -> None:
    db, factory = filled
    assert parse_providers("") == ("CPUExecutionProvider",)
    assert parse_providers("CUDAExecutionProvider, CPUExecutionProvider") == (
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    )
    assert check_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(EmbedProviderError, match=r"available here: .*CPUExecutionProvider"):
        check_providers(["NoSuchExecutionProvider"])
    env = {**ENV, "PAPERFEED_EMBED_PROVIDERS": "NoSuchExecutionProvider,CPUExecutionProvider"}
    result = RUNNER.invoke(app, ["embed", "--db", str(db), *SMALL], env=env)
    assert result.exit_code == 2
    assert (
        "NoSuchExecutionProvider not available" in result.output and "CPUExecutionProvider" in result.output
    )
    assert _vectors(factory) == 0


def test_the_batch_session_is_released_and_made_again() -> None:
    embedder = OnnxEmbedder(max_tokens=48, batch_size=2, threads=2)
    texts = [f"paper {i} about graph retrieval" for i in range(6)]
    before = embedder.embed(texts)  # several batches: the one-thread batch session is made
    assert embedder._parallel is not None
    embedder.release_batch_session()
    assert embedder._parallel is None
    assert embedder.embed(texts[:1]).shape == (1, 384)  # a query still runs on the main session
    assert embedder._parallel is None
    again = embedder.embed(texts)
    assert (again * before).sum(axis=1).min() > 0.9999


def test_web_nodes_do_not_embed_when_the_worker_does(
    settings: Settings, filled: tuple[Path, sessionmaker[Session]]
) -> None:
    _db, factory = filled
    assert embeds_here(settings)  # the demo's default: serve embeds
    worker_embeds = settings.model_copy(update={"embed_in": "worker", "search_poll_s": 0.05})
    assert not embeds_here(worker_embeds)
    embedder = OnnxEmbedder(max_tokens=48, batch_size=8, threads=1)
    from paperfeed.search.vectors import VectorIndex

    service = SearchService(
        settings=worker_embeds,
        session_factory=factory,
        embedder=embedder,
        vector_index=VectorIndex.from_settings(worker_embeds, 384),
    )
    maintainer = Maintainer(worker_embeds, factory, service)
    maintainer.start()
    try:
        wait_until(lambda: maintainer.rounds >= 3, what="three maintainer rounds")
    finally:
        maintainer.stop()
    assert maintainer.last_error is None
    assert _vectors(factory) == 0  # the worker's job, not this node's
    assert embedder._session is None  # the model was never even loaded


def test_status_prints_each_job_and_the_backlogs_and_readyz_carries_them(
    settings: Settings, filled: tuple[Path, sessionmaker[Session]]
) -> None:
    from datetime import UTC, datetime

    db, factory = filled
    run_recorded(factory, "rank", lambda: {"scores": 12}, clock=lambda: datetime.now(UTC))
    with pytest.raises(RuntimeError):
        run_recorded(factory, "stars", _boom, clock=lambda: datetime.now(UTC))
    result = RUNNER.invoke(app, ["status", "--db", str(db)], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "ok" in lines["rank"] and "scores 12" in lines["rank"]
    assert "failed" in lines["stars"] and "RuntimeError:" in lines["stars"]  # the message, wrapped
    assert "unreachable" in result.output
    assert "never" in lines["harvest"]
    assert "backlog: 24 papers without a vector, 0 digests unsent" in result.output
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
    assert body["status"] == "ready"  # a failed job is shown, never a reason for 503
    assert body["jobs"]["jobs"]["stars"]["result"] == "failed"
    assert body["jobs"]["jobs"]["rank"]["counts"] == {"scores": 12}
    assert body["jobs"]["backlog"] == {"embed": 24, "digests_unsent": 0}


def _boom() -> dict[str, int]:
    raise RuntimeError("GitHub unreachable")
