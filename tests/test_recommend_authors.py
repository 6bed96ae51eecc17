"""For you learns from authorship too: approved claims ("because you wrote") and followed authors' earlier
papers; a followed author's new paper stays a candidate, not an example."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import recokit
import webdata
from paperfeed.accounts.models import User
from paperfeed.authors import claims, follows
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.ingest.store import store_records
from paperfeed.recommend import signals
from paperfeed.recommend.candidates import CandidateCache
from paperfeed.recommend.profiles import has_profile
from paperfeed.recommend.service import recommend

START, END = recokit.MONTH
HOPPER = "Grace Hopper"


def _hopper_papers(factory: sessionmaker[Session]) -> dict[str, int]:
    """Twelve papers by Grace Hopper listed before the window, and one inside it."""
    old = [
        webdata._rec(f"2604.{i:05d}", f"Compilers note {i}", START - timedelta(days=10 + i), authors=[HOPPER])
        for i in range(12)
    ]
    new = webdata._rec("2606.00042", "A fresh compiler paper", webdata.D4, authors=[HOPPER, "Alan Turing"])
    store_records(factory, [*old, new])
    with factory() as session:
        rows = session.execute(select(Paper.key, Paper.id).where(Paper.key.like("260%")))
        return {str(k): int(i) for k, i in rows}


def test_followed_authors_earlier_papers_are_examples_the_new_one_a_candidate(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    recokit.fill(session_factory)
    ids = _hopper_papers(session_factory)
    user = recokit.reader(session_factory, db_settings)
    assert not has_profile(session_factory(), user)
    follows.follow(session_factory, user_id=user, name=HOPPER)
    with session_factory() as session:
        assert has_profile(session, user)  # following someone is enough to land on /for-you
        learned = signals.examples(session, user, follow_before=START)
        everything = signals.examples(session, user)
    assert {ex.kind for ex in learned} == {"follow"}
    # The ten latest of the twelve earlier papers; never the one listed inside the window.
    assert len(learned) == signals.FOLLOW_PAPERS_PER_AUTHOR == 10
    assert ids["2606.00042"] not in {ex.paper_id for ex in learned}
    assert ids["2604.00011"] not in {ex.paper_id for ex in learned}  # the oldest two are left out
    assert ids["2606.00042"] in {ex.paper_id for ex in everything}
    # The service learns from the papers before its window, so the new paper is recommended, explained.
    with session_factory() as session:
        items = recommend(
            session,
            user_id=user,
            start=START,
            end=END,
            limit=20,
            now=recokit.NOW,
            settings=db_settings,
            exploration=0.0,
            cache=CandidateCache(),
        )
    fresh = next(i for i in items if i.paper.key == "2606.00042")
    assert fresh.reasons and fresh.reasons[0].verb == "because you follow an author of"
    # Unfollowing forgets them.
    follows.follow(session_factory, user_id=user, name=HOPPER, on=False)
    with session_factory() as session:
        assert signals.examples(session, user, follow_before=START) == []


def test_an_approved_claim_teaches_the_model_and_explains_itself(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    moderator = recokit.reader(session_factory, db_settings, "mod")
    with session_factory() as session, session.begin():
        mod = session.get(User, moderator)
        assert mod is not None
        mod.role = "moderator"
    claim_status = claims.claim(session_factory, user_id=user, paper_id=ids["2605.00101"], position=0)
    with session_factory() as session:
        assert claim_status == "pending"
        assert signals.examples(session, user) == []  # a pending claim teaches nothing
    with session_factory() as session:
        (pending,) = claims.pending_claims(session)
    claims.decide(session_factory, moderator_id=moderator, claim_id=pending.id, approve=True)
    with session_factory() as session:
        assert [(ex.paper_id, ex.kind) for ex in signals.examples(session, user)] == [
            (ids["2605.00101"], "claim")
        ]
        items = recommend(
            session,
            user_id=user,
            start=START,
            end=END,
            limit=5,
            now=recokit.NOW,
            settings=db_settings,
            exploration=0.0,
            cache=CandidateCache(),
        )
    assert items and "2605.00101" not in [i.paper.key for i in items]  # their own paper is not recommended
    reason = items[0].reasons[0]
    assert (reason.key, reason.kind, reason.verb) == ("2605.00101", "claim", "because you wrote")
