"""bench/reco_protocol.py: the ranking metrics on hand-made cases, and the proxy-reader rules."""

from __future__ import annotations

import importlib.util
import math
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).parent.parent / "bench"
T = date(2026, 5, 1)


def _bench_script(name: str) -> ModuleType:
    """A bench script loaded from its file: bench/ is a folder of scripts, not a package.

    Registered in sys.modules before it runs (its dataclasses look their module up there); the scripts put
    bench/ on sys.path for their own imports.
    """
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rp() -> ModuleType:
    return _bench_script("reco_protocol")


def test_metrics_on_hand_made_rankings(rp: ModuleType) -> None:
    ranked = [5, 1, 7, 2, 9]
    assert rp.ndcg(ranked, {5}, 10) == 1.0
    # relevant at ranks 2 and 4 of 2 relevant: (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3))
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert rp.ndcg(ranked, {1, 2}, 10) == pytest.approx(expected)
    assert rp.ndcg(ranked, {2}, 3) == 0.0
    assert rp.recall(ranked, {1, 2, 42}, 2) == pytest.approx(1 / 3)
    assert rp.recall(ranked, {1, 2, 42}, 100) == pytest.approx(2 / 3)
    assert rp.reciprocal_rank(ranked, {7, 9}) == pytest.approx(1 / 3)
    assert rp.reciprocal_rank(ranked, {42}) == 0.0
    m = rp.mean_scores([rp.scores(ranked, {5}), rp.scores(ranked, {42})])
    assert m["ndcg@10"] == 0.5 and m["mrr"] == 0.5


def _paper(rp: ModuleType, row: int, authors: tuple[str, ...], listed: date) -> object:
    return rp.Paper(row, f"2601.{row:05d}", f"paper {row}", f"paper {row}", "", authors, ("cs.LG",), listed)


def test_reader_selection_rules(rp: ModuleType) -> None:
    early = T - timedelta(days=30)
    papers = []

    def add(authors: tuple[str, ...], listed: date) -> None:
        papers.append(_paper(rp, len(papers), authors, listed))

    # Ada: 6 papers before T with a shared co-author, 1 in the window: a reader.
    for i in range(6):
        add(("Ada", "Bo"), early + timedelta(days=i))
    add(("Ada", "Bo", "Cy"), T + timedelta(days=3))
    # Dee: only 4 papers before T: not a reader.
    for i in range(4):
        add(("Dee", "Eve"), early + timedelta(days=i))
    add(("Dee", "Eve"), T + timedelta(days=1))
    # Fay: 5 before T but none in the 4 weeks (one is 29 days after T): not a reader.
    for i in range(5):
        add(("Fay", "Gus"), early + timedelta(days=i))
    add(("Fay", "Gus"), T + timedelta(days=29))
    # Hal: two disjoint co-author groups (possibly two people): skipped.
    for i in range(3):
        add(("Hal", "Ian"), early + timedelta(days=i))
    for i in range(3):
        add(("Hal", "Jo"), early + timedelta(days=i))
    add(("Hal", "Ian"), T + timedelta(days=2))
    # Kim: 35 papers before T: only the 30 latest are positives.
    for i in range(35):
        add(("Kim", "Lu"), early - timedelta(days=i))
    add(("Kim", "Lu"), T)

    readers = {r.name: r for r in rp.select_readers(papers, T, sample=300, seed=1)}
    assert set(readers) == {"Ada", "Bo", "Kim", "Lu"}
    assert readers["Ada"].relevant == frozenset({6})
    assert len(readers["Kim"].positives) == 30
    oldest = min(papers[r].listed for r in readers["Kim"].positives)
    assert oldest == early - timedelta(days=29)
    before, window = rp.split(papers, T)
    assert all(papers[r].listed < T for r in before)
    assert all(T <= papers[r].listed < T + timedelta(days=28) for r in window)
    # A fixed seed samples the same readers; a smaller sample is a subset of the eligible ones.
    one = [r.name for r in rp.select_readers(papers, T, sample=2, seed=5)]
    assert one == [r.name for r in rp.select_readers(papers, T, sample=2, seed=5)]
    assert len(one) == 2 and set(one) <= set(readers)


def test_finetune_pairs_share_an_author_and_stay_in_the_given_rows(rp: ModuleType) -> None:
    ft = _bench_script("reco_finetune")
    early = T - timedelta(days=30)
    papers = [_paper(rp, i, ("Ada", f"Co{i % 2}"), early) for i in range(4)]
    papers.append(_paper(rp, 4, ("Ada", "Co0"), T))  # in the window: never paired
    big = ft.MAX_AUTHOR_PAPERS + 1  # a name on more papers than that is not one person: no pairs
    papers += [_paper(rp, 5 + i, ("Consortium", f"Solo{i}"), early) for i in range(big)]
    rows = [p.row for p in papers if p.listed < T]

    pairs = ft.coauthor_pairs(papers, rows, per_author=3, seed=0)

    assert pairs, "Ada and her co-authors give pairs"
    for i, j in pairs:
        assert i != j and i in rows and j in rows
        assert set(papers[i].authors) & set(papers[j].authors)
        assert max(i, j) < 4, "only Ada's earlier papers pair up"
    # per author: at most per_author pairs and at most one fewer than their papers (Ada 3, Co0 1, Co1 1)
    assert len(pairs) == 5
    assert pairs == ft.coauthor_pairs(papers, rows, per_author=3, seed=0)


def test_tune_reads_vectors_for_the_split_rows_in_order(tmp_path: Path) -> None:
    import numpy as np

    tune = _bench_script("reco_tune")
    path = tmp_path / "vectors.npz"
    np.savez(path, rows=np.array([7, 3, 9]), vectors=np.array([[7.0], [3.0], [9.0]], np.float32))
    assert tune.load_vectors(path, [3, 9]).ravel().tolist() == [3.0, 9.0]
    with pytest.raises(SystemExit, match="lacks 1"):
        tune.load_vectors(path, [3, 4])
