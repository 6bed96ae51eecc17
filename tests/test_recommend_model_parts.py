"""The model's parts: compact columns, shared terms, CSLS hubness, the SVM on the reader's columns."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.recommend import model as reco
from paperfeed.recommend.features import CorpusStats, _intersect, shared_terms, term_map


def _sparse(seed: int, rows: int, cols: int, density: float) -> sp.csr_matrix:
    m = sp.random(rows, cols, density=density, format="csr", random_state=seed, dtype=np.float32)
    m.sort_indices()
    return m


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(0, 6), density=st.floats(0.0, 0.3))
def test_restrict_is_the_column_slice(seed: int, rows: int, density: float) -> None:
    m = _sparse(seed, rows, 200, density)
    extra = np.random.default_rng(seed).choice(200, size=5, replace=False)
    columns = np.union1d(m.indices, extra).astype(np.int64)  # every column m uses, and some it does not
    assert np.array_equal(reco._restrict(m, columns).toarray(), m[:, columns].toarray())


sorted_unique = st.lists(st.integers(0, 60), max_size=30).map(lambda xs: np.array(sorted(set(xs)), np.int32))


@given(a=sorted_unique, b=sorted_unique)
def test_intersect_finds_what_both_hold(a: np.ndarray, b: np.ndarray) -> None:
    ia, ib = _intersect(a, b)
    assert np.array_equal(a[ia], b[ib])
    assert sorted(a[ia].tolist()) == sorted(set(a.tolist()) & set(b.tolist()))


# Corpus statistics from thirty papers on ten unrelated topics: each term is in a tenth of them, so every
# term keeps its idf (a term in more than half the papers would weigh nothing).
TOPICS = [
    "surface code decoder qubit",
    "graph network message passing",
    "galaxy halo redshift survey",
    "protein folding structure prediction",
    "speech recognition acoustic model",
    "robot grasping manipulation policy",
    "image segmentation mask boundary",
    "language model instruction tuning",
    "climate precipitation forecast ensemble",
    "market volatility option pricing",
]
STATS = CorpusStats.fit([f"{t} study {i}" for t in TOPICS for i in range(3)])


def _set(ids: list[int], texts: list[str]) -> reco.PaperSet:
    return reco.paper_set(
        ids, np.zeros((len(ids), 4), np.float32), texts, [("cs.LG",)] * len(ids), stats=STATS
    )


def test_shared_terms_are_the_heaviest_common_terms_pairs_first() -> None:
    texts = ["surface code decoder for qubits", "a surface code decoder on hardware"]
    papers = _set([1, 2], texts)
    a, b = papers.tfidf[0], papers.tfidf[1]
    got = shared_terms((a.indices, a.data), (b.indices, b.data), term_map(texts[0]))
    assert set(got) == {"surface code", "code decoder", "surface", "code", "decoder"}
    assert [t for t in got if " " in t] == list(got[:2])  # pairs first


def test_background_density_is_the_mean_of_the_k_nearest_and_kept() -> None:
    background = _set(list(range(6)), [f"{TOPICS[1]} variant {i}" for i in range(3)] + TOPICS[2:5])
    candidates = _set([10, 11], ["graph network message passing", "market volatility"])
    got = candidates.background_density(background, k=2)
    sims = (candidates.tfidf @ background.tfidf.T).toarray()
    assert np.allclose(got, np.sort(sims, axis=1)[:, -2:].mean(axis=1), atol=1e-6)
    assert got[0] > got[1]  # the graph paper has near neighbours in this background, the market one none
    assert candidates.background_density(background, k=2) is got  # kept for the next reader
    assert not np.allclose(candidates.background_density(background, k=6), got)  # kept per k, too
    other = _set(list(range(3)), TOPICS[7:])
    assert candidates.background_density(other, k=2)[1] > got[1]  # another background: recomputed


def test_hubness_discounts_a_generic_candidate_against_a_specific_one() -> None:
    # The background is full of message-passing papers of every kind; the reader writes about graph networks
    # and spectral methods. A candidate made of the background's common words is near every such reader.
    background = _set(list(range(9)), [f"message passing {t}" for t in TOPICS[2:]] + [TOPICS[0]])
    reader = _set([100, 101], ["graph network message passing spectral", "graph spectral network node"])
    candidates = _set(
        [200, 201, *range(300, 306)],
        [
            "message passing graph survey study",  # generic: shares what everyone's papers share
            "graph network spectral node",  # specific to this reader
            *[f"{TOPICS[i]} study" for i in range(4, 10)],
        ],
    )
    examples = [reco.Example(i, "save") for i in (100, 101)]

    def gap(hubness: float) -> float:
        params = dataclasses.replace(reco.DEFAULT, hubness=hubness, svm=0.0, embedding=0.0, category=0.0)
        scores, _ = reco.score(reco.train(examples, reader, background=background, params=params), candidates)
        return float(scores[1] - scores[0])  # specific minus generic

    assert gap(1.0) > gap(0.0)


def test_the_svm_is_kept_on_the_readers_own_columns() -> None:
    papers = _set([1, 2, 3, 4], ["graph network message passing", "graph spectral node", *TOPICS[2:4]])
    m = reco.train([reco.Example(1, "save"), reco.Example(3, "less")], papers)
    assert m.svm_coef is not None
    assert m.svm_coef.shape == m.columns.shape  # a weight per column of the reader's papers, no more
    used = np.union1d(papers.tfidf[0].indices, papers.tfidf[2].indices)
    assert np.array_equal(m.columns, used)
    # The positive's own terms weigh for it, the negative's against it.
    pos_cols = np.isin(m.columns, papers.tfidf[0].indices) & ~np.isin(m.columns, papers.tfidf[2].indices)
    assert (m.svm_coef[pos_cols] > 0).all()
