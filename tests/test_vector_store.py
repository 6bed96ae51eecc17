"""Stored embeddings and the index sync, on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.search.embeddings import OnnxEmbedder, paper_text
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import (
    count_pending,
    count_vectors,
    embed_pending,
    rebuild_vector_index,
    sync_vector_index,
    vector_for,
)
from paperfeed.search.vectors import VectorIndex

TOPICS = [
    "graph neural networks for molecule property prediction",
    "dark matter halos in cosmological simulations",
    "retrieval augmented generation with large language models",
    "quantum error correction with surface codes",
    "reinforcement learning for robot grasping",
    "exoplanet atmospheres observed by JWST",
    "diffusion models for image synthesis",
    "protein structure prediction with transformers",
    "speech recognition for low resource languages",
    "gravitational wave detection with LIGO",
    "federated learning under differential privacy",
    "traffic forecasting with spatio-temporal graphs",
]


def rec(n: int, **kw: object) -> PaperRecord:
    base: dict[str, object] = {
        "title": f"A study of {TOPICS[n]}",
        "abstract": f"We study {TOPICS[n]}. Our method improves over prior work on {TOPICS[n]}.",
        "source": "test",
        "arxiv_id": f"2601.{n:05d}",
        "version": 1,
        "authors": [f"Author {n}"],
        "categories": ["cs.LG"],
        "listing_date": date(2026, 1, 5),
    }
    base.update(kw)
    return PaperRecord(**base)  # type: ignore[arg-type]


class Recording:
    """The real embedder, with a record of every text it was asked to embed."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def real_embedder() -> OnnxEmbedder:
    return OnnxEmbedder(max_tokens=48, batch_size=8)


@pytest.fixture
def embedder(real_embedder: OnnxEmbedder) -> Recording:
    return Recording(real_embedder)


def ids_by_arxiv(sf: sessionmaker[Session]) -> dict[str, int]:
    with sf() as s:
        return {a: i for a, i in s.execute(select(Paper.arxiv_id, Paper.id)) if a}


def test_embed_all_then_nothing_pending(
    session_factory: sessionmaker[Session], db_settings: Settings, embedder: Recording
) -> None:
    store_records(session_factory, [rec(i) for i in range(len(TOPICS))])
    with session_factory() as s:
        assert (count_pending(s), count_vectors(s)) == (12, 0)
    done: list[int] = []
    assert (
        embed_pending(
            session_factory, settings=db_settings, embedder=embedder, batch_size=5, progress=done.append
        )
        == 12
    )
    assert done == [5, 5, 2]
    with session_factory() as s:
        assert (count_pending(s), count_vectors(s)) == (0, 12)
        pid = ids_by_arxiv(session_factory)["2601.00003"]
        stored = vector_for(s, pid)
        assert vector_for(s, 10_000_000) is None
    fresh = embedder.inner.embed([paper_text(rec(3).title, rec(3).abstract)])[0]
    assert stored is not None and stored.dtype == np.float32 and float(stored @ fresh) > 0.9999
    assert embed_pending(session_factory, settings=db_settings, embedder=embedder) == 0


def test_a_crash_midway_resumes_without_embedding_twice(
    session_factory: sessionmaker[Session], db_settings: Settings, embedder: Recording
) -> None:
    store_records(session_factory, [rec(i) for i in range(len(TOPICS))])
    # The limit stands in for a crash after the first 7 papers were committed.
    assert embed_pending(session_factory, settings=db_settings, embedder=embedder, batch_size=4, limit=7) == 7
    with session_factory() as s:
        assert (count_pending(s), count_vectors(s)) == (5, 7)
    assert embed_pending(session_factory, settings=db_settings, embedder=embedder, batch_size=4) == 5
    assert len(embedder.seen) == 12 and len(set(embedder.seen)) == 12  # each paper once, none twice


def test_changed_abstract_is_re_embedded_author_change_is_not(
    session_factory: sessionmaker[Session], db_settings: Settings, embedder: Recording
) -> None:
    store_records(session_factory, [rec(i) for i in range(4)])
    embed_pending(session_factory, settings=db_settings, embedder=embedder)
    pid = ids_by_arxiv(session_factory)["2601.00001"]
    with session_factory() as s:
        before = vector_for(s, pid)
        stamp = s.get(PaperVector, pid).created_at  # type: ignore[union-attr]
    store_records(
        session_factory, [rec(1, version=2, abstract="A completely different topic: bird migration.")]
    )
    with session_factory() as s:
        assert count_pending(s) == 1
    embedder.seen.clear()
    assert embed_pending(session_factory, settings=db_settings, embedder=embedder) == 1
    assert embedder.seen == [paper_text(rec(1).title, "A completely different topic: bird migration.")]
    with session_factory() as s:
        after = vector_for(s, pid)
        assert count_pending(s) == 0
    assert before is not None and after is not None and float(before @ after) < 0.95
    # Only the authors change: the paper is looked at again, but its text (and vector) is unchanged.
    store_records(session_factory, [rec(2, version=2, authors=["Someone Else"])])
    with session_factory() as s:
        assert count_pending(s) == 1
    embedder.seen.clear()
    assert embed_pending(session_factory, settings=db_settings, embedder=embedder) == 0
    assert embedder.seen == []
    with session_factory() as s:
        assert count_pending(s) == 0
        assert s.get(PaperVector, pid).created_at > stamp  # type: ignore[union-attr]


def test_sync_is_incremental_and_follows_changes(
    session_factory: sessionmaker[Session], db_settings: Settings, embedder: Recording
) -> None:
    store_records(session_factory, [rec(i) for i in range(len(TOPICS))])
    ids = ids_by_arxiv(session_factory)
    embed_pending(session_factory, settings=db_settings, embedder=embedder, limit=6)
    index = VectorIndex.from_settings(db_settings, embedder.dim)
    assert sync_vector_index(session_factory, settings=db_settings, index=index, save_interval_s=0) == 6
    assert len(index) == 6 and index.meta["cursor"]
    embed_pending(session_factory, settings=db_settings, embedder=embedder)
    assert sync_vector_index(session_factory, settings=db_settings, index=index, save_interval_s=0) == 6
    assert (
        sync_vector_index(session_factory, settings=db_settings, index=index, save_interval_s=0) == 0
    )  # nothing new
    query = embedder.inner.embed(["surface codes for quantum error correction"])[0]
    assert index.search(query, 1)[0][0] == ids["2601.00003"]
    # A changed abstract is replaced in the index; a deleted paper leaves it.
    store_records(session_factory, [rec(3, version=2, abstract="Bird migration routes over the Alps.")])
    embed_pending(session_factory, settings=db_settings, embedder=embedder)
    with session_factory.begin() as s:
        s.execute(delete(Paper).where(Paper.id == ids["2601.00005"]))
    reopened = VectorIndex.from_settings(db_settings, embedder.dim)  # the saved file, with its cursor
    assert len(reopened) == 12
    assert sync_vector_index(session_factory, settings=db_settings, index=reopened, save_interval_s=0) == 1
    assert len(reopened) == 11 and ids["2601.00005"] not in reopened
    birds = embedder.inner.embed(["bird migration"])[0]
    assert reopened.search(birds, 1)[0][0] == ids["2601.00003"]
    rebuilt = rebuild_vector_index(session_factory, settings=db_settings)
    assert len(rebuilt) == 11 and rebuilt.search(birds, 1)[0][0] == ids["2601.00003"]
    assert len(VectorIndex.from_settings(db_settings, embedder.dim)) == 11


def test_sync_saves_at_most_once_per_interval(
    session_factory: sessionmaker[Session], db_settings: Settings, embedder: Recording
) -> None:
    store_records(session_factory, [rec(i) for i in range(4)])
    embed_pending(session_factory, settings=db_settings, embedder=embedder, limit=2)
    index = VectorIndex.from_settings(db_settings, embedder.dim)
    # An hour, not the default minute: a slow machine must not let the interval pass between the two syncs.
    hour = 3600.0
    assert sync_vector_index(session_factory, settings=db_settings, index=index, save_interval_s=hour) == 2
    saved = index.path.read_bytes()  # the first save was due: the index had never been saved
    embed_pending(session_factory, settings=db_settings, embedder=embedder)
    assert sync_vector_index(session_factory, settings=db_settings, index=index, save_interval_s=hour) == 2
    assert len(index) == 4 and index.dirty  # searchable at once, written later
    assert index.path.read_bytes() == saved
    assert len(VectorIndex.from_settings(db_settings, embedder.dim)) == 2
    index.save()
    assert len(VectorIndex.from_settings(db_settings, embedder.dim)) == 4
