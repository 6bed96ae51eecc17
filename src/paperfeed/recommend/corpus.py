"""The corpus statistics the model's tf-idf needs, one set per database, kept per process.

The reader's papers and the window's candidates must be weighted with the SAME idf, or a term rare among
ten seed papers would look distinctive in them and common in the candidates. The statistics come from a
fixed sample of the database (the newest `SAMPLE` papers by id, so the same rows give the same statistics
in every process) and are refitted when the database has grown by a quarter since: the features are
hashed, so new papers need no refit to be scored, only for their terms to count in the idf.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperfeed.db.models import Paper
from paperfeed.recommend.features import CorpusStats

__all__ = ["SAMPLE", "CorpusCache", "corpus_stats", "default_corpus_cache"]

SAMPLE = 20_000  # papers: 2.4 s to fit on this machine, and the idf of 20k papers is stable
REFIT_GROWTH = 1.25  # refit when the database has a quarter more papers than at the last fit


@dataclass(frozen=True)
class Fitted:
    """Statistics and the database's state they were fitted at."""

    stats: CorpusStats
    papers: int  # the paper count
    newest: tuple[int, str] | None  # the newest paper's id and key: another database (or a reset) differs


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


def fit_from_database(session: Session, *, sample: int = SAMPLE) -> CorpusStats:
    """Fit the statistics on the newest `sample` papers' titles and abstracts."""
    rows = session.execute(select(Paper.title, Paper.abstract).order_by(Paper.id.desc()).limit(sample))
    return CorpusStats.fit([f"{title}\n{abstract}" for title, abstract in rows])


class CorpusCache:
    """One `Fitted` per database URL, shared by the requests of this process (thread-safe)."""

    def __init__(self, *, sample: int = SAMPLE) -> None:
        self.sample = sample
        self._fitted: dict[str, Fitted] = {}
        self._lock = threading.Lock()
        self.fits = 0

    def get(self, session: Session) -> CorpusStats:
        """The database's statistics, fitted now if there are none or the database grew enough."""
        key = str(session.get_bind().engine.url)
        count, newest = _state(session)
        with self._lock:
            fitted = self._fitted.get(key)
            if fitted is not None and still_good(fitted, count, newest):
                return fitted.stats
            # Fitting under the lock: two requests racing would otherwise both spend the seconds.
            stats = fit_from_database(session, sample=self.sample)
            self._fitted[key] = Fitted(stats, count, newest)
            self.fits += 1
            return stats

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
