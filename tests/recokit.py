"""Helpers for the For-you tests: stored vectors for webdata's papers, a reader, the month window."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.accounts.users import create_user
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.search.embeddings import MODEL_NAME
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import encode_vector

NOW = datetime(2026, 6, 2, 12, tzinfo=UTC)
MONTH = (date(2026, 5, 3), date(2026, 6, 2))  # the month window ending on webdata.LATEST, half-open
DIM = 8

# Two themes: A (e0) and B (e1); OLD_ID (astro-ph) on its own axis. The no-id paper has no vector.
THEMES: dict[str, list[float]] = {
    "2605.00101": [1, 0, 0, 0, 0, 0, 0, 0],
    "2605.00102": [0.95, 0.05, 0, 0, 0, 0, 0, 0],
    "2606.00001": [0.9, 0.1, 0, 0, 0, 0, 0, 0],
    webdata.TWICE_ID: [0.6, 0.4, 0, 0, 0, 0, 0, 0],
    "2605.00201": [0.5, 0.5, 0, 0, 0, 0, 0, 0],
    webdata.MATH_ID: [0.3, 0.7, 0, 0, 0, 0, 0, 0],
    webdata.HOSTILE_ID: [0.05, 0.95, 0, 0, 0, 0, 0, 0],
    webdata.MANY_AUTHORS_ID: [0.1, 0.9, 0, 0, 0, 0, 0, 0],
    "2606.00002": [0.2, 0.8, 0, 0, 0, 0, 0, 0],
    webdata.OLD_ID: [0, 0, 1, 0, 0, 0, 0, 0],
}


def ids(factory: sessionmaker[Session]) -> dict[str, int]:
    """Paper key -> id."""
    with factory() as session:
        return {k: int(i) for k, i in session.execute(select(Paper.key, Paper.id))}


def put_vector(
    factory: sessionmaker[Session], paper_id: int, vec: list[float], *, at: datetime = NOW
) -> None:
    """Store (or replace) a paper's vector."""
    arr = np.asarray(vec, dtype=np.float32)
    arr /= np.linalg.norm(arr)
    with factory() as session, session.begin():
        row = session.get(PaperVector, paper_id)
        if row is None:
            session.add(
                PaperVector(
                    paper_id=paper_id,
                    model=MODEL_NAME,
                    vector=encode_vector(arr),
                    content_hash="x",
                    paper_hash="x",
                    created_at=at,
                )
            )
        else:
            row.vector = encode_vector(arr)
            row.created_at = at


# Words of theme A (e0) and theme B (e1): a paper's abstract mixes them as its vector does, so the text
# features and the vectors tell the model the same thing (webdata's own abstracts are one template).
WORDS = {
    0: ["graph", "neural", "network", "message", "passing", "node", "embedding", "spectral", "convolution"],
    1: ["quantum", "error", "correction", "qubit", "surface", "code", "decoder", "fault"],
    2: ["galaxy", "cluster", "dark", "matter", "halo", "redshift", "survey", "lensing"],
}


def themed_abstract(vec: list[float], n: int = 9) -> str:
    """The first words of each theme, as many as its share of the vector's weight (deterministic)."""
    total = sum(vec[:3])
    words: list[str] = []
    for axis in range(3):
        take = round(n * vec[axis] / total)
        words += WORDS[axis][:take]
    return "We study " + " ".join(words) + "."


def fill(factory: sessionmaker[Session]) -> dict[str, int]:
    """webdata's papers with THEMES' vectors and abstracts; returns key -> id."""
    webdata.fill(factory)
    return theme(factory)


def theme(factory: sessionmaker[Session]) -> dict[str, int]:
    """Give webdata's stored papers THEMES' vectors and abstracts; returns key -> id."""
    by_key = ids(factory)
    for key, vec in THEMES.items():
        put_vector(factory, by_key[key], vec)
        with factory() as session, session.begin():
            paper = session.get(Paper, by_key[key])
            assert paper is not None
            paper.abstract = themed_abstract(vec)
    return by_key


def reader(factory: sessionmaker[Session], settings: Settings, name: str = "reader") -> int:
    """A verified account; returns its id."""
    with factory() as session, session.begin():
        user = create_user(
            session,
            settings,
            email=f"{name}@example.org",
            username=name,
            password="a-long-password",
            verified=True,
        )
        return int(user.id)
