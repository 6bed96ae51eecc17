"""The CLI end to end on a real SQLite file: ingest counts, re-runs, exit codes, db upgrade."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from paperfeed.cli import app
from paperfeed.commands.ingest import _Guard
from paperfeed.db.migrate import head_revision
from paperfeed.db.models import Paper, Submission
from paperfeed.ingest.hf_daily import HfPayloadError
from paperfeed.ingest.http import HttpError
from paperfeed.ingest.records import Item, Rejected
from polling import HANG_S
from replay import ReplayServer, Reply

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
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
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


# --- sources through the CLI: failures, files, and the live commands against the replay server ------


def flat(output: str) -> str:
    """The output on one line: rich wraps long messages at the terminal width."""
    return " ".join(output.split())


def scalar(db: Path, sql: str) -> Any:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        value = conn.scalar(text(sql))
    engine.dispose()
    return value


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ((DATA / "rss" / "arxiv_cs_ai_2025-08-20.xml").read_bytes()[:700], "malformed XML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>',
            "DOCTYPE/ENTITY declarations are refused",
        ),
    ],
    ids=["cut-off", "entities"],
)
def test_ingest_rss_unreadable_file_exits_2_and_stores_nothing(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    db = tmp_path / "x.db"
    feed = tmp_path / "feed.xml"
    feed.write_bytes(payload)
    result = runner.invoke(app, ["ingest", "rss", "--file", str(feed), "--db", str(db)])
    assert result.exit_code == 2, result.output
    out = flat(result.output)
    assert f"rss: unreadable arXiv feed: {reason}" in out
    assert "Traceback" not in result.output
    assert papers_in(db) == 0


def test_ingest_hf_file_stores_papers_with_upvotes(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    fixture = DATA / "hf" / "daily_papers.json"
    upvotes = sorted(item["paper"]["upvotes"] for item in json.loads(fixture.read_bytes()))
    result = runner.invoke(app, ["ingest", "hf", "--file", str(fixture), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert papers_in(db) == 30
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        stored = sorted(conn.scalars(select(Paper.upvotes)))
        submitters = conn.scalar(
            select(func.count()).select_from(Submission).where(Submission.submitted_by.is_not(None))
        )
    engine.dispose()
    assert stored == upvotes and sum(stored) == 453
    assert submitters == 30


def test_ingest_jsonl_truncated_gzip_keeps_lines_before_the_cut(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    data = (DATA / "jsonl" / "sample.jsonl.gz").read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    # Lines wholly inside what survived the cut, counted without the code under test.
    before = zlib.decompressobj(wbits=31).decompress(cut.read_bytes()).count(b"\n")
    assert 5 < before < 49
    result = runner.invoke(app, ["ingest", "jsonl", str(cut), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert papers_in(db) == before
    assert f"truncated gzip after line {before}" in flat(result.output)


@pytest.fixture
def live_env(monkeypatch: pytest.MonkeyPatch, replay_server: ReplayServer) -> ReplayServer:
    """Point the arXiv endpoints at the replay server; no waiting, no retries."""
    monkeypatch.setenv("PAPERFEED_ARXIV_API_URL", f"{replay_server.url}/api/query")
    monkeypatch.setenv("PAPERFEED_ARXIV_OAI_URL", f"{replay_server.url}/oai")
    monkeypatch.setenv("PAPERFEED_ARXIV_MIN_INTERVAL_S", "0.01")
    monkeypatch.setenv("PAPERFEED_HTTP_MAX_RETRIES", "0")
    return replay_server


def test_ingest_arxiv_query_against_the_replay_server(tmp_path: Path, live_env: ReplayServer) -> None:
    db = tmp_path / "x.db"
    live_env.load_arxiv_recording(next((DATA / "arxiv_api").glob("recorded_q_testing_s0_m10_*.json")))
    args = ["ingest", "arxiv", "--query", "testing", "--max-results", "10", "--db", str(db)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert papers_in(db) == 10
    assert scalar(db, "SELECT count(DISTINCT arxiv_id) FROM papers WHERE source = 'arxiv_api'") == 10
    (request,) = live_env.requests
    assert (request.param("search_query"), request.param("start"), request.param("max_results")) == (
        "testing",
        "0",
        "10",
    )
    assert live_env.unmatched == []
    assert scalar(db, "SELECT count(*) FROM harvest_cursors") == 0  # a finished harvest leaves no cursor
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "│   0 │       0 │        10 │        0 │" in again.output


def test_ingest_arxiv_ids_against_the_replay_server(tmp_path: Path, live_env: ReplayServer) -> None:
    db = tmp_path / "x.db"
    live_env.load_arxiv_recording(next((DATA / "arxiv_api").glob("recorded_id_0808.05394_1707.08567_*.json")))
    args = ["ingest", "arxiv", "--id", "0808.05394", "--id", "1707.08567", "--db", str(db)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # arXiv knows only one of the two ids; the request asked for both, in order.
    assert scalar(db, "SELECT group_concat(arxiv_id) FROM papers") == "1707.08567"
    assert [r.param("id_list") for r in live_env.requests] == ["0808.05394,1707.08567"]


def test_ingest_arxiv_server_failure_exits_2(tmp_path: Path, live_env: ReplayServer) -> None:
    db = tmp_path / "x.db"
    live_env.add("/api/query", Reply(503, body=b"down for maintenance"))
    result = runner.invoke(app, ["ingest", "arxiv", "--query", "testing", "--db", str(db)])
    assert result.exit_code == 2, result.output
    out = flat(result.output)
    assert "arxiv: GET" in out and "last status 503" in out
    assert "Traceback" not in result.output
    assert papers_in(db) == 0


def _serve_oai_pages(server: ReplayServer, *, page2: Reply | None = None) -> None:
    pages = DATA / "oai_pmh"
    first = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2017-12-14", "set": "physics:hep-ex"}
    server.add("/oai", Reply(200, body=(pages / "paged_page1.xml").read_bytes()), query=first)
    replies = {
        "6105391|1001": page2 or Reply(200, body=(pages / "paged_page2.xml").read_bytes()),
        "6105391|2001": Reply(200, body=(pages / "paged_page3.xml").read_bytes()),
    }
    for token, reply in replies.items():
        server.add("/oai", reply, query={"verb": "ListRecords", "resumptionToken": token})


OAI_ARGS = ["ingest", "oai", "--from", "2017-12-14", "--set", "physics:hep-ex"]


def test_ingest_oai_against_the_replay_server(tmp_path: Path, live_env: ReplayServer) -> None:
    db = tmp_path / "x.db"
    _serve_oai_pages(live_env)
    result = runner.invoke(app, [*OAI_ARGS, "--db", str(db)])
    assert result.exit_code == 0, result.output
    # Three pages: 3 + 3 records (and one deleted record, skipped) + 2.
    assert papers_in(db) == 8
    assert scalar(db, "SELECT count(*) FROM papers WHERE source = 'oai' AND version IS NULL") == 8
    assert [r.param("resumptionToken") for r in live_env.requests] == [None, "6105391|1001", "6105391|2001"]
    assert scalar(db, "SELECT count(*) FROM harvest_cursors") == 0


def test_ingest_oai_failure_keeps_earlier_pages_and_resumes(tmp_path: Path, live_env: ReplayServer) -> None:
    db = tmp_path / "x.db"
    _serve_oai_pages(live_env, page2=Reply(503, body=b"busy"))
    result = runner.invoke(app, [*OAI_ARGS, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "oai: GET" in flat(result.output)
    assert papers_in(db) == 3  # page 1 was stored before page 2 failed
    assert scalar(db, "SELECT cursor FROM harvest_cursors") == "6105391|1001"
    # The server recovers: the next run resumes at page 2 and finishes.
    _serve_oai_pages(live_env)
    resumed = runner.invoke(app, [*OAI_ARGS, "--db", str(db)])
    assert resumed.exit_code == 0, resumed.output
    assert papers_in(db) == 8
    assert live_env.requests[-2].param("resumptionToken") == "6105391|1001"


def test_guard_catches_source_failures_but_not_bugs() -> None:
    def failing(exc: Exception) -> Callable[[], Iterator[Item]]:
        def items() -> Iterator[Item]:
            yield Rejected("x", "r", "first item is kept")
            raise exc

        return items

    guard = _Guard(failing(HfPayloadError("hf", "invalid JSON")), "hf")
    assert len(list(guard)) == 1
    assert guard.message() == "hf: bad Hugging Face daily_papers payload: invalid JSON"
    guard = _Guard(failing(HttpError("http://127.0.0.1:9/x", "ConnectError")), "arxiv")
    assert len(list(guard)) == 1
    assert (guard.message() or "").startswith("arxiv: GET http://127.0.0.1:9/x failed")
    # A plain ValueError is a bug in our code, not a bad payload: it must not be hidden as one.
    with pytest.raises(ValueError, match="bug"):
        list(_Guard(failing(ValueError("bug")), "hf"))


def test_served_links_follow_the_port_unless_base_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.cli import served_settings
    from paperfeed.config import Settings

    monkeypatch.delenv("PAPERFEED_BASE_URL", raising=False)
    assert served_settings(Settings(port=8765)).base_url == "http://127.0.0.1:8765"
    assert served_settings(Settings(host="0.0.0.0", port=9000)).base_url == "http://127.0.0.1:9000"
    monkeypatch.setenv("PAPERFEED_BASE_URL", "https://papers.example.org")
    assert served_settings(Settings(port=8765)).base_url == "https://papers.example.org"


def test_ingest_hf_by_date_from_the_replay_server(
    tmp_path: Path, live_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live Hugging Face path: a 429 with Retry-After is waited out, then the day is stored."""
    db = tmp_path / "x.db"
    monkeypatch.setenv("PAPERFEED_HF_API_URL", f"{live_env.url}/api/daily_papers")
    monkeypatch.setenv("PAPERFEED_HTTP_MAX_RETRIES", "1")
    body = (DATA / "hf" / "daily_papers.json").read_bytes()
    live_env.add(
        "/api/daily_papers",
        [Reply(429, headers={"Retry-After": "0"}, body=b"slow down"), Reply(200, body=body)],
        query={"date": "2026-06-12"},
    )
    result = runner.invoke(app, ["ingest", "hf", "--date", "2026-06-12", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert papers_in(db) == 30
    assert [r.param("date") for r in live_env.requests] == ["2026-06-12", "2026-06-12"]
    assert all(r.headers.get("User-Agent", "").startswith("paperfeed/") for r in live_env.requests)


def test_ingest_rss_category_from_the_replay_server(
    tmp_path: Path, live_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setenv("PAPERFEED_ARXIV_RSS_URL", f"{live_env.url}/rss")
    live_env.add("/rss/cs.AI", Reply(200, body=(DATA / "rss" / "arxiv_cs_ai_2025-08-20.xml").read_bytes()))
    result = runner.invoke(app, ["ingest", "rss", "--category", "cs.AI", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert papers_in(db) == 7
    assert [r.path for r in live_env.requests] == ["/rss/cs.AI"]


def test_serve_migrates_and_answers_on_its_port(tmp_path: Path) -> None:
    """`paperfeed serve` as a real process: a fresh database file is migrated and the pages answer."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = tmp_path / "served.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + HANG_S  # a bound against a hang: a loaded machine starts slowly
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/daily_papers") as resp:
                    assert resp.status == 200
                    assert resp.read() == b"[]"  # an empty, migrated database
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert scalar(db, "SELECT version_num FROM alembic_version") == head_revision()
    finally:
        proc.terminate()
        proc.wait(timeout=HANG_S)


def test_python_dash_m_runs_the_same_command_line() -> None:
    # `python -m paperfeed` must work where the console script is not on PATH (a bare venv, a container).
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", "ingest", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for command in ("jsonl", "hf", "rss", "arxiv", "oai"):
        assert command in done.stdout


def test_ingest_jsonl_rejects_a_line_over_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "x.db"
    dump = tmp_path / "dump.jsonl.gz"
    good = (DATA / "jsonl" / "sample.jsonl").read_bytes().splitlines()[:2]
    huge = b'{"id": "2503.99999", "title": "' + b"A" * 200_000 + b'"}'
    with gzip.open(dump, "wb") as fh:
        fh.write(b"\n".join([good[0], huge, good[1]]) + b"\n")
    monkeypatch.setenv("PAPERFEED_JSONL_MAX_LINE_BYTES", "4096")
    result = runner.invoke(app, ["ingest", "jsonl", str(dump), "--db", str(db)])
    assert result.exit_code == 1, result.output  # some records rejected, the rest stored
    assert papers_in(db) == 2
    flat = " ".join(result.output.split())
    assert "line 2 (2503.99999)" in flat and "longer than 4096 bytes" in flat
