"""The FTS5 baseline (bench/fts5_baseline.py): without stop words it drops exactly what paperfeed does."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

from paperfeed.search.query import parse_query, scoring_terms, stems

BENCH = Path(__file__).parent.parent / "bench" / "fts5_baseline.py"


@pytest.fixture(scope="module")
def fts5() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("bench_fts5_baseline", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fts5_baseline"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "query",
    [
        "a survey of the large language models",
        "its data was used for training",
        "to be or not to be",
        "Attention Is All You Need",
        "learning from the web: which of these",
        "2503.11731",
    ],
)
def test_content_words_are_the_words_paperfeed_scores(fts5: ModuleType, query: str) -> None:
    words = fts5._TERM.findall(query)
    kept = fts5.content_words(words)
    assert [t for w in kept for t in stems(w)] == scoring_terms(parse_query(query).terms)


def test_queries_with_and_without_stop_words(fts5: ModuleType) -> None:
    assert fts5.fts5_query("the graph of things") == '"the" OR "graph" OR "of" OR "things"'
    assert fts5.fts5_query("the graph of things", stop_words=False) == '"graph" OR "things"'
    # Nothing but stop words: all of them stay, as paperfeed keeps them.
    assert fts5.fts5_query("to be or not", stop_words=False) == '"to" OR "be" OR "or" OR "not"'
    assert fts5.fts5_query('say "x" -y', "AND", stop_words=False) == '"say" AND "x" AND "y"'


def test_search_without_stop_words_does_not_match_on_them(fts5: ModuleType, tmp_path: Path) -> None:
    src = tmp_path / "papers.db"
    conn = sqlite3.connect(src)
    conn.execute("CREATE TABLE papers (id INTEGER PRIMARY KEY, title TEXT, abstract TEXT)")
    conn.executemany(
        "INSERT INTO papers VALUES (?, ?, ?)",
        [(1, "The state of the art", "On the use of the words."), (2, "Graph networks", "Message passing.")],
    )
    conn.commit()
    conn.close()
    fts5.build(src, tmp_path / "fts5.db")
    search = fts5.Fts5Search(tmp_path / "fts5.db")
    try:
        assert sorted(search.search("the graph")) == [1, 2]
        assert search.search("the graph", stop_words=False) == [2]
        assert search.search("of the", stop_words=False) == [1]  # only stop words: searched as typed
    finally:
        search.close()
