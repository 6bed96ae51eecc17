"""The benchmark corpus grower (bench/corpus.py): deterministic, valid records, no id collisions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from paperfeed.ingest.jsonl import JsonlSource, parse_jsonl_object
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.report import validate

DATA = Path(__file__).parent / "data"
BENCH = Path(__file__).parent.parent / "bench" / "corpus.py"


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("bench_corpus", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_corpus"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real(corpus: ModuleType) -> list[dict[str, object]]:
    return corpus.read_jsonl(DATA / "jsonl" / "sample.jsonl")  # type: ignore[no-any-return]


def test_growth_is_deterministic_and_seed_dependent(
    corpus: ModuleType, real: list[dict[str, object]]
) -> None:
    one = list(corpus.corpus_objects(real, 300, seed=7))
    two = list(corpus.corpus_objects(real, 300, seed=7))
    other = list(corpus.corpus_objects(real, 300, seed=8))
    assert one == two
    assert one[: len(real)] == real  # the real records come first, untouched
    assert one[len(real) :] != other[len(real) :]
    # Any paper can be rebuilt alone from its index: slices need not start at 0.
    grower = corpus.Grower(real, seed=7)
    assert grower.paper(123) == one[len(real) + 123]


def test_grown_papers_are_valid_records_with_unique_ids(
    corpus: ModuleType, real: list[dict[str, object]]
) -> None:
    objs = list(corpus.corpus_objects(real, 500, seed=1))
    records = [parse_jsonl_object(o, source="bench") for o in objs]
    assert all(isinstance(r, PaperRecord) and validate(r) is None for r in records)
    keys = [r.key for r in records]
    assert len(set(keys)) == len(keys) == 500
    real_sentences = {s for o in real for s in corpus.split_sentences(str(o["summary"] or ""))}
    grower = corpus.Grower(real, seed=1)
    for n, obj in enumerate(objs[len(real) :]):
        # a grown abstract is real sentences joined by spaces; the first is its title donor's first one
        rest = obj["summary"]
        while rest:
            head = next((s for s in real_sentences if rest == s or rest.startswith(s + " ")), None)
            assert head is not None, rest[:80]
            rest = rest[len(head) + 1 :]
        donor = grower.donors(n)[0]
        assert obj["summary"].startswith(grower.sentences[donor][0])
        assert obj["title"] and obj["listing_date"]
    assert len({o["title"] for o in objs[len(real) :]}) > 300  # recombined, not 450 copies of 49 titles


def test_written_corpus_reads_back_through_the_ingest_source(
    corpus: ModuleType, real: list[dict[str, object]], tmp_path: Path
) -> None:
    path = tmp_path / "grown.jsonl.gz"
    assert corpus.write_jsonl_gz(corpus.corpus_objects(real, 120, seed=1), path) == 120
    items = list(JsonlSource(path).records())
    assert len(items) == 120


def test_synthetic_ids(corpus: ModuleType) -> None:
    assert corpus.synthetic_id(0) == "1501.00001"
    assert corpus.synthetic_id(89_999) == "1501.90000"
    assert corpus.synthetic_id(90_000) == "1502.00001"
    assert corpus.synthetic_id(12 * 90_000) == "1601.00001"
    with pytest.raises(ValueError):
        corpus.synthetic_id(10 * 12 * 90_000)


def test_plan_names_the_donors_the_text_was_grown_from(
    corpus: ModuleType, real: list[dict[str, object]]
) -> None:
    grower = corpus.Grower(real, seed=5)
    for i in range(40):
        obj, a, c = grower.paper_with_donors(i)
        a2, b, c2, picks = grower.plan(i)
        assert (a2, c2) == (a, c)
        assert obj["summary"] == " ".join(
            [grower.sentences[a][0]] + [grower.sentences[d][k] for d, k in picks]
        )
        assert str(obj["title"]).endswith(corpus._halves(str(real[b]["title"]))[1])


def test_blend_weights_fitted_by_least_squares_recover_a_known_mix(corpus: ModuleType) -> None:
    rng = np.random.default_rng(0)
    parts = rng.standard_normal((50, 3, 16)).astype(np.float32)
    targets = parts[:, 0] * 0.7 + parts[:, 1] * 0.2 + parts[:, 2] * 0.5
    weights = corpus.fit_blend(parts, targets)
    np.testing.assert_allclose(weights, [0.7, 0.2, 0.5], atol=1e-5)
    out = corpus.blend(parts, weights)
    assert out.shape == (50, 16) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    unit = targets / np.linalg.norm(targets, axis=1, keepdims=True)
    np.testing.assert_allclose((out * unit).sum(axis=1), 1.0, atol=1e-5)


def test_spread_puts_each_vector_at_its_cosine_from_the_blend(corpus: ModuleType) -> None:
    rng = np.random.default_rng(3)
    blends = rng.standard_normal((5, 24)).astype(np.float32)
    blends /= np.linalg.norm(blends, axis=1, keepdims=True)
    deviations = rng.standard_normal((5, 24)).astype(np.float32)
    cosines = np.array([0.9, 0.8, 0.7, 0.6, 1.0])
    out = corpus.spread(blends, deviations, cosines, np.random.default_rng(4), 0.4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose((out * blends).sum(axis=1), cosines, atol=1e-5)
    np.testing.assert_array_equal(
        out, corpus.spread(blends, deviations, cosines, np.random.default_rng(4), 0.4)
    )
    # gamma 1: the move is along the deviation alone (in the plane of blend and deviation)
    along = corpus.spread(blends, deviations, cosines, rng, 1.0)
    for b, d, v in zip(blends, deviations, along, strict=True):
        basis = np.linalg.qr(np.stack([b, d]).T)[0]
        np.testing.assert_allclose(basis @ (basis.T @ v), v, atol=1e-5)
    with pytest.raises(ValueError):
        corpus.spread(blends, deviations[:2], cosines, rng, 0.4)


def test_extend_database_appends_grown_papers_with_borrowed_bylines(
    corpus: ModuleType, real: list[dict[str, object]], tmp_path: Path
) -> None:
    import sqlite3

    from paperfeed.config import Settings
    from paperfeed.db.engine import make_engine, make_sessionmaker
    from paperfeed.db.migrate import upgrade
    from paperfeed.ingest.store import store_records

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'pf.db'}", data_dir=tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    store_records(make_sessionmaker(engine), JsonlSource(DATA / "jsonl" / "sample.jsonl").records())
    engine.dispose()
    conn = sqlite3.connect(tmp_path / "pf.db")
    before = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    assert corpus.extend_database(conn, real, 200, seed=3) == 200
    rows = conn.execute(
        "SELECT id, key, title, abstract FROM papers WHERE id > ? ORDER BY id", (before,)
    ).fetchall()
    assert len(rows) == 200 and len({r[1] for r in rows}) == 200
    grower = corpus.Grower(real, seed=3)
    donors = dict(conn.execute("SELECT paper_id, title_donor FROM bench_grown"))
    real_ids = dict(conn.execute("SELECT key, id FROM papers WHERE id <= ?", (before,)))
    assert sorted(donors) == [r[0] for r in rows]
    for n, (pid, key, title, abstract) in enumerate(rows[:20]):
        obj, a, c = grower.paper_with_donors(n)
        assert (key, title, abstract) == (obj["id"], obj["title"], obj["summary"])
        # the paper its text was grown from (title and first sentence), by its stored id
        assert donors[pid] == real_ids[corpus._canonical(str(real[a]["id"]))]
        byline = [
            r[0]
            for r in conn.execute(
                "SELECT a.name FROM paper_authors pa JOIN authors a ON a.id = pa.author_id "
                "WHERE pa.paper_id = ? ORDER BY pa.position",
                (pid,),
            )
        ]
        assert byline == (real[c]["authors"] or [])
    conn.close()
