"""Parsing what users type (pure), snippets, and fuzz tests: no text breaks the query builder or tantivy."""

from __future__ import annotations

import string

import pytest
import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.search.keyword import F_TEXT, IndexRow, build_schema, paper_document, register_tokenizers
from paperfeed.search.query import (
    MAX_QUERY_CHARS,
    QueryError,
    best_correction,
    build_text_query,
    edit_distance,
    parse_query,
    stems,
    title_key,
)
from paperfeed.search.snippets import highlight, plain_excerpt


def test_words_phrases_and_exclusions() -> None:
    q = parse_query('graph "neural networks" -survey  pruning')
    assert q.words == ("graph", "pruning")
    assert q.phrases == (("neural", "networks"),)
    assert q.excluded == ("survey",)
    assert q.terms == ("graph", "prune", "neural", "network")
    assert q.arxiv_id is None and not q.is_empty


def test_unbalanced_quotes_and_syntax_characters_are_text() -> None:
    assert parse_query('"open ended').phrases == (("open", "ended"),)
    assert parse_query("title:(").terms == ("titl",)
    assert parse_query('a AND (b OR c") [x TO y]').terms == ("a", "and", "b", "or", "c", "x", "to", "y")


@pytest.mark.parametrize("raw", ["", "   ", "!!!", "()[]{}:^~*?", "\x00\x01\x02", "\ufffd\ufffd", "---"])
def test_nothing_searchable(raw: str) -> None:
    assert parse_query(raw).is_empty


def test_too_long_is_an_error_just_long_is_not() -> None:
    with pytest.raises(QueryError, match="too long"):
        parse_query("x" * (MAX_QUERY_CHARS + 1))
    long = parse_query("word " * 800)  # 4000 characters: a pasted abstract
    assert len(long.terms) == 64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2503.11731", "2503.11731"),
        (" 2503.11731v3 ", "2503.11731"),
        ("arXiv:2503.11731", "2503.11731"),
        ("https://arxiv.org/abs/2503.11731v2", "2503.11731"),
        ("astro-ph/0601001v1", "astro-ph/0601001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("2503.1173", None),
        ("2503.11731 transformers", None),
    ],
)
def test_arxiv_ids(raw: str, expected: str | None) -> None:
    assert parse_query(raw).arxiv_id == expected


def test_title_keys_ignore_case_punctuation_and_accents() -> None:
    assert title_key("BERT: Pre-training of Deep Bidirectional Transformers") == (
        "bert pre training of deep bidirectional transformers"
    )
    assert title_key("Naïve  Bayes!") == title_key("naive bayes")
    assert parse_query("  naive BAYES ").title == "naive bayes"


def test_stems_fold_accents_and_case() -> None:
    assert stems("Naïve Transformers, RETRIEVAL") == ["naiv", "transform", "retriev"]


def test_edit_distance_counts_a_swap_once() -> None:
    assert edit_distance("retreival", "retrieval", 2) == 1
    assert edit_distance("kitten", "sitting", 3) == 3
    assert edit_distance("kitten", "sitting", 2) == 3  # over the limit: limit + 1
    assert edit_distance("abc", "abc", 0) == 0


def test_best_correction_prefers_close_then_frequent() -> None:
    candidates = [("transform", 400), ("transfer", 300), ("transformr", 1), ("tranform", 2)]
    assert best_correction("transfrm", candidates) == "transform"
    assert best_correction("mamogram", [("mammogram", 3), ("hologram", 50)]) == "mammogram"
    assert best_correction("zzzz", candidates) is None


def test_highlight_escapes_everything_and_marks_character_ranges() -> None:
    text = 'Naïve <script>alert("x")</script> & retrieval'
    start = len('Naïve <script>alert("x")</script> & ')
    out = highlight(text, [(0, len("Naïve")), (start, start + len("retrieval"))], prefix="… ")
    assert out == (
        "… <mark>Naïve</mark> &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; <mark>retrieval</mark>"
    )
    assert "<script>" not in plain_excerpt(text) and "&lt;script&gt;" in plain_excerpt(text)


@pytest.fixture(scope="module")
def tiny_index() -> tantivy.Index:
    index = register_tokenizers(tantivy.Index(build_schema()))
    writer = index.writer(20_000_000, 1)
    for i, (title, abstract) in enumerate(
        [
            ("Retrieval augmented generation", "We study retrievers for language models."),
            ("Naïve Bayes revisited", 'Text with "quotes", <b>tags</b> and $x^2$ math.'),
            ("Galaxies", "Dwarf galaxies in the Local Group."),
        ],
        start=1,
    ):
        writer.add_document(
            paper_document(IndexRow(i, None, title, abstract, ("A. Author",), ("cs.CL",), None, False))
        )
    writer.commit()
    index.reload()
    return index


def test_queries_find_through_the_same_analysis(tiny_index: tantivy.Index) -> None:
    searcher = tiny_index.searcher()
    for text, expected in (("retrieving", 1), ("naive", 2), ('"dwarf galaxy"', 3), ("author", 1)):
        query = build_text_query(parse_query(text), tiny_index.schema, F_TEXT)
        hits = searcher.search(query, 3).hits
        assert hits, text
        assert searcher.fast_field_values("id", [hits[0][1]])[0] == expected or text == "author"


# Naming the health checks to skip replaces the profile's list (tests/conftest.py), so too_slow is repeated.
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8") | st.sampled_from(list(string.punctuation + '"-')), max_size=300
    )
)
def test_fuzz_any_text_parses_and_searches(tiny_index: tantivy.Index, raw: str) -> None:
    parsed = parse_query(raw)
    query = build_text_query(parsed, tiny_index.schema, F_TEXT)
    tiny_index.searcher().search(query, 5)
    assert all(t and len(t) <= 40 for t in parsed.terms)
    assert "\x00" not in parsed.text


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=50))
def test_fuzz_long_text_is_refused_cleanly(head: str) -> None:
    with pytest.raises(QueryError):
        parse_query(head + "x" * (MAX_QUERY_CHARS + 1 - len(head)))
