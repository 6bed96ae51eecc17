"""The corpus statistics and background sample the model needs, one of each per database, kept per process.

The reader's papers and the window's candidates must be weighted with the SAME idf, or a term rare among
ten seed papers would look distinctive in them and common in the candidates. The statistics come from a
fixed sample of the database (the newest `SAMPLE` papers by id, so the same rows give the same statistics
in every process) and are refitted when the database has grown by a quarter since: the features are
hashed, so new papers need no refit to be scored, only for their terms to count in the idf.

The background is a fixed sample of BACKGROUND papers (drawn with a fixed seed from the database's ids), the
same object for every reader: each reader's classifier learns their papers against it, and ranking measures
how "like everything" a candidate is (hubness) on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperfeed.db.models import Paper
from paperfeed.recommend.features import CorpusStats, model_text
from paperfeed.recommend.model import PaperSet

__all__ = [
    "BACKGROUND",
    "SAMPLE",
    "CorpusCache",
    "background_ids",
    "corpus_background",
    "corpus_stats",
    "default_corpus_cache",
]

SAMPLE = 20_000  # papers: 2.4 s to fit on this machine, and the idf of 20k papers is stable
REFIT_GROWTH = 1.25  # refit when the database has a quarter more papers than at the last fit
BACKGROUND = 5_000  # papers in the background sample (the size the model was tuned with)
BACKGROUND_SEED = 20261206


@dataclass(frozen=True)
class Fitted:
    """Statistics and the database's state they were fitted at."""

    stats: CorpusStats
    papers: int  # the paper count
    newest: tuple[int, str] | None  # the newest paper's id and key: another database (or a reset) differs
    background: PaperSet | None = None  # built on first use (it needs the stats)


def _state(session: Session) -> tuple[int, tuple[int, str] | None]:
    count = int(session.scalar(select(func.count(Paper.id))) or 0)
    row = session.execute(select(Paper.id, Paper.key).order_by(Paper.id.desc()).limit(1)).first()
    return count, (int(row[0]), str(row[1])) if row else None


def still_good(fitted: Fitted, count: int, newest: tuple[int, str] | None) -> bool:
    """Whether a fit still describes the database: the same lineage, grown by less than a quarter."""
    if fitted.newest is None or newest is None:
        return fitted.newest == newest
    if newest[0] < fitted.newest[0] or count < fitted.papers:
        return False  # papers were removed (or the database was rebuilt): refit
    if newest[0] == fitted.newest[0] and newest[1] != fitted.newest[1]:
        return False  # the same id names another paper: another database under the same URL
    return count <= fitted.papers * REFIT_GROWTH


def background_ids(session: Session, *, size: int = BACKGROUND, seed: int = BACKGROUND_SEED) -> list[int]:
    """A fixed random sample of the database's paper ids (all of them when there are fewer), sorted."""
    ids = np.fromiter(session.scalars(select(Paper.id).order_by(Paper.id)), dtype=np.int64)
    if ids.size <= size:
        return [int(x) for x in ids]
    picked = np.random.default_rng(seed).choice(ids, size=size, replace=False)
    return sorted(int(x) for x in picked)


def fit_from_database(session: Session, *, sample: int = SAMPLE) -> CorpusStats:
    """Fit the statistics on the newest `sample` papers' titles and abstracts."""
    rows = session.execute(select(Paper.title, Paper.abstract).order_by(Paper.id.desc()).limit(sample))
    return CorpusStats.fit([model_text(title, abstract) for title, abstract in rows])


class CorpusCache:
    """One `Fitted` per database URL, shared by the requests of this process (thread-safe)."""

    def __init__(self, *, sample: int = SAMPLE) -> None:
        self.sample = sample
        self._fitted: dict[str, Fitted] = {}
        self._lock = threading.Lock()
        self.fits = 0

    def get(self, session: Session) -> CorpusStats:
        """The database's statistics, fitted now if there are none or the database grew enough."""
        return self._current(session).stats

    def background(self, session: Session, build: Callable[[list[int], CorpusStats], PaperSet]) -> PaperSet:
        """The database's background sample, built once per fit with `build(ids, stats)`."""
        key = str(session.get_bind().engine.url)
        fitted = self._current(session)
        if fitted.background is not None:
            return fitted.background
        made = build(background_ids(session), fitted.stats)
        with self._lock:
            now = self._fitted.get(key)
            if now is not None and now.stats is fitted.stats and now.background is None:
                self._fitted[key] = Fitted(now.stats, now.papers, now.newest, made)
                return made
            return now.background if now is not None and now.background is not None else made

    def _current(self, session: Session) -> Fitted:
        key = str(session.get_bind().engine.url)
        count, newest = _state(session)
        with self._lock:
            fitted = self._fitted.get(key)
            if fitted is not None and still_good(fitted, count, newest):
                return fitted
            # Fitting under the lock: two requests racing would otherwise both spend the seconds.
            stats = fit_from_database(session, sample=self.sample)
            fitted = Fitted(stats, count, newest)
            self._fitted[key] = fitted
            self.fits += 1
            return fitted

    def clear(self) -> None:
        """Forget every fit (tests)."""
        with self._lock:
            self._fitted.clear()


_DEFAULT: CorpusCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default_corpus_cache() -> CorpusCache:
    """The process-wide cache (made on first use, not at import)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = CorpusCache()
        return _DEFAULT


def corpus_stats(session: Session, *, cache: CorpusCache | None = None) -> CorpusStats:
    """The statistics for this session's database (the process-wide cache by default)."""
    return (cache or default_corpus_cache()).get(session)


def corpus_background(
    session: Session, build: Callable[[list[int], CorpusStats], PaperSet], *, cache: CorpusCache | None = None
) -> PaperSet:
    """The background sample for this session's database (the process-wide cache by default)."""
    return (cache or default_corpus_cache()).background(session, build)
