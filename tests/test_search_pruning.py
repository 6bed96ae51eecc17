"""Two-phase keyword search (large indexes) and stop words: the term split is pure and tested by properties;
the service's two-phase hits carry exactly the one-phase BM25 scores, fall back when the rare terms are too
few, and stay off below `search_prune_min_docs`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import searchkit as sk
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.search.keyword import F_TEXT
from paperfeed.search.pruning import plan_phases, split_terms
from paperfeed.search.query import STOP_WORDS, build_text_query, parse_query, scoring_terms
from paperfeed.search.service import SearchRequest, SearchService

DF = {"porcelain": 3, "glaze": 40, "identif": 300, "model": 900, "languag": 500}


def test_the_rarest_terms_are_taken_while_they_fit_the_budget() -> None:
    split = split_terms(["identif", "porcelain", "model", "glaze"], DF.__getitem__, 1000, budget=0.05)
    assert split.rare == ("porcelain", "glaze")  # 3 + 40 <= 50; identif would make 343
    assert split.common == ("identif", "model")
    assert split.pruned


def test_the_rarest_term_is_taken_even_over_budget() -> None:
    split = split_terms(["model", "languag"], DF.__getitem__, 1000, budget=0.1)
    assert split.rare == ("languag",)
    assert split.common == ("model",)


def test_a_repeated_term_counts_twice_and_stays_repeated() -> None:
    split = split_terms(["glaze", "porcelain", "glaze"], DF.__getitem__, 1000, budget=0.05)
    assert split.rare == ("porcelain",)  # 3 + 2 x 40 > 50
    assert split.common == ("glaze", "glaze")


def test_nothing_to_split() -> None:
    assert not split_terms([], DF.__getitem__, 1000, budget=0.1).pruned
    assert not split_terms(["model"], DF.__getitem__, 1000, budget=0.1).pruned


@given(
    terms=st.lists(st.sampled_from(sorted(DF)), min_size=1, max_size=8),
    budget=st.floats(min_value=0.001, max_value=2.0),
)
def test_split_properties(terms: list[str], budget: float) -> None:
    split = split_terms(terms, DF.__getitem__, 1000, budget=budget)
    assert Counter(split.rare) + Counter(split.common) == Counter(terms)
    assert split.rare  # something always picks the candidates
    assert max(DF[t] for t in split.rare) <= min((DF[t] for t in split.common), default=10**9)
    if len(set(split.rare)) > 1:
        assert sum(DF[t] for t in split.rare) <= budget * 1000


def test_a_phrase_query_is_picked_by_its_phrases_and_rescored_on_the_phrase_words() -> None:
    df = {**DF, "vision": 400, "transform": 350, "segment": 30}.__getitem__
    plan = plan_phases(parse_query('"vision transformer" segmentation models'), df, 1000, budget=0.05)
    assert plan is not None and plan.by_phrases
    assert plan.rare == ("segment",)  # the free words still split by the budget ...
    assert plan.common == ("model", "vision", "transform")  # ... and every phrase word is re-scored
    only = plan_phases(parse_query('"vision transformer"'), df, 1000, budget=0.05)
    assert only is not None and only.rare == () and only.common == ("vision", "transform")


def test_a_phrase_of_stop_words_keeps_one_phase() -> None:
    # Its words are not scored, so the free words filter the matches: only one phase keeps that exact.
    assert plan_phases(parse_query('"of the" porcelain'), DF.__getitem__, 1000, budget=0.05) is None
    plain = plan_phases(parse_query("porcelain model"), DF.__getitem__, 1000, budget=0.05)
    assert plain is not None and not plain.by_phrases and plain.common == ("model",)


def test_stop_words_are_not_scored_unless_nothing_else_is_left() -> None:
    assert scoring_terms(parse_query("mixture of experts for the win").terms) == ["mixtur", "expert", "win"]
    assert scoring_terms(parse_query("to be or not to be").terms) == ["to", "be", "or", "not", "to", "be"]
    assert {"of", "the", "and", "we"} <= STOP_WORDS


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchService, SearchService]]:
    """(one-phase, two-phase) services over the same real papers and index."""
    with sk.database("sqlite", tmp_path_factory.mktemp("prune")) as settings:
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory)
        exhaustive = sk.service_for(settings, factory)
        pruned = SearchService(
            settings=settings.model_copy(update={"search_prune_min_docs": 0, "search_prune_budget": 0.05}),
            session_factory=factory,
            keyword=exhaustive.keyword,
        )
        yield exhaustive, pruned
        engine.dispose()


QUERIES = ["deep learning models for galaxy clusters", "language models with retrieval", "network data"]


@pytest.mark.parametrize("q", QUERIES)
def test_two_phase_hits_carry_the_one_phase_scores(
    services: tuple[SearchService, SearchService], q: str
) -> None:
    exhaustive, pruned = services
    parsed = parse_query(q)
    keyword = exhaustive.keyword
    split = split_terms(scoring_terms(parsed.terms), keyword.doc_freq, keyword.num_docs, budget=0.05)
    assert split.pruned, split  # the query really runs in two phases here
    full = build_text_query(parsed, keyword.schema, F_TEXT)
    every, _ = keyword.search(full, limit=10_000)
    one_phase = dict(every)
    hits, total = pruned._keyword_hits(parsed, full, [], 10, False)
    assert total is None and len(hits) == 10
    for pid, score in hits:
        assert score == pytest.approx(one_phase[pid], rel=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    # Every candidate holds a rare term: a paper matching only the common ones is not among them.
    rare_only = build_text_query(parsed, keyword.schema, F_TEXT, terms=split.rare)
    with_rare = {pid for pid, _ in keyword.search(rare_only, limit=10_000)[0]}
    assert {pid for pid, _ in hits} <= with_rare


def test_too_few_rare_matches_fall_back_to_scoring_every_match(
    services: tuple[SearchService, SearchService],
) -> None:
    exhaustive, pruned = services
    q = "MiqraBERT language models"  # one paper holds the rare word
    one = exhaustive.search(SearchRequest(q=q, mode="keyword", limit=10, load_papers=False))
    two = pruned.search(SearchRequest(q=q, mode="keyword", limit=10, load_papers=False))
    assert len(one.hits) == 10
    assert [h.paper_id for h in two.hits] == [h.paper_id for h in one.hits]


def test_pruning_is_off_below_the_size_threshold(services: tuple[SearchService, SearchService]) -> None:
    exhaustive, _ = services
    assert exhaustive.keyword.num_docs < Settings().search_prune_min_docs
    for q in QUERIES:
        parsed = parse_query(q)
        full = build_text_query(parsed, exhaustive.keyword.schema, F_TEXT)
        hits, _ = exhaustive._keyword_hits(parsed, full, [], 10, False)
        assert hits == exhaustive.keyword.search(full, limit=10)[0]


PHRASE_QUERIES = ['"language models" retrieval', '"neural network"', '"deep learning" galaxy -quantum']


@pytest.mark.parametrize("q", PHRASE_QUERIES)
def test_two_phase_phrase_queries_match_one_phase(
    services: tuple[SearchService, SearchService], q: str
) -> None:
    exhaustive, pruned = services
    parsed = parse_query(q)
    keyword = exhaustive.keyword
    plan = plan_phases(parsed, keyword.doc_freq, keyword.num_docs, budget=0.05)
    assert plan is not None and plan.by_phrases and plan.common
    full = build_text_query(parsed, keyword.schema, F_TEXT)
    every, _ = keyword.search(full, limit=10_000)
    assert 0 < len(every) < 100  # fewer matches than the pool: two phases must then agree exactly
    hits, total = pruned._keyword_hits(parsed, full, [], 10, False)
    assert total is None
    assert [pid for pid, _ in hits] == [pid for pid, _ in every[:10]]
    for (_, got), (_, want) in zip(hits, every, strict=False):
        assert got == pytest.approx(want, rel=1e-5)
