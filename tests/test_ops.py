"""Operations: /healthz, /readyz (503 with reasons), and `paperfeed db backup` / `db restore` round trips."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from paperfeed.accounts.users import create_user
from paperfeed.app import create_app
from paperfeed.cli import app as cli
from paperfeed.community.votes import set_vote
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import downgrade, upgrade
from paperfeed.db.models import Paper
from paperfeed.digests import ledger
from paperfeed.digests.periods import Period
from paperfeed.ops.backup import BackupError, backup, restore
from sendkit import DAY1, add_papers, add_subscribers

RUNNER = CliRunner()


def test_healthz_and_readyz_on_a_current_database(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    with TestClient(create_app(db_settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready" and body["database"] == "ok"
        assert body["migrations"]["current"] == body["migrations"]["head"]
        assert ready.headers["cache-control"] == "no-store"


def test_readyz_names_a_schema_behind_the_code(settings: Settings) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    downgrade(engine, "0011")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert any("paperfeed db upgrade" in r for r in answer.json()["reasons"])


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # A PostgreSQL URL on a port nobody listens on: the check fails fast with a reason, not a 500.
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none", data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["database"] == "unreachable"
    assert "nobody" not in answer.text or "database unreachable" in answer.text


def test_readyz_reports_a_missing_index_where_the_node_keeps_one(settings: Settings) -> None:
    factory = make_sessionmaker(make_engine(settings))
    upgrade(factory.kw["bind"])
    add_papers(factory, DAY1, 2)
    keeping = settings.model_copy(update={"search_maintainer": True, "search_embed_in_background": False})
    app = create_app(keeping)
    # No lifespan (no maintainer thread): the index stays unbuilt, which is what readiness must see.
    answer = TestClient(app).get("/readyz")
    assert answer.status_code == 503
    assert "keyword index not built yet" in answer.json()["reasons"]


def _fill(factory: sessionmaker[Session], settings: Settings) -> None:
    add_papers(factory, DAY1, 6)
    with factory() as session, session.begin():
        user = create_user(
            session, settings, email="v@example.org", username="voter", password="long-password-1"
        )
        uid = user.id
        pid = session.scalars(select(Paper.id).order_by(Paper.id)).first()
    assert pid is not None
    set_vote(factory, user_id=uid, paper_id=pid, voted=True)
    add_subscribers(factory, ["a@example.org", "b@example.org"])
    assert ledger.prepare(factory, settings=settings, period=Period.day(DAY1)).prepared == 2


def _state(url: str) -> tuple[list[tuple[str, str]], list[tuple[int, int]], list[tuple[str, str, str]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            papers = [
                tuple(r) for r in conn.execute(text("SELECT arxiv_id, title FROM papers ORDER BY arxiv_id"))
            ]
            votes = [
                tuple(r) for r in conn.execute(text("SELECT user_id, paper_id FROM votes ORDER BY 1, 2"))
            ]
            sends = [
                tuple(r)
                for r in conn.execute(text("SELECT period, status, message_id FROM digest_sends ORDER BY 3"))
            ]
    finally:
        engine.dispose()
    return papers, votes, sends  # type: ignore[return-value]


@pytest.fixture
def empty_target(db_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A URL of a second, empty database of the same kind."""
    if db_settings.is_sqlite:
        yield f"sqlite:///{tmp_path / 'restored' / 'paperfeed.db'}"
        return
    admin = create_engine(
        db_settings.database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    name = f"pf_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield db_settings.database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_then_restore_into_a_new_folder_keeps_papers_votes_ledger_and_search(
    session_factory: sessionmaker[Session],
    db_settings: Settings,
    empty_target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fill(session_factory, db_settings)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path / "old"))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "secret.key").write_text("the-old-key")
    out = RUNNER.invoke(cli, ["db", "backup", str(tmp_path / "bk"), "--db", db_settings.database_url])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "bk").iterdir())[-1] == "secret.key"

    new_dir = tmp_path / "restored"
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(new_dir))
    out = RUNNER.invoke(cli, ["db", "restore", str(tmp_path / "bk"), "--db", empty_target])
    assert out.exit_code == 0, out.output
    assert _state(empty_target) == _state(db_settings.database_url)
    assert (new_dir / "secret.key").read_text() == "the-old-key"  # mailed links still verify
    found = RUNNER.invoke(
        cli, ["search", "Paper 3 about retrieval", "--mode", "keyword", "--db", empty_target]
    )
    assert found.exit_code == 0, found.output
    assert "2611.00003" in found.output  # the index rebuilt from the restored rows finds the paper
    # A second restore into the now-filled database is refused: a restore never overwrites data.
    again = RUNNER.invoke(cli, ["db", "restore", str(tmp_path / "bk"), "--db", empty_target])
    assert again.exit_code != 0
    assert "empty" in str(again.exception) or "empty" in again.output


def test_sqlite_backup_is_consistent_while_writes_go_on(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    add_papers(factory, DAY1, 3)
    stop = threading.Event()

    def write() -> None:
        n = 100
        while not stop.is_set():
            add_papers(factory, DAY1, 5, start=n)
            n += 5

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for i in range(3):
            backup(
                settings.database_url,
                tmp_path / f"b{i}",
                secret_path=None,
                revision=None,
                now=datetime.now(UTC),
            )
    finally:
        stop.set()
        writer.join()
    for i in range(3):
        conn = sqlite3.connect(tmp_path / f"b{i}" / "paperfeed.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Every paper row came with its categories: the copy is one transaction's view, not a torn one.
        orphans = conn.execute(
            "SELECT count(*) FROM papers p WHERE NOT EXISTS"
            " (SELECT 1 FROM paper_categories c WHERE c.paper_id = p.id)"
        ).fetchone()
        assert orphans == (0,)
        conn.close()
    engine.dispose()


def test_backup_refuses_a_non_empty_folder_and_restore_a_foreign_kind(
    settings: Settings, tmp_path: Path
) -> None:
    upgrade(make_engine(settings))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(Exception, match="not empty"):
        backup(
            settings.database_url, tmp_path / "full", secret_path=None, revision=None, now=datetime.now(UTC)
        )
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    with pytest.raises(BackupError, match="not a paperfeed backup"):
        restore(tmp_path / "full", settings.database_url, secret_path=None)
    backup(settings.database_url, tmp_path / "ok", secret_path=None, revision=None, now=datetime.now(UTC))
    with pytest.raises(BackupError, match="the backup is of sqlite"):
        restore(tmp_path / "ok", "postgresql+psycopg://x@127.0.0.1:9/none", secret_path=None)
