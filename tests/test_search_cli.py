"""`paperfeed search`, `paperfeed reindex`, the keyword sync after `paperfeed ingest`, and the server's
background maintainer picking up papers stored by another process."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

import searchkit as sk
from paperfeed.app import create_app
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.jsonl import parse_jsonl_object
from paperfeed.ingest.store import store_records
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import current_generation
from polling import wait_until

runner = CliRunner()
SAMPLE = Path(__file__).parent / "data" / "jsonl" / "sample.jsonl"


def test_ingest_updates_the_index_beside_the_database_and_search_prints_a_table(tmp_path: Path) -> None:
    db = tmp_path / "var" / "papers.db"
    db.parent.mkdir()
    result = runner.invoke(app, ["ingest", "jsonl", str(SAMPLE), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "search index: 49 papers indexed" in result.output
    root = db.parent / "papers.index" / "keyword"  # next to the database, not in the working directory
    assert current_generation(root) is not None

    result = runner.invoke(
        app, ["search", "Gaussian splatting sensor simulation", "--db", str(db), "--mode", "keyword"]
    )
    assert result.exit_code == 0, result.output
    assert "2503.11731" in result.output and "keyword" in result.output
    assert "Industrial-Grade Sensor" in result.output

    result = runner.invoke(app, ["search", "astro-ph/9906432v1", "--db", str(db)])
    assert result.exit_code == 0 and "astro-ph/9906432" in result.output and "id" in result.output

    # A re-run changes nothing, so nothing is re-indexed.
    result = runner.invoke(app, ["ingest", "jsonl", str(SAMPLE), "--db", str(db)])
    assert "search index: 0 papers indexed" in result.output


def test_two_databases_in_one_folder_keep_their_own_indexes(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("\n".join(lines[:30]) + "\n")
    second.write_text("\n".join(lines[30:]) + "\n")
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    root_a = keyword_dir(Settings(database_url=f"sqlite:///{a}"))
    assert runner.invoke(app, ["ingest", "jsonl", str(first), "--db", str(a)]).exit_code == 0
    gen_a = current_generation(root_a)
    assert gen_a is not None
    state_a = (gen_a / "state.json").read_text()
    result = runner.invoke(app, ["ingest", "jsonl", str(second), "--db", str(b)])
    assert result.exit_code == 0 and "search index: 19 papers indexed" in result.output
    # b.db's ingest built b's own index and left a's alone: same generation, same sync state.
    assert current_generation(root_a) == gen_a
    assert (gen_a / "state.json").read_text() == state_a
    assert current_generation(tmp_path / "b.index" / "keyword") is not None
    # Each database finds its own papers only.
    query = ["search", "Gaussian splatting sensor simulation", "--mode", "keyword", "--db"]
    assert "2503.11731" in runner.invoke(app, [*query, str(a)]).output
    assert "2503.11731" not in runner.invoke(app, [*query, str(b)]).output
    assert root_a == tmp_path / "a.index" / "keyword"


def test_search_rejects_bad_options_with_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    runner.invoke(app, ["ingest", "jsonl", str(SAMPLE), "--db", str(db)])
    for args in (["--mode", "fuzzy"], ["--from", "2026-02-30"], ["--window", "year"], ["--limit", "0"]):
        result = runner.invoke(app, ["search", "galaxy", "--db", str(db), *args])
        assert result.exit_code == 2, (args, result.output)


def test_reindex_rebuilds_with_a_progress_bar(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    runner.invoke(app, ["ingest", "jsonl", str(SAMPLE), "--db", str(db)])
    before = current_generation(tmp_path / "p.index" / "keyword")
    result = runner.invoke(app, ["reindex", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "keyword index: 49 papers" in result.output and "49/49" in result.output
    assert "vector index: 0 vectors" in result.output
    after = current_generation(tmp_path / "p.index" / "keyword")
    assert after is not None and after != before


def test_the_server_keeps_its_index_in_sync(settings: Settings) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    objs = sk.sample_objects()
    store_records(factory, [parse_jsonl_object(o) for o in objs[:-1]])
    live = settings.model_copy(
        update={"search_maintainer": True, "search_poll_s": 0.2, "search_embed_in_background": False}
    )
    newcomer = objs[-1]
    with TestClient(create_app(live)) as client:

        def top_title(q: str) -> object:
            hits = client.get("/api/papers/search", params={"q": q, "mode": "keyword", "limit": 1}).json()
            return hits[0]["title"] if hits else None

        wait_until(lambda: top_title("Gaussian splatting"), "the maintainer never built the index")
        title = str(newcomer["title"])
        assert top_title(title) != title
        # Another process (an ingest) stores a paper: the server finds it by itself soon after.
        store_records(factory, [parse_jsonl_object(newcomer)])
        wait_until(lambda: top_title(title) == title, "the maintainer never indexed the new paper")
    engine.dispose()
