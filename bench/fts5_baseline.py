"""The baseline: SQLite FTS5 over title + abstract, top 10 by bm25(), on the same papers and queries.

A plain FTS5 table (porter stemming, unicode61), built from a paperfeed SQLite database into its own
file so its size and build time stand alone. The query text becomes quoted terms joined by OR (any term
may match, as a BM25 engine ranks), or AND for comparison. With `stop_words=False` the words paperfeed does
not score are left out the way paperfeed leaves them out (search/query.py: a word whose index terms are all
in STOP_WORDS is dropped, unless nothing else is left), so FTS5 is not made to walk the posting lists of
"of" and "the" that paperfeed skips.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from paperfeed.search.query import STOP_WORDS, stems

_TERM = re.compile(r"\w+", re.UNICODE)

SCHEMA = (
    "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, tokenize='porter unicode61', "
    "content='', columnsize=1)"
)


def fts5_query(text: str, op: str = "OR", *, stop_words: bool = True) -> str:
    """A safe FTS5 MATCH expression: every word quoted (no syntax survives), joined by OR or AND; with
    `stop_words=False`, paperfeed's stop words dropped as paperfeed drops them."""
    if op not in ("OR", "AND"):
        raise ValueError("op must be OR or AND")
    terms = [t.replace('"', "") for t in _TERM.findall(text)]
    terms = [t for t in terms if t]
    if not stop_words:
        terms = content_words(terms)
    return f" {op} ".join(f'"{t}"' for t in terms)


def content_words(words: list[str]) -> list[str]:
    """The words paperfeed scores: those with an index term outside STOP_WORDS; all of them when none has
    one (scoring_terms' rule: "to be or not to be" is still a query)."""
    content = [w for w in words if any(t not in STOP_WORDS for t in stems(w))]
    return content or words


def build(source_db: Path, fts_db: Path) -> float:
    """(Re)build the FTS5 file from the papers of a paperfeed SQLite database; returns seconds."""
    fts_db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    conn = sqlite3.connect(fts_db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    conn.execute("ATTACH DATABASE ? AS src", (f"file:{source_db}?mode=ro",))
    with conn:
        conn.execute(
            "INSERT INTO papers_fts(rowid, title, abstract) SELECT id, title, abstract FROM src.papers"
        )
    with conn:
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('optimize')")
    conn.execute("DETACH DATABASE src")
    conn.close()
    return time.perf_counter() - t0


class Fts5Search:
    """Top-k search over a built FTS5 file (one connection, as a single-process server would keep)."""

    def __init__(self, fts_db: Path, *, title_weight: float = 2.0, abstract_weight: float = 1.0) -> None:
        self.conn = sqlite3.connect(f"file:{fts_db}?mode=ro", uri=True, check_same_thread=False)
        self.conn.execute("PRAGMA cache_size=-65536")
        self.weights = (title_weight, abstract_weight)

    def search(self, text: str, k: int = 10, op: str = "OR", *, stop_words: bool = True) -> list[int]:
        """Paper ids of the k best bm25() matches (FTS5's bm25 is lower-is-better)."""
        expr = fts5_query(text, op, stop_words=stop_words)
        if not expr:
            return []
        rows = self.conn.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY bm25(papers_fts, ?, ?) LIMIT ?",
            (expr, *self.weights, k),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
