"""The CLI end to end on a real SQLite file: ingest counts, re-runs, exit codes, db upgrade."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from paperfeed.cli import app
from paperfeed.db.models import Paper, Submission

DATA = Path(__file__).parent / "data"

runner = CliRunner()


def papers_in(db: Path) -> int:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Paper))
    engine.dispose()
    return int(n or 0)


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    result = runner.invoke(app, ["db", "upgrade", "--db", str(db)])
    assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"


def test_ingest_jsonl_counts_and_rerun(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sample = DATA / "jsonl" / "sample.jsonl.gz"
    with gzip.open(sample, "rt") as fh:
        lines = fh.read().splitlines()
    first = runner.invoke(app, ["ingest", "jsonl", str(sample), "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert papers_in(db) == len(lines)
    again = runner.invoke(app, ["ingest", "jsonl", str(sample), "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert papers_in(db) == len(lines)
    # The counts table: nothing new or updated, everything unchanged.
    assert f"│   0 │       0 │ {len(lines):>9} │        0 │" in again.output


def test_ingest_reports_rejected_and_keeps_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    bad = tmp_path / "bad.jsonl"
    good = json.loads((DATA / "jsonl" / "sample.jsonl").read_text().splitlines()[0])
    bad.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                json.dumps({**good, "id": "abc"}),
                json.dumps({**good, "id": "2501.99999", "title": None}),
            ]
        )
        + "\n"
    )
    result = runner.invoke(app, ["ingest", "jsonl", str(bad), "--db", str(db)])
    assert result.exit_code == 1  # rejected records make the exit code non-zero
    assert papers_in(db) == 1
    assert "bad.jsonl" in result.output and "line 2" in result.output


def test_demo_loads_real_papers_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    n = papers_in(db)
    assert n > 3000  # the recent arXiv papers + the 56 seed-page papers + 30 HF daily papers
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        seed = conn.scalar(select(func.count()).select_from(Paper).where(Paper.source == "seed"))
        hf_subs = conn.scalar(
            select(func.count()).select_from(Submission).where(Submission.submitted_by.is_not(None))
        )
    engine.dispose()
    assert seed == 56
    assert hf_subs == 30
    second = runner.invoke(app, ["demo", "--db", str(db), "--no-serve"])
    assert second.exit_code == 0
    assert "already filled" in " ".join(second.output.split())
    assert papers_in(db) == n
