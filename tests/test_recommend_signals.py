"""Signals: one per (reader, paper), latest wins, gathered with votes and saves; the model contract."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.accounts.users import create_user
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound
from paperfeed.recommend import signals
from paperfeed.recommend.model import Example, PaperSet, paper_set, rank, train
from paperfeed.recommend.models import ReaderSignal

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_signals_upsert_latest_wins_and_are_gathered(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    webdata.fill(session_factory)
    with session_factory() as session, session.begin():
        user = create_user(
            session, db_settings, email="r@example.org", username="reader", password="a-long-password"
        ).id
        paper = session.scalars(select(Paper.id).order_by(Paper.id)).first()
    assert paper is not None
    db_factory = session_factory
    signals.record_signal(db_factory, user_id=user, paper_id=paper, kind="more", now=NOW)
    signals.record_signal(db_factory, user_id=user, paper_id=paper, kind="less", now=NOW)
    with db_factory() as session:
        rows = session.execute(select(ReaderSignal.kind)).scalars().all()
        assert rows == ["less"]
        assert [e.kind for e in signals.examples(session, user)] == ["less"]
    assert signals.clear_signal(db_factory, user_id=user, paper_id=paper)
    assert not signals.clear_signal(db_factory, user_id=user, paper_id=paper)
    with pytest.raises(NotFound):
        signals.record_signal(db_factory, user_id=user, paper_id=paper + 999, kind="more", now=NOW)


def _papers() -> PaperSet:
    vecs = np.eye(4, dtype=np.float32)
    vecs[3] = [0.9, 0.1, 0, 0]
    vecs[3] /= np.linalg.norm(vecs[3])
    return paper_set(
        [1, 2, 3, 4],
        vecs,
        ["graph neural nets", "protein folding", "galaxy surveys", "graph neural operators"],
        [["cs.LG"], ["q-bio"], ["astro-ph"], ["cs.LG"]],
    )


def test_the_first_model_ranks_the_neighbour_of_a_positive_first_and_explains_it() -> None:
    papers = _papers()
    model = train([Example(1, "seed")], papers)
    top = rank(model, papers, limit=3)
    assert top[0].paper_id == 4 and top[0].because == (1,) and "graph" in top[0].terms
    assert 1 not in [r.paper_id for r in top]
