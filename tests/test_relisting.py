"""Trending cannot be gamed by listing an old paper again, and a lone submission does not empty the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import trendingkit as tk
import webdata
from communitydata import Site, login, make_site
from paperfeed.app import create_app
from paperfeed.community import submissions
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper, Submission
from paperfeed.errors import UserError
from paperfeed.ranking import service
from replay import ReplayServer

UNTIL = date(2026, 7, 1)
ARXIV = Path(__file__).parent / "data" / "arxiv_api"


def _relist(session: Session, paper_id: int, day: date, source: str = "user") -> None:
    session.add(
        Submission(paper_id=paper_id, day=day, submitted_at=tk.T0, submitted_by="mallory", source=source)
    )


def test_a_relisted_old_paper_keeps_its_age(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    with session_factory() as s, s.begin():
        old = tk.add_paper(s, "2605.00001", UNTIL - timedelta(days=60), up=500)
        fresh = tk.add_paper(s, "2607.00002", UNTIL, up=5)
        tk.add_paper(s, "2607.00003", UNTIL, up=1)
        _relist(s, old, UNTIL)  # listed again today, with its 500 all-time votes
    with session_factory() as s:
        week = service.top_trending(s, settings=db_settings, window="week", limit=10)
        why = service.explain(s, old, settings=db_settings, window="week")
    # It is on this week's list (it was listed in it), but 60 days old: 5 fresh votes beat 500 old ones.
    assert old in week and week[0] == fresh
    assert why is not None and why.eligible
    assert why.signals.listed_at == datetime.combine(UNTIL - timedelta(days=60), datetime.min.time(), UTC)


# --- submissions of old papers ------------------------------------------------------------------------


@pytest.fixture
def site(db_settings: Settings, replay_server: ReplayServer) -> Iterator[Site]:
    settings = db_settings.model_copy(
        update={"arxiv_api_url": replay_server.url + "/api/query", "arxiv_min_interval_s": 0.0}
    )
    with make_site(settings) as s:
        yield s


def test_submitting_an_old_paper_is_refused(site: Site, replay_server: ReplayServer) -> None:
    # "2605.00101" was published and first listed on 26 May (webdata.D1).
    assert site.settings.submission_max_age_days == 7
    june3 = datetime(2026, 6, 3, 9, tzinfo=UTC)  # 8 days later
    with pytest.raises(UserError, match="dates from 2026-05-26: only papers from the last 7 days"):
        submissions.submit_paper(site.factory, site.settings, text="2605.00101", username="a", now=june3)
    assert site.count(Submission, Submission.source == "user") == 0
    june1 = datetime(2026, 6, 1, 9, tzinfo=UTC)  # 6 days later: still new
    assert submissions.submit_paper(site.factory, site.settings, text="2605.00101", username="a", now=june1)
    # Not stored yet, fetched from arXiv: a 2016 paper is refused before anything is stored.
    replay_server.load_arxiv_recording(next(ARXIV.glob("recorded_id_1605.08386_s0_m100_*.json")))
    with pytest.raises(UserError, match="dates from 2016-05-26"):
        submissions.submit_paper(site.factory, site.settings, text="1605.08386", username="a", now=june1)
    with site.factory() as s:
        assert s.scalar(select(func.count()).select_from(Paper).where(Paper.key == "1605.08386")) == 0


def test_the_web_form_says_why(site: Site) -> None:
    site.user("alice")
    browser = site.client()
    csrf = login(browser, "alice")
    r = browser.post("/submit", data={"csrf_token": csrf, "arxiv": webdata.OLD_ID}, follow_redirects=False)
    assert r.status_code == 400 and "only papers from the last 7 days" in r.text


# --- what the front page shows after a lone submission ------------------------------------------------


def _demo_like(factory: sessionmaker[Session]) -> int:
    """A month of arXiv listings in June, then one reader's submission of a new paper in December."""
    with factory() as s, s.begin():
        for d in range(12):
            day = date(2026, 6, 1) + timedelta(days=d)
            for k in range(3):
                tk.add_paper(s, f"2606.{d:03d}{k:02d}", day, up=d + k)
        paper = Paper(
            key="2612.00001", arxiv_id="2612.00001", version=1, title="Fresh", abstract="x", source="test",
            content_hash="h", upvotes=0, listing_date=None, created_at=tk.T0, updated_at=tk.T0,
        )  # fmt: skip
        s.add(paper)
        s.flush()
        _relist(s, paper.id, date(2026, 12, 6))
        return int(paper.id)


def test_a_lone_submission_does_not_empty_the_window(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    fresh = _demo_like(session_factory)
    now = datetime(2026, 12, 6, 15, tzinfo=UTC)
    with session_factory() as s:
        week = service.ranked_page(s, settings=db_settings, window="week", now=now)
        day = service.ranked_page(s, settings=db_settings, window="day", now=now)
    # The window ends on the submission's day and reaches back over the week of the last arXiv listing.
    assert week.until == date(2026, 12, 6) and week.start == date(2026, 6, 6)
    assert week.total == 1 + 7 * 3 and fresh in [i.paper.id for i in week.items]
    assert day.start == date(2026, 6, 12) and day.total == 1 + 3
    # An explicit past window is unchanged.
    with session_factory() as s:
        june = service.ranked_page(s, settings=db_settings, window="week", until=date(2026, 6, 12), now=now)
    assert june.start == date(2026, 6, 6) and june.total == 7 * 3


def test_the_front_page_after_a_lone_submission(settings: Settings) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    _demo_like(make_sessionmaker(engine))
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        html = client.get("/").text
    assert "Listed 2026-06-06 to 2026-12-06 · 22 papers" in html
    assert "only readers' submissions since the last listing day, so that day's week is included too" in html
    assert html.count('<h2 class="title">') == 22
