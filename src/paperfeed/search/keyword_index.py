"""Reading the keyword index: one searcher per shard, every query run on all shards at once and merged.

The shards of a generation split the papers by id (see search/keyword_store.py). A query runs on shard 0 in
the calling thread and on the others in a small thread pool (tantivy releases the GIL while it searches), and
the hits are merged by score. Each shard scores with its own statistics (document frequencies, average
length); shards of a hash split hold like samples of one corpus, so the scores agree to within a rounding of
what one index would give, and only a large index is split.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TypeVar

import tantivy

from paperfeed.search.keyword import F_DAY, F_ID, F_TEXT, build_schema, day_number, ids_query
from paperfeed.search.keyword_store import current_generation, open_shards, shard_dirs

__all__ = ["KeywordIndex"]

T = TypeVar("T")
Hits = list[tuple[int, float]]


def _search_one(
    searcher: tantivy.Searcher, query: tantivy.Query, limit: int, count: bool
) -> tuple[Hits, int | None]:
    result = searcher.search(query, limit=limit, count=count)
    ids = searcher.fast_field_values(F_ID, [addr for _, addr in result.hits])
    hits = [(int(pid or 0), float(score)) for (score, _), pid in zip(result.hits, ids, strict=True)]
    matched: int | None = getattr(result, "count", None) if count else None  # not in tantivy's stubs
    return hits, matched


def _rescored_one(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    first: tantivy.Query,
    extra: Sequence[tantivy.Query],
    pool: int,
    limit: int,
) -> Hits:
    hits = searcher.search(first, limit=max(pool, limit), count=False).hits
    if not hits:
        return []
    ids = [int(v or 0) for v in searcher.fast_field_values(F_ID, [addr for _, addr in hits])]
    scores: dict[tuple[int, int], float] = {}
    pid_of: dict[tuple[int, int], int] = {}
    for (score, addr), pid in zip(hits, ids, strict=True):
        key = (addr.segment_ord, addr.doc)
        scores[key], pid_of[key] = float(score), pid
    if extra:
        only = tantivy.Query.const_score_query(ids_query(schema, ids), 0.0)
        for query in extra:
            # One query per term, not one OR of them: an OR refills a 4,096-document window of every
            # long posting list per candidate, a single term seeks straight to it.
            both = tantivy.Query.boolean_query([(tantivy.Occur.Must, only), (tantivy.Occur.Must, query)])
            for score, addr in searcher.search(both, limit=len(ids), count=False).hits:
                key = (addr.segment_ord, addr.doc)
                if key in scores:
                    scores[key] += float(score)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], pid_of[kv[0]]))[:limit]
    return [(pid_of[key], score) for key, score in best]


def _merge(parts: Sequence[Hits], offset: int, limit: int) -> Hits:
    """One ranking of every shard's hits. Equal scores go by paper id, in every search path: tantivy would
    order them by document address, which depends on how indexing threads cut segments."""
    merged = sorted((hit for part in parts for hit in part), key=lambda h: (-h[1], h[0]))
    return merged[offset : offset + limit]


class KeywordIndex:
    """A read handle on the live generation: one open searcher per shard, refreshed when the index changes."""

    def __init__(self, root: Path, *, refresh_s: float = 1.0) -> None:
        self.root = root
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._gen: Path | None = None
        self._indexes: list[tantivy.Index] = []
        self._searchers: tuple[tantivy.Searcher, ...] = ()
        self._meta_mtimes: tuple[int, ...] = ()
        self._checked = 0.0
        self._pool: ThreadPoolExecutor | None = None
        self.schema = build_schema()
        self.refresh(force=True)

    def refresh(self, *, force: bool = False) -> None:
        """Pick up a new generation or new commits (at most once per refresh_s unless forced)."""
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_s:
            return
        with self._lock:
            self._checked = now
            gen = current_generation(self.root)
            if gen is None:
                self._gen, self._indexes, self._searchers = None, [], ()
                return
            if gen != self._gen:
                try:
                    indexes = open_shards(gen)
                    mtimes = self._mtimes(indexes, gen)
                except (OSError, ValueError):
                    return  # a generation being replaced right now: keep the one we have
                self._gen, self._indexes, self._meta_mtimes = gen, indexes, mtimes
                self._searchers = tuple(index.searcher() for index in indexes)
                return
            try:
                mtimes = self._mtimes(self._indexes, gen)
            except OSError:
                return
            if mtimes != self._meta_mtimes:
                for index in self._indexes:
                    index.reload()
                self._meta_mtimes = mtimes
                self._searchers = tuple(index.searcher() for index in self._indexes)

    @staticmethod
    def _mtimes(indexes: Sequence[tantivy.Index], gen: Path) -> tuple[int, ...]:
        return tuple((d / "meta.json").stat().st_mtime_ns for d in shard_dirs(gen, len(indexes)))

    def _each(self, searchers: Sequence[tantivy.Searcher], fn: Callable[[tantivy.Searcher], T]) -> list[T]:
        """fn on every shard: shard 0 in this thread, the others in the pool, at the same time."""
        if len(searchers) == 1:
            return [fn(searchers[0])]
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keyword-shard")
        futures = [self._pool.submit(fn, s) for s in searchers[1:]]
        first = fn(searchers[0])
        return [first, *(f.result() for f in futures)]

    @property
    def shards(self) -> int:
        """Shards of the live generation (0 before any index exists)."""
        return len(self._searchers)

    @property
    def ready(self) -> bool:
        """True when an index exists."""
        return bool(self._searchers)

    @property
    def num_docs(self) -> int:
        """Papers in the index."""
        return sum(s.num_docs for s in self._searchers)

    def search(
        self, query: tantivy.Query, *, limit: int, offset: int = 0, count: bool = False, cheap: bool = False
    ) -> tuple[Hits, int | None]:
        """(paper id, score) best first, and the number of matches when `count`.

        `cheap`: the query reads a few short posting lists (an exact id or title), so the shards are searched
        one after the other: waking a pool thread would cost more than the search.
        """
        self.refresh()
        searchers = self._searchers
        if not searchers or limit <= 0:
            return [], 0 if count else None
        if cheap:
            parts = [_search_one(s, query, offset + limit, count) for s in searchers]
        else:
            parts = self._each(searchers, lambda s: _search_one(s, query, offset + limit, count))
        total = sum(c or 0 for _, c in parts) if count else None
        return _merge([hits for hits, _ in parts], offset, limit), total

    def search_rescored(
        self, first: tantivy.Query, extra: Sequence[tantivy.Query], *, pool: int, limit: int
    ) -> Hits:
        """The top `pool` documents of `first`, each scored first + every `extra` query; the best `limit`.

        Each extra query runs on the candidates only (intersected with their ids, scored 0), so tantivy
        seeks in its posting lists instead of reading it. Every shard keeps its own `pool` candidates.
        """
        self.refresh()
        searchers = self._searchers
        if not searchers or limit <= 0:
            return []
        parts = self._each(searchers, lambda s: _rescored_one(s, self.schema, first, extra, pool, limit))
        return _merge(parts, 0, limit)

    def doc_freq(self, term: str) -> int:
        """Documents whose text holds the index term."""
        return sum(int(s.doc_freq(F_TEXT, term)) for s in self._searchers)

    def terms_with_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        """Index terms of the text field starting with `prefix`, most frequent first, with their counts."""
        if not prefix:
            return []
        counts: dict[str, int] = {}
        for s in self._searchers:
            for term, n in s.terms_with_prefix(F_TEXT, prefix, limit=limit):
                counts[str(term)] = counts.get(str(term), 0) + int(n)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    def term_query(self, field: str, value: str | int | bool) -> tantivy.Query:
        """An exact term query on one of the index's fields."""
        return tantivy.Query.term_query(self.schema, field, value)

    def ids_query(self, ids: Sequence[int]) -> tantivy.Query:
        """Documents whose paper id is one of `ids` (see keyword.ids_query)."""
        return ids_query(self.schema, ids)

    def day_range(self, start: date | None, end: date | None) -> tantivy.Query:
        """Papers listed between start and end (inclusive; None leaves a side open)."""
        return tantivy.Query.range_query(
            self.schema,
            F_DAY,
            tantivy.FieldType.Integer,
            day_number(start) if start else None,
            day_number(end) if end else None,
        )
