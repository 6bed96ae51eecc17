"""The model's corpus statistics: one idf per database, shared by the reader's papers and the candidates,
fitted once per process and refitted when the database grows by a quarter or is another database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import recokit
import webdata
from paperfeed.db.models import Paper
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.recommend.candidates import CandidateCache, background, load_paper_set
from paperfeed.recommend.corpus import (
    REFIT_GROWTH,
    CorpusCache,
    Fitted,
    background_ids,
    corpus_stats,
    fit_from_database,
    still_good,
)
from paperfeed.recommend.features import CorpusStats


def _record(i: int) -> PaperRecord:
    return webdata._rec(f"2607.{i:05d}", f"Filler paper {i} on quantum gravity", webdata.D4)


def test_reader_and_candidates_share_the_database_statistics(
    session_factory: sessionmaker[Session],
) -> None:
    recokit.fill(session_factory)
    with session_factory() as session:
        ids = list(session.scalars(select(Paper.id)))
        reader = load_paper_set(session, ids[:2])
        candidates = CandidateCache().get(session, *recokit.MONTH)
        fitted = fit_from_database(session)
    # The same object: both sides were weighted with one idf, fitted on every paper of the database.
    assert reader.extra["stats"] is candidates.extra["stats"]
    stats = reader.extra["stats"]
    assert isinstance(stats, CorpusStats)
    assert stats.docs == len(ids) == fitted.docs
    assert (stats.df == fitted.df).all()
    # Without the database's statistics, two papers alone would weigh their terms differently.
    alone = CorpusStats.fit(list(reader.texts))
    assert alone.docs == 2 and not (alone.idf() == stats.idf()).all()


def test_fitted_once_then_refitted_when_the_database_grew_by_a_quarter(
    session_factory: sessionmaker[Session],
) -> None:
    recokit.fill(session_factory)
    cache = CorpusCache()
    with session_factory() as session:
        first = cache.get(session)
        assert cache.get(session) is first and cache.fits == 1
        count = int(first.docs)
    small = int(count * (REFIT_GROWTH - 1))  # still within a quarter: kept
    store_records(session_factory, [_record(i) for i in range(small)])
    with session_factory() as session:
        assert cache.get(session) is first and cache.fits == 1
    store_records(session_factory, [_record(i) for i in range(small, small + count)])
    with session_factory() as session:
        grown = cache.get(session)
    assert grown is not first and cache.fits == 2
    assert grown.docs == count + small + count


def test_another_database_under_the_same_address_is_refitted() -> None:
    stats = CorpusStats.fit(["a paper"])
    fitted = Fitted(stats, papers=100, newest=(100, "2601.00100"))
    assert still_good(fitted, 110, (110, "2601.00110"))
    assert not still_good(fitted, 200, (200, "2601.00200"))  # grew by more than a quarter
    assert not still_good(fitted, 99, (100, "2601.00100"))  # a paper was removed
    assert not still_good(fitted, 100, (100, "2612.00001"))  # the same id is another paper: reset
    assert not still_good(fitted, 100, (90, "2601.00090"))
    assert not still_good(fitted, 0, None)
    assert still_good(Fitted(stats, papers=0, newest=None), 0, None)


def test_the_background_is_one_fixed_sample_per_fit(session_factory: sessionmaker[Session]) -> None:
    recokit.fill(session_factory)
    with session_factory() as session:
        first = background(session)
        assert background(session) is first  # every reader trains against the same object
        n = int(session.scalar(select(func.count(Paper.id))) or 0)
        assert len(first) == n  # a small database: all of it
        assert first.extra["stats"] is corpus_stats(session)  # weighted like the readers and candidates
        sample = background_ids(session, size=3)
        assert sample == background_ids(session, size=3) and len(sample) == 3  # fixed seed
        assert set(sample) <= {int(x) for x in first.ids}
