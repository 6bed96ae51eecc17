"""The search service: keyword, semantic and hybrid search, and similar papers. No web code here.

Use it without the web layer::

    service = SearchService(settings=settings, session_factory=factory, embedder=embedder, vector_index=index)
    result = service.search(SearchRequest(q="retrieval augmented generation", mode="hybrid", limit=10))
    result.hits      # [Hit(paper_id, score, matched_by, snippet, ...)], best first, this page only
    result.papers    # the Paper rows of those hits, same order, loaded in one go (authors, categories, links)
    result.semantic_coverage, result.pending_vectors, result.notices

How a query runs: the text is parsed (paperfeed.search.query, never tantivy's parser); an exact arXiv id or
exact title is pinned first; the keyword side asks tantivy for ids and BM25 scores only (filters applied
inside tantivy); the semantic side embeds the query once and asks the HNSW index for nearest papers (then
keeps those that pass the filters, checked in tantivy too); both lists are fused by weighted reciprocal rank
(paperfeed.search.fusion); only the requested page is loaded from the database, in one query per relation.
`embedder` and `vector_index` may be None: search is then keyword-only, and the result says so.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import tantivy
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Paper
from paperfeed.periods import check_window, window_start
from paperfeed.search.cards import load_papers
from paperfeed.search.fusion import rrf
from paperfeed.search.keyword import (
    F_ARXIV,
    F_CATEGORY,
    F_CODE,
    F_ID,
    F_TEXT,
    F_TITLE,
    keyword_dir,
    search_settings,
)
from paperfeed.search.keyword_index import KeywordIndex
from paperfeed.search.pruning import plan_phases
from paperfeed.search.query import (
    ParsedQuery,
    QueryError,
    best_correction,
    build_text_query,
    marked_terms,
    parse_query,
    word_stem,
)
from paperfeed.search.requests import (
    MAX_DEPTH,
    MAX_LIMIT,
    MODES,
    WINDOWS,
    Hit,
    Mode,
    SearchEntry,
    SearchError,
    SearchRequest,
    SearchResult,
    SimilarResult,
    request_from_params,
)
from paperfeed.search.snippets import candidate_prefixes, find_matches, snippet

if TYPE_CHECKING:
    from paperfeed.config import Settings
    from paperfeed.search.embeddings import Embedder
    from paperfeed.search.vectors import VectorIndex

__all__ = [  # the request/result types are re-exported: callers import everything from here
    "MAX_LIMIT",
    "MODES",
    "WINDOWS",
    "Hit",
    "Mode",
    "SearchEntry",
    "SearchError",
    "SearchRequest",
    "SearchResult",
    "SearchService",
    "SimilarResult",
    "create_search_service",
    "request_from_params",
]

log = logging.getLogger(__name__)

SNIPPET_CHARS = 280


class SearchService:
    """Search over one database; keeps the tantivy searcher open and refreshes it when the index changes."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_factory: sessionmaker[Session],
        embedder: Embedder | None = None,
        vector_index: VectorIndex | None = None,
        keyword: KeywordIndex | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.embedder = embedder
        self.vector_index = vector_index
        self.keyword = keyword or KeywordIndex(keyword_dir(settings))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    # --- public API ------------------------------------------------------------------------------------

    def search(self, request: SearchRequest, *, session: Session | None = None) -> SearchResult:
        """Run one search; raises SearchError for a bad request (never for odd query text)."""
        self._check(request)
        try:
            parsed = parse_query(request.q)
        except QueryError as exc:
            raise SearchError(str(exc)) from None
        if session is None:
            with self.session_factory() as own:
                return self._search(request, parsed, own)
        return self._search(request, parsed, session)

    def similar(
        self, paper_id: int, *, limit: int = 5, session: Session | None = None, max_authors: int | None = 25
    ) -> SimilarResult:
        """Papers most like `paper_id` (itself excluded): by its vector when it has one, else by its words."""
        if session is None:
            with self.session_factory() as own:
                return self._similar(paper_id, limit, own, max_authors)
        return self._similar(paper_id, limit, session, max_authors)

    def semantic_ready(self) -> bool:
        """True when semantic search can run (a model and a non-empty vector index)."""
        return self.embedder is not None and self.vector_index is not None and len(self.vector_index) > 0

    def coverage(self) -> tuple[float | None, int]:
        """(share of indexed papers with a vector, papers still without one)."""
        docs = self.keyword.num_docs
        if self.vector_index is None or docs == 0:
            return None, docs if self.vector_index is not None else 0
        have = len(self.vector_index)
        return min(1.0, have / docs), max(0, docs - have)

    def _similar(self, paper_id: int, limit: int, session: Session, max_authors: int | None) -> SimilarResult:
        limit = max(1, min(limit, 50))
        pool = max(4 * limit, 20)
        ranks: dict[str, list[int]] = {}
        vector: Any = self.vector_index.get(paper_id) if self.vector_index is not None else None
        if vector is not None and self.vector_index is not None:
            near = self.vector_index.search(vector, pool + 1)
            ranks["semantic"] = [pid for pid, _ in near if pid != paper_id][:pool]
        row = session.execute(select(Paper.title, Paper.abstract).where(Paper.id == paper_id)).first()
        if row is not None and self.keyword.ready:
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, _mlt(self.keyword, row.title, row.abstract)),
                    (tantivy.Occur.MustNot, self.keyword.term_query(F_ID, paper_id)),
                ]
            )
            ranks["keyword"] = [pid for pid, _ in self.keyword.search(query, limit=pool)[0]]
        if not ranks:
            return SimilarResult([], [], "keyword", [])
        # The same fusion as hybrid search, the semantic side weighted by the share of embedded papers.
        coverage, _ = self.coverage()
        weights = {
            "semantic": self.settings.search_semantic_weight * (coverage if coverage is not None else 1.0),
            "keyword": self.settings.search_keyword_weight,
        }
        fused = rrf(ranks, weights=weights, k=self.settings.search_rrf_k)[:limit]
        papers = load_papers(session, [f.id for f in fused], max_authors=max_authors)
        by_id = {f.id: f for f in fused}
        method = "hybrid" if len(ranks) == 2 else next(iter(ranks))
        return SimilarResult(
            papers,
            [by_id[p.id].score for p in papers],
            method,
            [tuple(by_id[p.id].ranks) for p in papers],
        )

    # --- search ----------------------------------------------------------------------------------------

    @staticmethod
    def _check(request: SearchRequest) -> None:
        if request.mode not in MODES:
            raise SearchError(f"invalid mode {request.mode!r}: expected one of {', '.join(MODES)}")
        if request.window is not None and request.window not in WINDOWS:
            raise SearchError(f"invalid window {request.window!r}: expected day, week or month")
        if not 1 <= request.limit <= MAX_LIMIT:
            raise SearchError(f"invalid limit {request.limit}: must be between 1 and {MAX_LIMIT}")
        if request.page < 0:
            raise SearchError(f"invalid page {request.page}: must be 0 or more")
        if (request.page + 1) * request.limit > MAX_DEPTH:
            raise SearchError(f"invalid page {request.page}: results stop at {MAX_DEPTH}")
        if request.date_from and request.date_to and request.date_from > request.date_to:
            raise SearchError("invalid dates: 'from' is after 'to'")
        if request.category is not None and (
            len(request.category) > 64 or not request.category.isprintable()
        ):
            raise SearchError("invalid category")

    def _search(self, request: SearchRequest, parsed: ParsedQuery, session: Session) -> SearchResult:
        mode = request.mode
        result = SearchResult(request=request, query=parsed, mode=mode)
        semantic_ok = self.semantic_ready()
        if mode != "keyword":
            if not semantic_ok:
                if mode == "semantic":
                    result.notices.append("Semantic search is not available yet: no paper has a vector.")
                else:
                    mode = result.mode = "keyword"
            coverage, pending = self.coverage()
            result.semantic_coverage, result.pending_vectors = coverage, pending
            if pending and mode != "keyword":
                result.notices.append(
                    f"{pending} new paper{'s are' if pending != 1 else ' is'} still being embedded; "
                    "they match by keyword only."
                )
        if parsed.is_empty or not self.keyword.ready:
            if not self.keyword.ready:
                result.notices.append("The search index is being built; try again in a minute.")
            return result
        filters = self._filters(request, session)
        depth = (request.page + 1) * request.limit
        pool = max(self.settings.search_candidates, depth)
        text_query = build_text_query(parsed, self.keyword.schema, F_TEXT)
        shown = parsed  # the query whose words the snippets mark

        pins = self._pins(parsed, filters)
        ranks: dict[str, list[int]] = {}
        similarity: dict[int, float] = {}
        total: int | None = None
        if parsed.arxiv_id:
            # An arXiv id names one paper: its digits are no words to search for.
            ranks[mode if mode != "hybrid" else "keyword"] = []
            total = 0
            if not pins:
                result.notices.append(f"No paper with arXiv id {parsed.arxiv_id} matches.")
        elif mode in ("keyword", "hybrid"):
            kw_limit = depth + len(pins) + 1 if mode == "keyword" else pool  # +1: is there a next page?
            ranks["keyword"], total, shown = self._keyword(
                parsed, text_query, filters, kw_limit, request.count, result.notices
            )
        if mode == "semantic" and (parsed.arxiv_id or not semantic_ok):
            ranks["semantic"] = []
        elif mode in ("semantic", "hybrid") and not parsed.arxiv_id:
            try:
                sem = self._semantic(parsed, filters, pool)
            except Exception as exc:  # a broken model or vector file degrades search, it does not break it
                log.exception("semantic search failed")
                result.notices.append(
                    f"Semantic search failed ({type(exc).__name__}); showing keyword matches."
                )
                sem = []
            ranks["semantic"] = [pid for pid, _ in sem]
            similarity = dict(sem)

        if mode == "hybrid":
            # While only part of the corpus has vectors, the semantic ranking is a ranking of that part:
            # its first place is the best of a sample. Its weight shrinks with the sample (at 2% coverage a
            # random embedded paper must not tie with the best keyword match).
            share = result.semantic_coverage if result.semantic_coverage is not None else 1.0
            weights = {
                "keyword": self.settings.search_keyword_weight,
                "semantic": self.settings.search_semantic_weight * share,
            }
            fused = rrf(ranks, weights=weights, k=self.settings.search_rrf_k)
            ordered = [(f.id, f.score, f.ranks) for f in fused]
        else:
            side = ranks[mode]
            ordered = [(pid, 1.0 / (i + 1), {mode: i + 1}) for i, pid in enumerate(side)]
        pinned = set(pins)
        # Pinned hits rank above everything; a finite score keeps JSON and feeds valid.
        top = max((score for _, score, _ in ordered), default=0.0) + 1.0
        hits = [Hit(pid, top, (how,)) for pid, how in pins.items()]
        for pid, score, r in ordered:
            if pid in pinned:
                hit = next(h for h in hits if h.paper_id == pid)
                hit.matched_by += tuple(r)
                hit.keyword_rank, hit.semantic_rank = r.get("keyword"), r.get("semantic")
                continue
            hits.append(Hit(pid, score, tuple(r), r.get("keyword"), r.get("semantic"), similarity.get(pid)))
        if mode == "keyword" and total is not None:
            result.total = total + len([p for p in pins if p not in set(ranks["keyword"])])
        else:
            result.total = len(hits) if (mode != "keyword" or total is not None) else None
        start = request.page * request.limit
        result.has_next = len(hits) > start + request.limit
        result.hits = hits[start : start + request.limit]
        for hit in result.hits:
            if hit.similarity is None and hit.paper_id in similarity:
                hit.similarity = similarity[hit.paper_id]
        if request.load_papers:
            ids = [h.paper_id for h in result.hits]
            result.papers = load_papers(session, ids, max_authors=request.max_authors)
            if request.snippets:
                self._snippets(result, shown)
        return result

    def _filters(self, request: SearchRequest, session: Session) -> list[tantivy.Query]:
        """Filter clauses for tantivy (every one must match)."""
        out: list[tantivy.Query] = []
        start, end = request.date_from, request.date_to
        if request.window:
            latest = session.scalar(select(func.max(Paper.listing_date)))
            if latest is not None:
                first = window_start(check_window(request.window), latest)
                start = max(start, first) if start else first
                end = min(end, latest) if end else latest
        if start or end:
            out.append(self.keyword.day_range(start, end))
        if request.category:
            out.append(self.keyword.term_query(F_CATEGORY, request.category.strip().lower()))
        if request.has_code is not None:
            out.append(self.keyword.term_query(F_CODE, request.has_code))
        return out

    @staticmethod
    def _all(query: tantivy.Query, filters: Sequence[tantivy.Query]) -> tantivy.Query:
        if not filters:
            return query
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in (query, *filters)])

    def _pins(self, parsed: ParsedQuery, filters: list[tantivy.Query]) -> dict[int, str]:
        """Exact arXiv id, then exact title matches, to show first (most 3)."""
        pins: dict[int, str] = {}
        if parsed.arxiv_id:
            found, _ = self.keyword.search(
                self._all(self.keyword.term_query(F_ARXIV, parsed.arxiv_id), filters), limit=1, cheap=True
            )
            pins.update((pid, "id") for pid, _ in found)
        if parsed.title and not parsed.arxiv_id:
            found, _ = self.keyword.search(
                self._all(self.keyword.term_query(F_TITLE, parsed.title), filters), limit=3, cheap=True
            )
            pins.update((pid, "title") for pid, _ in found if pid not in pins)
        return pins

    def _keyword(
        self,
        parsed: ParsedQuery,
        text_query: tantivy.Query,
        filters: list[tantivy.Query],
        limit: int,
        count: bool,
        notices: list[str],
    ) -> tuple[list[int], int | None, ParsedQuery]:
        """Keyword candidates, their count when asked, and the query that found them (for snippets)."""
        found, total = self._keyword_hits(parsed, text_query, filters, limit, count)
        unknown = any(self.keyword.doc_freq(t) == 0 for t in parsed.terms)
        if parsed.short and (unknown or len(found) < min(limit, 10)):
            # Few matches for a short query: a typo, or a word still being typed. Retry with close spellings.
            tolerant = self._tolerant(parsed)
            if tolerant is not None:
                query = build_text_query(tolerant, self.keyword.schema, F_TEXT)
                more, more_total = self._keyword_hits(tolerant, query, filters, limit, count)
                if len(more) > len(found) or (unknown and more):
                    notices.append("Few exact matches: showing close spellings and completions too.")
                    return [pid for pid, _ in more], more_total, tolerant
        return [pid for pid, _ in found], total, parsed

    def _keyword_hits(
        self,
        parsed: ParsedQuery,
        text_query: tantivy.Query,
        filters: list[tantivy.Query],
        limit: int,
        count: bool,
    ) -> tuple[list[tuple[int, float]], int | None]:
        """Keyword hits of `text_query`: one phase, or two phases on a large index (see search.pruning)."""
        settings = self.settings
        if not count and self.keyword.num_docs >= settings.search_prune_min_docs:
            plan = plan_phases(
                parsed, self.keyword.doc_freq, self.keyword.num_docs, budget=settings.search_prune_budget
            )
            if plan is not None:
                first = build_text_query(
                    parsed, self.keyword.schema, F_TEXT, terms=plan.rare, terms_required=not plan.by_phrases
                )
                extra = [self.keyword.term_query(F_TEXT, t) for t in plan.common]
                pool = max(settings.search_prune_pool, limit + 20)
                hits = self.keyword.search_rescored(self._all(first, filters), extra, pool=pool, limit=limit)
                if plan.by_phrases or len(hits) >= limit:
                    return hits, None
                # Fewer papers hold the rare terms than the page needs: score every match instead.
        return self.keyword.search(self._all(text_query, filters), limit=limit, count=count)

    def _tolerant(self, parsed: ParsedQuery) -> ParsedQuery | None:
        """The query with unknown words replaced by close index terms and the last word completed."""
        terms = list(parsed.terms)
        extra: list[str] = []
        for i, term in enumerate(terms):
            if len(term) < 4 or self.keyword.doc_freq(term) > 0:
                continue
            fixed = best_correction(term, self.keyword.terms_with_prefix(term[:2], 4000))
            if fixed:
                terms[i] = fixed
        last = parsed.terms[-1]
        if len(last) >= 3:
            # Type-ahead: the most common words that start like the last one ("transf" -> transform...).
            extra = [t for t, _ in self.keyword.terms_with_prefix(last, 3) if t != last]
        if terms == list(parsed.terms) and not extra:
            return None
        return replace(parsed, terms=(*terms, *extra))

    def _query_vector(self, text: str) -> np.ndarray:
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        assert self.embedder is not None
        vec = np.asarray(self.embedder.embed([text])[0], dtype=np.float32)
        with self._cache_lock:
            self._cache[text] = vec
            if len(self._cache) > 256:
                self._cache.popitem(last=False)
        return vec

    def _semantic(
        self, parsed: ParsedQuery, filters: list[tantivy.Query], pool: int
    ) -> list[tuple[int, float]]:
        assert self.vector_index is not None
        text = " ".join(parsed.text.replace('"', " ").split())
        constraints = list(filters)
        if parsed.phrases or parsed.excluded:
            # Quoted phrases and -words bind the semantic side too: a user who quotes means it.
            only = ParsedQuery(text="", phrases=parsed.phrases, excluded=parsed.excluded)
            constraints.append(build_text_query(only, self.keyword.schema, F_TEXT))
        k = pool if not constraints else min(pool * 8, 4000)
        found = self.vector_index.search(self._query_vector(text), k)
        if not constraints or not found:
            return found[:pool]
        allowed_hits, _ = self.keyword.search(
            self._all(self.keyword.ids_query([pid for pid, _ in found]), constraints), limit=len(found)
        )
        allowed = {pid for pid, _ in allowed_hits}
        return [(pid, sim) for pid, sim in found if pid in allowed][:pool]

    def _snippets(self, result: SearchResult, parsed: ParsedQuery) -> None:
        terms = marked_terms(parsed)
        prefixes = candidate_prefixes(terms)
        docs = max(1, self.keyword.num_docs)
        # Rarer words count more when choosing the passage (an idf, as BM25 weighs them).
        weights = {t: math.log(1 + docs / (1 + self.keyword.doc_freq(t))) for t in terms}
        by_id = {p.id: p for p in result.papers}
        for hit in result.hits:
            paper = by_id.get(hit.paper_id)
            if paper is None:
                continue
            text = paper.abstract or ""
            matches = find_matches(text, terms, prefixes, word_stem)
            hit.snippet = snippet(text, matches, weights, SNIPPET_CHARS)


def _mlt(keyword: KeywordIndex, title: str, abstract: str) -> tantivy.Query:
    return tantivy.Query.more_like_this_document_fields_query(
        keyword.schema,
        {F_TEXT: [title, title, abstract]},
        min_doc_frequency=1,
        min_term_frequency=1,
        max_query_terms=24,
        min_word_length=3,
    )


def create_search_service(settings: Settings, session_factory: sessionmaker[Session]) -> SearchService:
    """The service a server or CLI uses: the configured embedder (loaded on first use) and the vector index
    file when it exists. A missing or unusable vector index leaves search keyword-only, never broken."""
    # onnxruntime must be imported before usearch: the other order segfaults inside onnxruntime's import
    # with the pinned wheels (`python -c "import usearch.index; import onnxruntime"` crashes). The model
    # itself still loads lazily, on the first embed().
    importlib.import_module("onnxruntime")

    from paperfeed.search.embeddings import load_embedder
    from paperfeed.search.vectors import VectorIndex, VectorIndexError

    settings = search_settings(settings)  # index files beside the SQLite file unless data_dir is set
    embedder = load_embedder(settings)
    vector_index: VectorIndex | None
    try:
        vector_index = VectorIndex.from_settings(settings, embedder.dim)
    except (VectorIndexError, OSError, ValueError, RuntimeError) as exc:
        log.warning("vector index unusable, search is keyword-only until it is rebuilt: %s", exc)
        vector_index = None
    return SearchService(
        settings=settings, session_factory=session_factory, embedder=embedder, vector_index=vector_index
    )
