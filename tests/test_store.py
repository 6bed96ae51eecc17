"""The idempotent upsert, on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Author, CodeLinkRow, Paper, PaperAuthor, PaperCategory, Submission
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.records import Checkpoint, CodeLink, PaperRecord, Rejected
from paperfeed.ingest.store import store_records

DATA = Path(__file__).parent / "data"


def rec(n: int, **kw: object) -> PaperRecord:
    base: dict[str, object] = {
        "title": f"Paper {n}",
        "abstract": f"Abstract {n}",
        "source": "test",
        "arxiv_id": f"2601.{n:05d}",
        "version": 1,
        "authors": [f"Author {n}", "Shared Author"],
        "categories": ["cs.LG", "cs.AI"],
        "listing_date": date(2026, 1, 5),
        "code_links": [CodeLink(f"https://github.com/o/r{n}", "github")],
    }
    base.update(kw)
    return PaperRecord(**base)  # type: ignore[arg-type]


def count(sf: sessionmaker[Session], model: type) -> int:
    with sf() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_insert_then_rerun_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    records = [rec(i) for i in range(25)]
    first = store_records(session_factory, records, batch_size=10)
    assert (first.new, first.updated, first.unchanged, first.rejected) == (25, 0, 0, 0)
    assert count(session_factory, Author) == 26  # 25 own + 1 shared, not duplicated
    assert count(session_factory, PaperAuthor) == 50
    assert count(session_factory, Submission) == 25
    with session_factory() as s:
        before = s.execute(text("SELECT id, content_hash, updated_at FROM papers ORDER BY id")).all()
    again = store_records(session_factory, [rec(i) for i in range(25)], batch_size=7)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 25)
    with session_factory() as s:
        after = s.execute(text("SELECT id, content_hash, updated_at FROM papers ORDER BY id")).all()
    assert before == after
    assert count(session_factory, PaperAuthor) == 50


def test_authors_keep_their_order(session_factory: sessionmaker[Session]) -> None:
    names = ["Zoë Zed", "Alice A", "Bob B", "Alice A"]  # a repeated name keeps both places
    store_records(session_factory, [rec(1, authors=names)])
    with session_factory() as s:
        paper = s.scalars(select(Paper)).one()
        assert paper.author_names == names
        assert paper.category_names == ["cs.LG", "cs.AI"]
        assert paper.primary_category == "cs.LG"


def test_newer_version_updates_older_is_ignored(session_factory: sessionmaker[Session]) -> None:
    store_records(session_factory, [rec(1, version=2, title="Second version")])
    older = store_records(session_factory, [rec(1, version=1, title="First version")])
    assert (older.updated, older.unchanged) == (0, 1)
    newer = store_records(
        session_factory, [rec(1, version=3, title="Third", authors=["New Person"], categories=["stat.ML"])]
    )
    assert newer.updated == 1
    with session_factory() as s:
        paper = s.scalars(select(Paper)).one()
        assert (paper.version, paper.title) == (3, "Third")
        assert paper.author_names == ["New Person"]
        assert paper.category_names == ["stat.ML"]
        assert paper.primary_category == "stat.ML"
    assert count(session_factory, Paper) == 1


def test_sparse_source_merges_without_blanking(session_factory: sessionmaker[Session]) -> None:
    store_records(session_factory, [rec(1, comment="10 pages")])
    hf = PaperRecord(
        title="Paper 1",
        abstract="Abstract 1",
        source="hf",
        arxiv_id="2601.00001",
        authors=["Author 1", "Shared Author"],
        upvotes=42,
        submitted_by="akhaliq",
        listing_date=date(2026, 1, 6),
        code_links=[CodeLink("https://github.com/o/r1", "github", "hf", stars=99)],
    )
    report = store_records(session_factory, [hf])
    assert report.updated == 1
    with session_factory() as s:
        paper = s.scalars(select(Paper)).one()
        assert paper.upvotes == 42
        assert paper.comment == "10 pages"  # not blanked by a source without comments
        assert paper.version == 1
        assert paper.category_names == ["cs.LG", "cs.AI"]
        link = s.scalars(select(CodeLinkRow)).one()
        assert link.stars == 99
        subs = s.execute(select(Submission.day, Submission.submitted_by).order_by(Submission.day)).all()
        assert subs == [(date(2026, 1, 5), None), (date(2026, 1, 6), "akhaliq")]


def test_rejected_records_are_counted_and_the_rest_stored(session_factory: sessionmaker[Session]) -> None:
    items = [
        rec(1),
        Rejected("jsonl", "line 2", "invalid JSON"),
        rec(3, title="   "),
        rec(4, version=0),
        rec(5),
    ]
    report = store_records(session_factory, items)
    assert (report.new, report.rejected) == (2, 3)
    assert any("line 2" in e and "invalid JSON" in e for e in report.errors)
    assert any("2601.00003" in e and "missing title" in e for e in report.errors)
    assert count(session_factory, Paper) == 2


def test_a_database_failure_rolls_back_only_the_bad_record(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """A trigger makes the author insert of one paper fail mid-batch: no half-written row survives."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON paper_authors WHEN NEW.author_id IN "
                    "(SELECT id FROM authors WHERE name = 'Boom') BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.author_id IN "
                    "(SELECT id FROM authors WHERE name = 'Boom') THEN RAISE EXCEPTION 'boom'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON paper_authors FOR EACH ROW EXECUTE FUNCTION boom()"
                )
            )
    report = store_records(session_factory, [rec(1), rec(2, authors=["Boom"]), rec(3)])
    assert (report.new, report.rejected) == (2, 1)
    assert "2601.00002" in report.errors[0] and "boom" in report.errors[0]
    with session_factory() as s:
        assert s.scalars(select(Paper.arxiv_id).order_by(Paper.arxiv_id)).all() == [
            "2601.00001",
            "2601.00003",
        ]
        # The failed paper left nothing behind: no paper, no categories, no links, no submission.
        assert s.scalar(select(func.count()).select_from(PaperCategory)) == 4
        assert s.scalar(select(func.count()).select_from(CodeLinkRow)) == 2
        assert s.scalar(select(func.count()).select_from(Submission)) == 2


def test_papers_without_arxiv_id_are_keyed_by_title(session_factory: sessionmaker[Session]) -> None:
    a = PaperRecord(title="A  Title\nWith Spaces", abstract="x", source="seed")
    b = PaperRecord(title="a title with spaces", abstract="x", source="seed")
    report = store_records(session_factory, [a])
    assert report.new == 1
    assert store_records(session_factory, [b]).new == 0  # same normalised title: same paper
    assert count(session_factory, Paper) == 1


def test_duplicates_within_a_batch_keep_the_newest(session_factory: sessionmaker[Session]) -> None:
    report = store_records(session_factory, [rec(1, version=2, title="v2"), rec(1, version=1, title="v1")])
    assert (report.new, report.unchanged) == (1, 1)
    with session_factory() as s:
        assert s.scalars(select(Paper.title)).one() == "v2"


def test_checkpoint_runs_only_after_the_records_before_it_are_committed(
    session_factory: sessionmaker[Session],
) -> None:
    seen: list[int] = []

    def save() -> None:
        seen.append(count(session_factory, Paper))  # a fresh session: sees committed rows only

    report = store_records(session_factory, [rec(1), rec(2), Checkpoint(save), rec(3)], batch_size=1000)
    assert seen == [2]
    assert report.new == 3


def _synthetic_dump(path: Path, n: int) -> None:
    """n lines made from the real sample lines with fresh ids; every 7th id repeats with a version."""
    real = [json.loads(line) for line in (DATA / "jsonl" / "sample.jsonl").read_text().splitlines()]
    lines = []
    for i in range(n):
        obj = dict(real[i % len(real)], id=f"2601.{i + 1:05d}")
        lines.append(json.dumps(obj))
        if i % 7 == 0:
            lines.append(json.dumps(dict(obj, id=f"2601.{i + 1:05d}v2", comment=f"v2 of {i + 1}")))
    path.write_text("\n".join(lines) + "\n")


def test_worker_pipeline_gives_the_same_database_as_serial(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    _synthetic_dump(dump, 700)
    results = []
    for workers in (0, 1):
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'w{workers}.db'}")
        eng = make_engine(settings)
        upgrade(eng)
        factory = make_sessionmaker(eng)
        first = store_records(factory, JsonlSource(dump).records(), batch_size=300, workers=workers)
        again = store_records(factory, JsonlSource(dump).records(), batch_size=300, workers=workers)
        with eng.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.key, p.version, p.comment, p.title, "
                    "(SELECT group_concat(day) FROM submissions s WHERE s.paper_id = p.id), "
                    "(SELECT count(*) FROM paper_authors a WHERE a.paper_id = p.id) "
                    "FROM papers p ORDER BY p.key"
                )
            ).all()
        eng.dispose()
        results.append(((first.new, first.updated, first.rejected), (again.new, again.updated), rows))
    serial, pipelined = results
    assert serial == pipelined
    assert serial[0] == (700, 100, 0)  # 100 ids (0, 7, ..., 693) came back as v2 and updated their row
    assert serial[1] == (0, 0)
    v2 = [(key, version, comment) for key, version, comment, *_ in serial[2] if (int(key[5:]) - 1) % 7 == 0]
    assert len(v2) == 100
    assert [r for r in v2 if r[1:] != (2, f"v2 of {int(r[0][5:])}")] == []
