"""The For-you service: ranks a window's papers for one reader, explains them, explores, excludes, caches."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

import recokit
import webdata
from paperfeed.community import collections, votes
from paperfeed.config import Settings
from paperfeed.ingest.store import store_records
from paperfeed.recommend import signals
from paperfeed.recommend.candidates import CandidateCache
from paperfeed.recommend.service import ForYouItem, recommend, window_for

START, END = recokit.MONTH


def _run(
    factory: sessionmaker[Session],
    settings: Settings,
    user: int,
    *,
    exploration: float | None = 0.0,
    limit: int = 20,
    cache: CandidateCache | None = None,
) -> list[ForYouItem]:
    with factory() as session:
        return recommend(
            session,
            user_id=user,
            start=START,
            end=END,
            limit=limit,
            now=recokit.NOW,
            settings=settings,
            exploration=exploration,
            cache=cache or CandidateCache(),
        )


def _keys(items: list[ForYouItem]) -> list[str]:
    return [i.paper.key for i in items]


def test_window_for_is_half_open_and_ends_on_the_day() -> None:
    assert window_for("day", date(2026, 6, 1)) == (date(2026, 6, 1), date(2026, 6, 2))
    assert window_for("week", date(2026, 6, 1)) == (date(2026, 5, 26), date(2026, 6, 2))
    assert window_for("month", date(2026, 6, 1)) == recokit.MONTH


def test_ranks_neighbours_first_with_reasons_and_is_deterministic(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2605.00101"], kind="seed", now=recokit.NOW
    )
    first = _run(session_factory, db_settings, user)
    assert _keys(first)[:2] == ["2605.00102", "2606.00001"]
    reason = first[0].reasons[0]
    assert (reason.key, reason.kind, reason.verb) == ("2605.00101", "seed", "because you imported")
    assert "2605.00101" not in _keys(first)  # the reader's own paper is not recommended back
    # A paper without a vector yet still takes part (text features / categories).
    assert "t:" in " ".join(_keys(first))
    assert _keys(_run(session_factory, db_settings, user)) == _keys(first)


def test_less_and_dismissed_never_show_voted_and_saved_are_left_out(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2605.00101"], kind="more", now=recokit.NOW
    )
    before = _keys(_run(session_factory, db_settings, user))
    assert before[0] == "2605.00102"
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2605.00102"], kind="less", now=recokit.NOW
    )
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2606.00001"], kind="dismiss", now=recokit.NOW
    )
    votes.set_vote(session_factory, user_id=user, paper_id=ids[webdata.TWICE_ID], voted=True)
    coll = collections.create_collection(session_factory, user_id=user, name="Reading")
    collections.add_paper(session_factory, user_id=user, collection_id=coll.id, paper_id=ids["2605.00201"])
    after = _keys(_run(session_factory, db_settings, user))
    for gone in ("2605.00102", "2606.00001", webdata.TWICE_ID, "2605.00201", "2605.00101"):
        assert gone not in after
    # Clearing the "less" restores the paper (deterministic training: the previous list comes back).
    signals.clear_signal(session_factory, user_id=user, paper_id=ids["2605.00102"])
    signals.clear_signal(session_factory, user_id=user, paper_id=ids["2606.00001"])
    votes.set_vote(session_factory, user_id=user, paper_id=ids[webdata.TWICE_ID], voted=False)
    collections.remove_paper(session_factory, user_id=user, collection_id=coll.id, paper_id=ids["2605.00201"])
    assert _keys(_run(session_factory, db_settings, user)) == before


def test_exploration_interleaves_trending_papers_outside_the_profile(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2605.00101"], kind="seed", now=recokit.NOW
    )
    # OLD_ID is the only paper outside cs.LG; a vote makes it trend.
    other = recokit.reader(session_factory, db_settings, "other")
    votes.set_vote(session_factory, user_id=other, paper_id=ids[webdata.OLD_ID], voted=True)
    items = _run(session_factory, db_settings, user, exploration=0.2, limit=5)
    assert len(items) == 5
    exploring = [i for i in items if i.exploration]
    assert [i.paper.key for i in exploring] == [webdata.OLD_ID]
    assert not items[0].exploration and exploring[0].reasons == ()
    assert not any(i.exploration for i in _run(session_factory, db_settings, user, exploration=0.0, limit=5))
    # The reader's own setting applies when the caller passes none (default 0.1: one of ten).
    default = _run(session_factory, db_settings, user, exploration=None, limit=10)
    assert [i.paper.key for i in default if i.exploration] == [webdata.OLD_ID]
    # Papers without votes or comments are not trending: nothing else is explored, even at 50%.
    half = _run(session_factory, db_settings, user, exploration=0.5, limit=10)
    assert [i.paper.key for i in half if i.exploration] == [webdata.OLD_ID]


def test_no_signals_no_list(session_factory: sessionmaker[Session], db_settings: Settings) -> None:
    recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    assert _run(session_factory, db_settings, user, exploration=0.5) == []


def test_candidate_cache_hits_and_a_new_vector_or_listing_invalidates_it(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    user = recokit.reader(session_factory, db_settings)
    signals.record_signal(
        session_factory, user_id=user, paper_id=ids["2605.00101"], kind="seed", now=recokit.NOW
    )
    cache = CandidateCache()
    first = _keys(_run(session_factory, db_settings, user, cache=cache))
    _run(session_factory, db_settings, user, cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    # The hostile paper's vector moves next to the seed: a changed vector must show at once.
    recokit.put_vector(
        session_factory,
        ids[webdata.HOSTILE_ID],
        [1, 0.01, 0, 0, 0, 0, 0, 0],
        at=recokit.NOW + timedelta(hours=1),
    )
    moved = _keys(_run(session_factory, db_settings, user, cache=cache))
    # The new vector was read (a miss, not a stale hit): the paper climbs towards the seed.
    assert cache.misses == 2
    assert moved.index(webdata.HOSTILE_ID) < first.index(webdata.HOSTILE_ID)
    # A newly listed paper joins the candidates.
    new = webdata._rec("2606.00009", "Fresh June Paper", webdata.D4)
    store_records(session_factory, [new])
    assert "2606.00009" in _keys(_run(session_factory, db_settings, user, cache=cache))
    assert cache.misses == 3
