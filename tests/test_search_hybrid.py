"""Hybrid and semantic search with the real ONNX MiniLM embedder and usearch index, on SQLite and PostgreSQL:
fusion of both sides, filters on the vector side, the coverage notice while papers wait for vectors, similar
papers by vector, and the background sync that embeds the rest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import searchkit as sk
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.search.embeddings import Embedder, load_embedder
from paperfeed.search.maintainer import sync_once
from paperfeed.search.service import SearchRequest, SearchService
from paperfeed.search.vector_store import embed_pending, sync_vector_index
from paperfeed.search.vectors import VectorIndex

PICK = (0, 12, 24, 30, 36, 40, 48, 60, 72, 84, 96, 108, 120, 132, 144, 156, 168, 170, 180, 192, 204, 216, 228,
        240, 252, 264, 270, 276, 288)  # fmt: skip
EMBEDDED = 25  # the first 25 (by id) get vectors; the last 4 (astro-ph, hep-ph) wait for theirs
WAITING = ("2606.25359", "2606.26229", "2606.28310", "2606.29707")


class MemoEmbedder:
    """The real ONNX embedder, remembering texts it already embedded (both databases embed the same)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            for text, vec in zip(todo, self.inner.embed(todo), strict=True):
                self.memo[text] = vec
        return np.stack([self.memo[t] for t in texts]) if texts else self.inner.embed([])


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MemoEmbedder:
    # The configured ("fast") model is built once under data_dir: a temp dir, never the working directory.
    return MemoEmbedder(load_embedder(Settings(data_dir=tmp_path_factory.mktemp("model"))))


@dataclass
class World:
    settings: Settings
    factory: sessionmaker[Session]
    service: SearchService


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: MemoEmbedder
) -> Iterator[World]:
    objs = sk.demo_objects()
    with sk.database(request.param, tmp_path_factory.mktemp("hybrid")) as settings:
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory, tuple(objs[i] for i in PICK))
        assert embed_pending(factory, settings=settings, embedder=embedder, limit=EMBEDDED) == EMBEDDED
        index = VectorIndex.from_settings(settings, embedder.dim)
        assert sync_vector_index(factory, settings=settings, index=index) == EMBEDDED
        yield World(
            settings, factory, sk.service_for(settings, factory, embedder=embedder, vector_index=index)
        )
        engine.dispose()


def run(world: World, q: str, **kw: Any) -> Any:
    return world.service.search(SearchRequest(q=q, **kw))


def test_semantic_search_finds_a_paraphrase(world: World) -> None:
    result = run(
        world, "generating X-ray pictures of the breast from several angles", mode="semantic", limit=3
    )
    assert sk.ids(result)[0] == "2606.28537"
    assert result.hits[0].matched_by == ("semantic",) and 0 < (result.hits[0].similarity or 0) <= 1


def test_hybrid_fuses_both_rankings_by_reciprocal_rank(world: World) -> None:
    result = run(world, "mammogram synthesis with flow matching", limit=10)
    assert result.mode == "hybrid" and sk.ids(result)[0] == "2606.28537"
    k = world.settings.search_rrf_k
    both = [h for h in result.hits if set(h.matched_by) == {"keyword", "semantic"}]
    assert both
    for hit in result.hits:
        expected = 0.0
        if hit.keyword_rank:
            expected += world.settings.search_keyword_weight / (k + hit.keyword_rank)
        if hit.semantic_rank:
            # The semantic weight is scaled by the share of papers that have vectors (25 of 29 here).
            share = result.semantic_coverage
            expected += world.settings.search_semantic_weight * share / (k + hit.semantic_rank)
        assert hit.score == pytest.approx(expected)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


def test_papers_waiting_for_vectors_match_by_keyword_and_the_result_says_so(world: World) -> None:
    result = run(world, "magnetic monopole plasma blazars", limit=5)
    assert sk.ids(result)[0] == "2606.26229"
    assert result.hits[0].matched_by == ("keyword",)
    assert result.pending_vectors == len(WAITING)
    assert result.semantic_coverage == pytest.approx(EMBEDDED / len(PICK))
    assert "4 new papers are still being embedded; they match by keyword only." in result.notices
    assert not set(WAITING) & set(sk.ids(run(world, "galaxy formation inflation", mode="semantic", limit=50)))


def test_filters_and_phrases_bind_the_vector_side(world: World) -> None:
    astro = run(world, "early universe cosmology", mode="semantic", category="astro-ph", limit=50)
    assert astro.papers and all(any(c.startswith("astro-ph") for c in p.category_names) for p in astro.papers)
    phrase = run(world, '"language models"', mode="semantic", limit=50)
    assert phrase.papers
    for paper in phrase.papers:
        assert "language model" in " ".join(f"{paper.title} {paper.abstract}".lower().split())
    excluded = run(world, "video generation -audio", mode="hybrid", limit=50)
    assert all("audio" not in f"{p.title} {p.abstract}".lower() for p in excluded.papers)


def test_similar_papers_by_vector_then_by_words(world: World) -> None:
    embedded = world.service.similar(sk.paper_id(world.factory, "2606.28537"), limit=4)
    assert embedded.method == "hybrid" and len(embedded.papers) == 4
    assert any("semantic" in how for how in embedded.matched_by)
    assert "2606.28537" not in [p.arxiv_id for p in embedded.papers]
    assert embedded.scores == sorted(embedded.scores, reverse=True)
    waiting = world.service.similar(sk.paper_id(world.factory, "2606.29707"), limit=4)
    assert waiting.method == "keyword" and waiting.papers
    assert all(how == ("keyword",) for how in waiting.matched_by)
    assert "2606.29707" not in [p.arxiv_id for p in waiting.papers]


def test_the_api_reports_coverage_in_headers(world: World) -> None:
    app = create_app(world.settings)
    app.state.search = world.service  # the same real embedder and index, not a second model load
    with TestClient(app) as client:
        r = client.get("/api/papers/search", params={"q": "mammogram synthesis"})
        assert r.headers["X-Search-Mode"] == "hybrid"
        assert float(r.headers["X-Semantic-Coverage"]) == pytest.approx(EMBEDDED / len(PICK), abs=1e-4)
        assert r.headers["X-Pending-Vectors"] == "4"
        assert "semantic" in r.json()[0]["matched_by"]
        page = client.get("/search", params={"q": "mammogram synthesis"})
        assert "4 new papers are still being embedded" in page.text


def test_a_sync_round_embeds_the_rest(world: World, embedder: MemoEmbedder) -> None:
    # Runs last in this module: it changes the shared world.
    report = sync_once(world.settings, world.factory, world.service, embed=True)
    assert report.embedded == len(WAITING) and report.vectors_added == len(WAITING)
    result = run(world, "magnetic monopole plasma blazars", limit=5)
    assert result.pending_vectors == 0 and result.semantic_coverage == 1.0 and result.notices == []
    assert set(result.hits[0].matched_by) == {"keyword", "semantic"}
    assert sync_once(world.settings, world.factory, world.service, embed=True).embedded == 0


def test_a_model_that_fails_its_checksum_degrades_to_keyword(world: World) -> None:
    from paperfeed.search.embeddings import OnnxEmbedder

    broken = OnnxEmbedder(model_sha256="0" * 64)  # the real model file, but the pinned hash is wrong
    service = SearchService(
        settings=world.settings,
        session_factory=world.factory,
        embedder=broken,
        vector_index=world.service.vector_index,
        keyword=world.service.keyword,
    )
    result = service.search(SearchRequest(q="mammogram synthesis", limit=3))
    assert sk.ids(result)[0] == "2606.28537" and result.hits[0].matched_by == ("keyword",)
    assert any("Semantic search failed (IntegrityError)" in n for n in result.notices)
