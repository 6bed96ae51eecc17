"""Snippets (search.snippets): the query's words are found by their stems, the passage with the most of them
is chosen, and everything in it is escaped. Pure functions, with the index's own analyzer as `word_stem`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paperfeed.search.query import marked_terms, parse_query, word_stem
from paperfeed.search.snippets import best_window, candidate_prefixes, find_matches, snippet


def marks(q: str, text: str, max_chars: int = 280) -> tuple[str, list[str]]:
    terms = marked_terms(parse_query(q))
    matches = find_matches(text, terms, candidate_prefixes(terms), word_stem)
    html = str(snippet(text, matches, {}, max_chars))
    return html, [text[s:e] for s, e, _ in matches]


def test_word_forms_match_by_stem_and_other_words_do_not() -> None:
    text = "Large Language Models (LLMs) model studies; a larger modelling study of lard and modems."
    _, found = marks("large language model study", text)
    assert found == ["Large", "Language", "Models", "model", "studies", "modelling", "study"]
    # "larger" stems to "larger", "lard" and "modems" to themselves: same first letters, other words.


def test_phrase_words_are_marked_stop_words_too_and_excluded_words_not() -> None:
    _, found = marks('"state of the art" retrieval -survey', "The state of the art in retrieval: a survey.")
    assert found == ["The", "state", "of", "the", "art", "retrieval"]


def test_hostile_text_is_escaped_and_marks_stay_on_words() -> None:
    text = '<script>alert("model")</script> & models <b>bold</b> \x00fake\x01 <mark>x</mark>'
    html, _ = marks("model", text)
    assert "<script>" not in html and "<b>" not in html and "\x00" not in html and "\x01" not in html
    assert html.count("<mark>") == 2 and "<mark>models</mark>" in html and "&lt;script&gt;" in html
    assert "&lt;mark&gt;x&lt;/mark&gt;" in html


def test_words_are_whole_words_split_as_the_index_splits_them() -> None:
    _, found = marks("model", "remodel foo_model MODEL-based premodels models2 ÉMODEL model")
    assert found == ["model", "MODEL", "model"]  # "_" and "-" split words; "models2" stems to itself


def test_the_passage_with_most_query_words_is_chosen() -> None:
    filler = "Nothing to see in this sentence at all. " * 12
    text = filler + "Here graph neural networks meet molecules. " + filler + "Only graph here. " + filler
    html, _ = marks("graph neural networks molecules", text, max_chars=120)
    assert html.startswith("… ") and html.endswith(" …")
    assert "<mark>graph</mark> <mark>neural</mark> <mark>networks</mark> meet <mark>molecules</mark>" in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) < 160


def test_no_match_gives_the_start_of_the_text() -> None:
    html, found = marks("zebrafish", "A study of graphs. " * 30, max_chars=100)
    assert found == [] and html.startswith("A study of graphs.") and html.endswith(" …")


def test_no_terms_no_pattern() -> None:
    assert candidate_prefixes([]) == ()
    assert find_matches("anything", frozenset(), (), word_stem) == []


MATCHES = st.lists(
    st.tuples(st.integers(0, 2000), st.integers(1, 12), st.sampled_from("abcd")), max_size=30
).map(lambda xs: sorted((s, s + n, t) for s, n, t in xs))


@given(matches=MATCHES, max_chars=st.integers(20, 400))
def test_best_window_properties(matches: list[tuple[int, int, str]], max_chars: int) -> None:
    if not matches:
        return
    first, last = best_window(matches, {"a": 2.0, "b": 1.0}, max_chars)
    assert 0 <= first <= last < len(matches)
    span = matches[last][1] - matches[first][0]
    assert span <= max_chars or first == last  # one long word may exceed the budget alone

    def score(lo: int, hi: int) -> float:
        seen: dict[str, int] = {}
        total = 0.0
        for _, _, t in matches[lo : hi + 1]:
            seen[t] = seen.get(t, 0) + 1
            total += {"a": 2.0, "b": 1.0}.get(t, 1.0) * (1.0 if seen[t] == 1 else 0.1)
        return total

    best = score(first, last)
    for lo in range(len(matches)):
        for hi in range(lo, len(matches)):
            if matches[hi][1] - matches[lo][0] <= max_chars:
                assert score(lo, hi) <= best + 1e-6


def test_word_stem_is_the_index_term_of_one_word() -> None:
    assert word_stem("Models") == word_stem("modelling") == "model"
    assert word_stem("state-of-the-art") is None  # several terms, not one word
    assert word_stem("") is None
