"""What the per-reader model promises: determinism, undo, "less like this", honest reasons."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.recommend import model as reco
from paperfeed.recommend.features import CorpusStats, row, shared_terms, term_map

# A small corpus of three interests: topic words plus filler, so tf-idf and vectors agree.
TOPICS = {
    "graph": "graph neural network message passing node embedding spectral convolution",
    "quantum": "quantum error correction qubit surface code decoder fault tolerant",
    "galaxy": "galaxy cluster dark matter halo redshift survey lensing",
}
FILLER = ["we", "propose", "study", "results", "show", "method", "data", "analysis", "approach", "novel"]


def _corpus(n_per_topic: int = 12) -> reco.PaperSet:
    rng = np.random.default_rng(3)
    ids, texts, cats, vecs = [], [], [], []
    centers = {t: rng.normal(size=16) for t in TOPICS}
    for ti, (topic, words) in enumerate(TOPICS.items()):
        vocab = words.split()
        for j in range(n_per_topic):
            pick = rng.choice(vocab, size=6, replace=True).tolist() + rng.choice(FILLER, size=4).tolist()
            texts.append(f"{topic} paper {j}: " + " ".join(pick))
            ids.append(100 * (ti + 1) + j)
            cats.append((f"cat.{topic}",))
            v = centers[topic] + 0.6 * rng.normal(size=16)
            vecs.append(v / np.linalg.norm(v))
    return reco.paper_set(ids, np.array(vecs, np.float32), texts, cats)


PAPERS = _corpus()
IDS = [int(i) for i in PAPERS.ids]
KINDS = ["vote", "save", "more", "seed", "less", "dismiss"]


def _ranking(examples: list[reco.Example]) -> list[tuple[int, float]]:
    m = reco.train(examples, PAPERS)
    return [(r.paper_id, round(r.score, 9)) for r in reco.rank(m, PAPERS, limit=len(IDS))]


examples_st = st.lists(
    st.builds(reco.Example, paper_id=st.sampled_from(IDS), kind=st.sampled_from(KINDS)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(examples=examples_st, seed=st.integers(0, 10_000))
def test_training_is_deterministic_whatever_the_order(examples: list[reco.Example], seed: int) -> None:
    shuffled = list(examples)
    np.random.default_rng(seed).shuffle(shuffled)  # type: ignore[arg-type]
    assert _ranking(examples) == _ranking(shuffled)


@settings(max_examples=40, deadline=None)
@given(
    examples=examples_st,
    extra=st.builds(reco.Example, paper_id=st.sampled_from(IDS), kind=st.sampled_from(KINDS)),
)
def test_deleting_a_signal_restores_the_previous_list(
    examples: list[reco.Example], extra: reco.Example
) -> None:
    # Signals are one per (paper, kind) in the store: adding then deleting s leaves exactly A.
    base = [e for e in examples if (e.paper_id, e.kind) != (extra.paper_id, extra.kind)]
    with_s = [*base, extra]
    after_delete = [e for e in with_s if e != extra]
    assert _ranking(after_delete) == _ranking(base)


@settings(max_examples=30, deadline=None)
@given(examples=examples_st)
def test_a_positive_never_appears_in_its_own_list_and_reasons_are_the_readers(
    examples: list[reco.Example],
) -> None:
    m = reco.train(examples, PAPERS)
    recs = reco.rank(m, PAPERS, limit=len(IDS))
    reacted = {e.paper_id for e in examples}
    positives = set(m.positive_ids)
    for r in recs:
        assert r.paper_id not in reacted
        assert r.because and set(r.because) <= positives
        assert r.paper_id not in r.because


def test_less_like_this_moves_similar_papers_down() -> None:
    # A reader of graphs and quanta says "less like this" on a quantum paper: the quantum papers sink.
    likes = [reco.Example(100 + j, "save") for j in range(3)] + [
        reco.Example(200 + j, "save") for j in range(3)
    ]
    before = [r.paper_id for r in reco.rank(reco.train(likes, PAPERS), PAPERS, limit=len(IDS))]
    after = [
        r.paper_id
        for r in reco.rank(reco.train([*likes, reco.Example(205, "less")], PAPERS), PAPERS, limit=len(IDS))
    ]
    quantum = [p for p in range(206, 212)]  # quantum papers the reader did not touch

    def mean_pos(order: list[int]) -> float:
        return float(np.mean([order.index(p) for p in quantum]))

    assert mean_pos(after) > mean_pos(before)
    assert 205 not in after


def test_an_interest_ranks_its_topic_first_with_shared_terms() -> None:
    m = reco.train([reco.Example(300 + j, "seed") for j in range(4)], PAPERS)
    recs = reco.rank(m, PAPERS, limit=5)
    assert all(300 <= r.paper_id < 400 for r in recs)
    positive_text = dict(zip(m.positive_ids, m.positive_texts, strict=True))
    for r in recs:
        text = PAPERS.texts[PAPERS.index()[r.paper_id]]
        for term in r.terms:  # every term is in both the candidate and the paper it is explained by
            assert all(w in text.lower() for w in term.split())
            assert all(w in positive_text[r.because[0]].lower() for w in term.split())


def test_no_positive_no_list_and_stats_roundtrip() -> None:
    assert reco.rank(reco.train([reco.Example(100, "less")], PAPERS), PAPERS) == []
    stats = CorpusStats.fit(list(PAPERS.texts))
    again = CorpusStats.from_bytes(stats.to_bytes())
    assert again.docs == stats.docs and np.array_equal(again.df, stats.df)
    a = stats.transform(["quantum error correction"]).toarray()
    assert np.allclose(a, again.transform(["quantum error correction"]).toarray())
    # Pairs come first (up to half of the terms), then words.
    both = stats.transform(["surface code decoder", "a surface code decoder here"])
    shared = shared_terms(row(both, 0), row(both, 1), term_map("surface code decoder"))
    assert set(shared[:2]) == {"surface code", "code decoder"}
    assert set(shared[2:]) == {"surface", "code", "decoder"}
