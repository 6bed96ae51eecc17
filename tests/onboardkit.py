"""Real papers with real vectors for the onboarding quality and browser tests.

The bundled demo subset of tests/searchkit.py (every 12th paper of the demo dump): the papers listed up to
2026-06-23 (where seeds come from) and the ones listed 2026-06-29 to 07-01 (the candidates). Their vectors
come from the shipped ONNX MiniLM through `embed_pending`, computed once per test process (about half a
minute on a loaded 2-core machine) and copied into every database that needs them.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

import searchkit as sk
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.search.embeddings import load_embedder
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import embed_pending

SEED_UNTIL = date(2026, 6, 23)
WINDOW = (date(2026, 6, 29), date(2026, 7, 2))  # listing days [start, end): the candidates
NOW = datetime(2026, 7, 1, 23, tzinfo=UTC)


@cache
def records() -> tuple[PaperRecord, ...]:
    """The papers of the seed days and of the window."""
    out = []
    for rec in sk.records(sk.demo_objects()):
        day = rec.listing_date
        if day is not None and (day <= SEED_UNTIL or WINDOW[0] <= day < WINDOW[1]):
            out.append(rec)
    return tuple(out)


def seed_ids(category: str, n: int = 10) -> list[str]:
    """The first n arXiv ids of papers listed by SEED_UNTIL whose primary category is `category`."""
    ids = [
        r.arxiv_id
        for r in records()
        if r.arxiv_id and r.listing_date and r.listing_date <= SEED_UNTIL and r.categories[:1] == [category]
    ]
    assert len(ids) >= n, (category, len(ids))
    return ids[:n]


def by_id(arxiv_id: str) -> PaperRecord:
    """One of the records, by arXiv id."""
    return next(r for r in records() if r.arxiv_id == arxiv_id)


@cache
def _vectors() -> dict[str, tuple[str, bytes, str, str]]:
    """key -> (model, vector blob, content hash, paper hash), embedded once by the real model."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/v.db", data_dir=Path(tmp))
        engine = make_engine(settings)
        try:
            upgrade(engine)
            factory = make_sessionmaker(engine)
            store_records(factory, list(records()))
            embed_pending(factory, settings=settings, embedder=load_embedder(settings))
            with factory() as session:
                rows = session.execute(
                    select(
                        Paper.key,
                        PaperVector.model,
                        PaperVector.vector,
                        PaperVector.content_hash,
                        PaperVector.paper_hash,
                    ).join(PaperVector, PaperVector.paper_id == Paper.id)
                )
                return {str(k): (str(m), bytes(v), str(c), str(p)) for k, m, v, c, p in rows}
        finally:
            engine.dispose()


def fill(factory: sessionmaker[Session]) -> None:
    """Store the papers and their vectors."""
    report = store_records(factory, list(records()))
    assert report.rejected == 0, report.errors
    vectors = _vectors()
    with factory() as session, session.begin():
        ids = {str(k): int(i) for k, i in session.execute(select(Paper.key, Paper.id))}
        rows = [
            {
                "paper_id": ids[key],
                "model": model,
                "vector": blob,
                "content_hash": content,
                "paper_hash": paper,
                "created_at": NOW,
            }
            for key, (model, blob, content, paper) in vectors.items()
            if key in ids
        ]
        session.execute(insert(PaperVector), rows)
