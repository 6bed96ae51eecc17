"""The model's view of papers, built in ONE place, and the in-process cache of a window's candidates.

`load_paper_set` is the only function that turns database rows into a `PaperSet` (through
`model.paper_set`): when the model needs more (corpus statistics, another feature), this is the one place
to wire it. A window's candidate set is the same for every reader, so it is cached per process, keyed by a
fingerprint of the window (listings, paper edits, vectors) that changes when a paper is listed or edited or
a vector is (re)computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperfeed.db.models import Paper, PaperCategory, Submission
from paperfeed.recommend.corpus import corpus_background, corpus_stats
from paperfeed.recommend.features import CorpusStats, model_text
from paperfeed.recommend.model import PaperSet, paper_set
from paperfeed.search.embeddings import DIM, MODEL_NAME
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import decode_vector

__all__ = ["CandidateCache", "background", "candidate_ids", "load_paper_set", "window_candidates"]

_CHUNK = 5000  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


def load_paper_set(
    session: Session,
    ids: Sequence[int],
    *,
    model: str = MODEL_NAME,
    stats: CorpusStats | None = None,
    dim: int | None = None,
) -> PaperSet:
    """The model's view of these papers (sorted by id): vector (zero row when none yet), text, categories.

    `stats`: the corpus statistics of the tf-idf features; the database's own (recommend.corpus) by default,
    so the reader's papers and the candidates share one idf. `dim`: the vector width to use when none of
    these papers has a vector yet (the candidates' width, so both sides multiply).
    """
    ordered = sorted({int(i) for i in ids})
    texts: dict[int, str] = {}
    cats: dict[int, list[str]] = {pid: [] for pid in ordered}
    vecs: dict[int, np.ndarray] = {}
    for part in _chunks(ordered):
        for pid, title, abstract in session.execute(
            select(Paper.id, Paper.title, Paper.abstract).where(Paper.id.in_(part))
        ):
            texts[int(pid)] = model_text(title, abstract)
        for pid, category in session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(part))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        ):
            cats[int(pid)].append(str(category))
        for pid, blob in session.execute(
            select(PaperVector.paper_id, PaperVector.vector).where(
                PaperVector.paper_id.in_(part), PaperVector.model == model
            )
        ):
            vecs[int(pid)] = decode_vector(blob)
    present = [pid for pid in ordered if pid in texts]  # a paper deleted meanwhile drops out
    dim = next((v.shape[0] for v in vecs.values()), dim or DIM)
    matrix = np.zeros((len(present), dim), dtype=np.float32)
    for row, pid in enumerate(present):
        vec = vecs.get(pid)
        if vec is not None and vec.shape[0] == dim:
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                matrix[row] = vec / norm  # float16 storage rounds: re-normalise
    if stats is None:
        stats = corpus_stats(session)
    return paper_set(present, matrix, [texts[p] for p in present], [cats[p] for p in present], stats=stats)


def background(session: Session) -> PaperSet:
    """The database's fixed background sample (recommend.corpus), built here like every other PaperSet."""
    return corpus_background(session, lambda ids, stats: load_paper_set(session, ids, stats=stats))


def candidate_ids(session: Session, start: date, end: date) -> list[int]:
    """Papers listed on a day in [start, end) (the daily list's submissions), by id."""
    stmt = select(Submission.paper_id).where(Submission.day >= start, Submission.day < end).distinct()
    return sorted(int(pid) for pid in session.scalars(stmt))


def _fingerprint(session: Session, start: date, end: date, model: str) -> tuple[Any, ...]:
    """What changes when the window's candidates change: listings, paper edits, vectors."""
    listed = (
        select(Submission.paper_id).where(Submission.day >= start, Submission.day < end).scalar_subquery()
    )
    subs = session.execute(
        select(func.count(Submission.id), func.max(Submission.id)).where(
            Submission.day >= start, Submission.day < end
        )
    ).one()
    edits = session.scalar(select(func.max(Paper.updated_at)).where(Paper.id.in_(listed)))
    vecs = session.execute(
        select(func.count(PaperVector.paper_id), func.max(PaperVector.created_at)).where(
            PaperVector.paper_id.in_(listed), PaperVector.model == model
        )
    ).one()
    return (tuple(subs), str(edits), tuple(str(v) for v in vecs))


@dataclass(frozen=True)
class _Entry:
    fingerprint: tuple[Any, ...]
    stats: CorpusStats
    papers: PaperSet


class CandidateCache:
    """A small LRU of window candidate sets, shared by every reader of this process (thread-safe)."""

    def __init__(self, maxsize: int = 8) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[str, date, date, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, session: Session, start: date, end: date, *, model: str = MODEL_NAME) -> PaperSet:
        """The candidates of [start, end), from the cache when nothing in the window changed."""
        key = (str(session.get_bind().engine.url), start, end, model)
        fingerprint = _fingerprint(session, start, end, model)
        stats = corpus_stats(session)  # a refit changes every tf-idf row: the entry is stale then
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.fingerprint == fingerprint and entry.stats is stats:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.papers
        papers = load_paper_set(session, candidate_ids(session, start, end), model=model, stats=stats)
        with self._lock:
            self.misses += 1
            self._entries[key] = _Entry(fingerprint, stats, papers)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return papers

    def clear(self) -> None:
        """Forget everything (tests, or after a bulk change)."""
        with self._lock:
            self._entries.clear()


_DEFAULT: CandidateCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> CandidateCache:
    """The process-wide cache (made on first use, not at import)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = CandidateCache()
        return _DEFAULT


def window_candidates(
    session: Session, start: date, end: date, *, cache: CandidateCache | None = None
) -> PaperSet:
    """The window's candidate set through the cache (the process-wide one by default)."""
    return (cache or default_cache()).get(session, start, end)
