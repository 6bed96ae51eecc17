"""The trending page (and `/`), "why is this trending" on paper pages, the trending API, sort=trending."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import trendingkit as tk
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import CodeLinkRow
from paperfeed.ranking import service
from paperfeed.ranking.models import StarSnapshot

UNTIL = date(2026, 7, 1)


def fill(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        tk.add_paper(s, "2607.00010", UNTIL, up=10)  # most upvoted today
        starred = tk.add_paper(s, "2607.00020", UNTIL, up=5)  # fewer votes, but a repository taking off
        s.add(
            CodeLinkRow(paper_id=starred, url="https://github.com/lab/fast", kind="github", origin="abstract")
        )
        tk.add_paper(s, "2607.00030", UNTIL, comments=2)
        tk.add_paper(s, "2606.00040", UNTIL - timedelta(days=3), up=3)
        tk.add_paper(s, "2606.00050", UNTIL - timedelta(days=20), up=2)
        tk.add_paper(s, "2607.00060", UNTIL, title="<script>window.__pwned = 1</script> Hostile")
        end = datetime(2026, 7, 1, 12, tzinfo=UTC)
        for days, stars in ((8, 10), (0, 5000)):
            s.add(
                StarSnapshot(repo="lab/fast", stars=stars, fetched_at=end - timedelta(days=days), etag=None)
            )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    engine = make_engine(settings)
    upgrade(engine)
    fill(make_sessionmaker(engine))
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c


def card_links(html: str) -> list[str]:
    return re.findall(r'<h2 class="title"><a href="/papers/([^"]+)">', html)


def test_home_is_the_trending_page_with_tabs(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert "<h1>Trending Papers</h1>" in r.text
    assert card_links(r.text) == card_links(client.get("/trending", params={"window": "week"}).text)
    for win in ("day", "week", "month"):
        assert f'href="/trending?window={win}"' in r.text
    assert re.search(r'<a href="/trending\?window=week" class="active" aria-current="page">Week</a>', r.text)
    # Every card carries a working upvote form (the card macro is imported with the page's context).
    assert len(
        re.findall(r'<form class="vote-form" method="post" action="/papers/[^"]+/vote">', r.text)
    ) == len(card_links(r.text))
    assert 'name="csrf_token" value="' in r.text
    # The daily list moved to /papers and still works.
    daily = client.get("/papers")
    assert daily.status_code == 200 and "Daily Papers" in daily.text


def test_windows_rank_by_the_real_score(client: TestClient) -> None:
    day = card_links(client.get("/trending", params={"window": "day"}).text)
    # 5 votes + 4,990 stars gained this week beat 10 votes; id-less ties never lead.
    assert day[:3] == ["2607.00020", "2607.00010", "2607.00030"]
    assert set(day) == {"2607.00010", "2607.00020", "2607.00030", "2607.00060"}
    week = card_links(client.get("/trending", params={"window": "week"}).text)
    assert "2606.00040" in week and "2606.00050" not in week
    month = card_links(client.get("/trending", params={"window": "month"}).text)
    assert "2606.00050" in month
    past = card_links(client.get("/trending", params={"window": "day", "until": "2026-06-28"}).text)
    assert past == ["2606.00040"]


def test_page_shows_each_score_and_escapes_titles(client: TestClient) -> None:
    html = client.get("/trending", params={"window": "day"}).text
    assert "#1 · score" in html and "+4990 ★ today" in html
    assert "<script>window" not in html and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert 'href="/papers/2607.00020#trending"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": "year"}, "invalid window"),
        ({"until": "2026-02-30"}, "invalid date"),
        ({"p": "-1"}, "page"),
    ],
)
def test_bad_parameters_are_400_pages(client: TestClient, params: dict[str, str], message: str) -> None:
    r = client.get("/trending", params=params)
    assert r.status_code == 400 and message in r.text and "text/html" in r.headers["content-type"]


def test_empty_database(settings: Settings) -> None:
    upgrade(make_engine(settings))
    with TestClient(create_app(settings)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "No papers yet" in r.text
        assert c.get("/api/trending").json() == []


def test_paper_page_explains_the_score(client: TestClient) -> None:
    html = client.get("/papers/2607.00020").text
    assert "Why is this trending?" in html
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td>', html)
    assert rows == [("Upvotes", "5"), ("Comments", "0"), ("GitHub stars gained", "4990")]
    old = client.get("/papers/2606.00050").text
    assert "not listed in the week ending 2026-07-01" in old


def test_api_explanation_sums_to_the_score(client: TestClient) -> None:
    body = client.get("/api/papers/2607.00020/trending", params={"window": "day"}).json()
    assert body["id"] == "2607.00020" and body["window"] == "day" and body["eligible"] is True
    assert body["rank"] == 1
    assert [t["name"] for t in body["terms"]] == ["votes", "comments", "stars"]
    assert sum(t["contribution"] for t in body["terms"]) == pytest.approx(body["score"], rel=1e-12)
    assert body["terms"][2]["signal"] == 4990
    assert body["params"]["gravity"] == 0.5
    assert client.get("/api/papers/2607.00020v3/trending").json()["id"] == "2607.00020"  # any spelling
    missing = client.get("/api/papers/2101.99999/trending")
    assert missing.status_code == 404 and "error" in missing.json()
    bad = client.get("/api/papers/2607.00020/trending", params={"window": "year"})
    assert bad.status_code == 400 and "invalid window" in bad.json()["error"]


def test_api_trending_list(client: TestClient) -> None:
    items = client.get("/api/trending", params={"window": "day", "limit": 2}).json()
    assert [i["id"] for i in items] == ["2607.00020", "2607.00010"]
    assert items[0]["rank"] == 1 and items[0]["starsGained"] == 4990
    assert client.get("/api/trending", params={"limit": 0}).status_code == 400


def test_daily_papers_sort_trending_uses_the_stored_score(
    db_settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    fill(session_factory)
    with TestClient(create_app(db_settings)) as c:

        def order() -> list[str]:
            r = c.get("/api/daily_papers", params={"date": "2026-07-01", "sort": "trending"})
            return [item["paper"]["id"] for item in r.json()]

        # Before `paperfeed rank`: no stored scores, most votes first.
        assert order()[:2] == ["2607.00010", "2607.00020"]
        service.recompute(session_factory, settings=db_settings, now=datetime(2026, 7, 1, 18, tzinfo=UTC))
        assert order()[:3] == ["2607.00020", "2607.00010", "2607.00030"]
        week = c.get("/api/daily_papers", params={"week": "2026-W27", "sort": "trending"}).json()
        assert week[0]["paper"]["id"] == "2607.00020"
