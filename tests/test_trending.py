"""Trending: the pure score (hypothesis properties), its vectorised twin, the service on both databases."""

from __future__ import annotations

import math
import threading
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import trendingkit as tk
from paperfeed.config import Settings
from paperfeed.ranking import service
from paperfeed.ranking.models import StarSnapshot, TrendingScoreRow
from paperfeed.ranking.stars import repo_of, stars_gained_by_repo
from paperfeed.ranking.trending import Signals, TrendingParams, age_hours, trending_score

NOW = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
P = TrendingParams()

counts = st.integers(min_value=-(10**6), max_value=10**18)
small = st.integers(min_value=0, max_value=10**9)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
params = st.builds(
    TrendingParams,
    w_votes=st.floats(0, 100),
    w_comments=st.floats(0, 100),
    w_stars=st.floats(0, 100),
    gravity=st.floats(0.01, 5),
    age_scale_hours=st.floats(0.1, 1000),
)


def sig(votes: int = 0, comments: int = 0, stars: int = 0, listed: datetime = NOW, local: int = 0) -> Signals:
    return Signals(upvotes=votes, local_votes=local, comments=comments, stars_gained=stars, listed_at=listed)


# --- the pure function: properties ------------------------------------------------------------------


@given(counts, counts, counts, counts, moments, moments, params)
def test_finite_non_negative_and_terms_sum_to_the_score(
    up: int, local: int, com: int, stars: int, listed: datetime, now: datetime, p: TrendingParams
) -> None:
    result = trending_score(Signals(up, local, com, stars, listed), now, p)
    assert math.isfinite(result.score) and result.score >= 0
    assert all(math.isfinite(t.contribution) and t.contribution >= 0 for t in result.terms)
    assert sum(t.contribution for t in result.terms) == result.score
    assert 0 < result.decay <= 1
    assert [t.name for t in result.terms] == ["votes", "comments", "stars"]


@given(small, small, small, small, moments, params)
def test_monotone_in_votes(
    votes: int, extra: int, com: int, stars: int, listed: datetime, p: TrendingParams
) -> None:
    now = listed + timedelta(hours=5)
    low = trending_score(sig(votes, com, stars, listed), now, p).score
    assert trending_score(sig(votes + extra, com, stars, listed), now, p).score >= low
    # Local votes count like source votes.
    assert trending_score(sig(votes, com, stars, listed, local=extra), now, p).score >= low


@given(small, small, small, small, moments, params)
def test_monotone_in_stars_gained(
    stars: int, extra: int, votes: int, com: int, listed: datetime, p: TrendingParams
) -> None:
    now = listed + timedelta(days=2)
    low = trending_score(sig(votes, com, stars, listed), now, p).score
    assert trending_score(sig(votes, com, stars + extra, listed), now, p).score >= low


@given(small, small, small, st.floats(0, 24 * 365 * 20), st.floats(0.01, 24 * 365), params)
def test_decays_with_age(
    votes: int, com: int, stars: int, age: float, later: float, p: TrendingParams
) -> None:
    listed = NOW - timedelta(hours=age)
    young = trending_score(sig(votes, com, stars, listed), NOW, p)
    old = trending_score(sig(votes, com, stars, listed - timedelta(hours=later)), NOW, p)
    assert old.score <= young.score
    if young.score > 1e-300 and old.age_hours > young.age_hours:
        assert old.score < young.score  # strictly, for any positive signal


def test_strict_decay_for_a_positive_signal_and_none_for_nothing() -> None:
    scores = [trending_score(sig(votes=3), NOW + timedelta(hours=h), P).score for h in (0, 1, 24, 240, 2400)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert trending_score(sig(), NOW, P).score == 0.0


def test_the_formula_by_hand() -> None:
    listed = NOW - timedelta(hours=48)
    result = trending_score(sig(votes=9, comments=3, stars=99, listed=listed, local=1), NOW, P)
    decay = (1 + 48 / 24) ** -0.5
    assert result.decay == pytest.approx(decay)
    assert result.terms[0].signal == 10
    assert result.terms[0].contribution == pytest.approx(1.0 * math.log(11) * decay)
    assert result.terms[1].contribution == pytest.approx(0.5 * math.log(4) * decay)
    assert result.terms[2].contribution == pytest.approx(0.6 * math.log(100) * decay)
    assert result.age_hours == 48


def test_future_listing_counts_as_fresh_and_negative_counts_as_none() -> None:
    assert age_hours(NOW + timedelta(days=3), NOW) == 0
    assert trending_score(sig(votes=-5, comments=-1, stars=-100), NOW, P).score == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gravity": 0},
        {"gravity": -1},
        {"w_votes": -1},
        {"w_stars": math.inf},
        {"age_scale_hours": 0},
        {"w_comments": math.nan},
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrendingParams(**kwargs)


def test_params_come_from_settings(tmp_path: object) -> None:
    s = Settings(
        trending_weight_votes=2,
        trending_weight_comments=0,
        trending_weight_stars=3,
        trending_gravity=1.8,
        trending_age_scale_hours=2,
    )
    assert TrendingParams.from_settings(s) == TrendingParams(2, 0, 3, 1.8, 2)


@settings(max_examples=50)
@given(
    st.lists(st.tuples(small, small, small, small, st.floats(0, 24 * 400)), min_size=1, max_size=40), params
)
def test_vectorised_score_equals_the_pure_function(
    rows: list[tuple[int, int, int, int, float]], p: TrendingParams
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    now_h = (NOW - epoch) / timedelta(hours=1)
    arr = np.array(rows, dtype=np.float64)
    score, v, c, s = service.score_arrays(
        upvotes=arr[:, 0].astype(np.int64),
        local_votes=arr[:, 1].astype(np.int64),
        comments=arr[:, 2].astype(np.int64),
        stars_gained=arr[:, 3].astype(np.int64),
        listed_h=now_h - arr[:, 4],
        as_of=NOW,
        params=p,
    )
    for i, (up, local, com, stars, age) in enumerate(rows):
        pure = trending_score(Signals(up, local, com, stars, NOW - timedelta(hours=age)), NOW, p)
        # Hours since the epoch (~5e5) carry ~1e-10 h of rounding; gravity / age scale amplify it (at most
        # 5 / 0.1 here), so equal to ~1e-8, not to the last bit.
        assert score[i] == pytest.approx(pure.score, rel=1e-7, abs=1e-300)
        assert v[i] + c[i] + s[i] == score[i]


# --- the service on SQLite and PostgreSQL -----------------------------------------------------------


@pytest.fixture
def ranked_db(engine: Engine, session_factory: sessionmaker[Session]) -> dict[str, int]:
    until = date(2026, 7, 1)
    with session_factory() as s, s.begin():
        ids = {
            "today_hot": tk.add_paper(s, "2607.00001", until, up=50, comments=4),
            "today_cold": tk.add_paper(s, "2607.00002", until),
            "today_stars": tk.add_paper(s, "2607.00003", until, repo="Org/Repo"),
            "week_old_hot": tk.add_paper(s, "2606.00004", until - timedelta(days=5), up=400, local=30),
            "month_old": tk.add_paper(s, "2606.00005", until - timedelta(days=20), up=1000),
            "ancient": tk.add_paper(s, "2501.00006", date(2025, 1, 5), up=10**6),
        }
        # org/repo: 100 stars 10 days ago, 120 eight days ago, 150 six days ago, 900 now: 780 gained this
        # week (from the snapshot just before it), 800 this month (no snapshot that old: the first one).
        for days, stars in ((10, 100), (8, 120), (6, 150), (0, 900)):
            s.add(
                StarSnapshot(repo="org/repo", stars=stars, fetched_at=NOW - timedelta(days=days), etag=None)
            )
    return ids


def test_windows_select_papers_and_rank_them(
    ranked_db: dict[str, int], session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = ranked_db
    with session_factory() as s:
        day = service.top_trending(s, settings=db_settings, window="day", limit=10)
        week = service.top_trending(s, settings=db_settings, window="week", limit=10)
        month = service.top_trending(s, settings=db_settings, window="month", limit=10)
        until_past = service.top_trending(
            s, settings=db_settings, window="month", until=date(2025, 1, 31), limit=10
        )
    # Day: only today's papers; the one with stars gained beats the cold one, both lose to 50 votes.
    assert day == [ids["today_hot"], ids["today_stars"], ids["today_cold"]]
    assert set(week) == set(day) | {ids["week_old_hot"]}
    assert set(month) == set(week) | {ids["month_old"]}
    assert ids["ancient"] not in month
    assert until_past == [ids["ancient"]]
    # The same order as the pure function over the same signals (ages to the end of 2026-07-01).
    end = datetime(2026, 7, 2, tzinfo=UTC)
    p = TrendingParams.from_settings(db_settings)
    expected = {
        ids["today_hot"]: trending_score(sig(50, 4, listed=end - timedelta(days=1)), end, p).score,
        ids["today_cold"]: 0.0,
        ids["today_stars"]: trending_score(sig(stars=780, listed=end - timedelta(days=1)), end, p).score,
        ids["week_old_hot"]: trending_score(sig(400, local=30, listed=end - timedelta(days=6)), end, p).score,
    }
    assert week == sorted(expected, key=lambda k: -expected[k])
    # With the defaults, 430 votes five days earlier rank below 50 votes and 4 comments today (HN-like).
    assert week == [ids["today_hot"], ids["today_stars"], ids["week_old_hot"], ids["today_cold"]]


def test_limit_and_empty_database(
    session_factory: sessionmaker[Session], db_settings: Settings, engine: Engine
) -> None:
    with session_factory() as s:
        assert service.top_trending(s, settings=db_settings, window="week", limit=5) == []
        page = service.ranked_page(s, settings=db_settings, window="day")
        assert page.items == [] and page.until is None
        with pytest.raises(ValueError, match="invalid window"):
            service.top_trending(s, settings=db_settings, window="year", limit=5)  # type: ignore[arg-type]


def test_stars_gained_uses_the_snapshot_before_the_window(
    ranked_db: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        week = stars_gained_by_repo(s, start=NOW - timedelta(days=7), end=NOW)
        month = stars_gained_by_repo(s, start=NOW - timedelta(days=30), end=NOW)
        # Window before any history: only what was seen inside it (first snapshot as baseline).
        early = stars_gained_by_repo(s, start=NOW - timedelta(days=12), end=NOW - timedelta(days=5))
        none = stars_gained_by_repo(s, start=NOW - timedelta(days=40), end=NOW - timedelta(days=20))
        only = stars_gained_by_repo(s, start=NOW - timedelta(days=7), end=NOW, repos=["org/repo", "x/y"])
    assert week == {"org/repo": 780}
    assert month == {"org/repo": 800}  # no snapshot 30 days back: the first one (10 days) is the baseline
    assert early == {"org/repo": 50}
    assert none == {}
    assert only == {"org/repo": 780}


def test_explain_terms_match_the_stored_and_live_scores(
    ranked_db: dict[str, int], session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = ranked_db
    written = service.recompute(session_factory, settings=db_settings, now=NOW)
    # Every paper but today_cold (no votes, comments or stars: score 0, no row) in each of three windows.
    assert written == 3 * (len(ids) - 1)
    assert service.recompute(session_factory, settings=db_settings, now=NOW, window="week") == len(ids) - 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TrendingScoreRow)) == 3 * (len(ids) - 1)
        why = service.explain(s, ids["today_stars"], settings=db_settings, window="week", now=NOW)
        live = service.compute_window(s, settings=db_settings, window="week", now=NOW).ranked_ids()
        assert why is not None and why.eligible and why.rank == live.index(ids["today_stars"]) + 1
        assert why.signals.stars_gained == 780
        assert sum(t.contribution for t in why.result.terms) == why.result.score
        stored = s.get(TrendingScoreRow, (ids["today_stars"], "week"))
        assert stored is not None and stored.stars_gained == 780
        assert stored.score == pytest.approx(why.result.score, rel=1e-12)
        old = service.explain(s, ids["ancient"], settings=db_settings, window="week", now=NOW)
        assert old is not None and not old.eligible and old.rank is None
        assert service.explain(s, 10**9, settings=db_settings, window="week", now=NOW) is None


def test_repo_of() -> None:
    assert repo_of("https://github.com/Org/Repo") == "org/repo"
    assert repo_of("https://github.com/org/repo.git") == "org/repo"
    for bad in ("https://gitlab.com/a/b", "https://github.com/org", "https://github.com/../x", "nonsense"):
        assert repo_of(bad) is None


def test_concurrent_recomputes_take_turns(
    ranked_db: dict[str, int], session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(3):
                service.recompute(session_factory, settings=db_settings, now=NOW)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TrendingScoreRow)) == 3 * (len(ranked_db) - 1)
