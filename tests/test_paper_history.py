"""Upvotes and GitHub stars over time on the paper page (ranking/history.py), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from lxml import html as lxml_html

from communitydata import Site, make_site
from paperfeed.community.models import Vote
from paperfeed.config import Settings
from paperfeed.ranking.history import paper_history
from paperfeed.ranking.models import StarSnapshot
from webdata import MATH_ID


def _history_data(site: Site) -> None:
    """Two votes on two days; three star fetches of example/quadratic (two on one day)."""
    users = [site.user(f"voter{i}") for i in range(3)]
    pid = site.paper_id(MATH_ID)
    with site.factory() as s, s.begin():
        s.add_all(
            [
                Vote(user_id=users[0], paper_id=pid, created_at=datetime(2026, 6, 1, 9, tzinfo=UTC)),
                Vote(user_id=users[1], paper_id=pid, created_at=datetime(2026, 6, 1, 18, tzinfo=UTC)),
                Vote(user_id=users[2], paper_id=pid, created_at=datetime(2026, 6, 3, 7, tzinfo=UTC)),
                StarSnapshot(
                    repo="example/quadratic", stars=1200, fetched_at=datetime(2026, 6, 1, 1, tzinfo=UTC)
                ),
                StarSnapshot(
                    repo="example/quadratic", stars=1210, fetched_at=datetime(2026, 6, 1, 23, tzinfo=UTC)
                ),
                StarSnapshot(
                    repo="example/quadratic", stars=1234, fetched_at=datetime(2026, 6, 4, 1, tzinfo=UTC)
                ),
                StarSnapshot(repo="other/repo", stars=5, fetched_at=datetime(2026, 6, 4, 1, tzinfo=UTC)),
            ]
        )


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def test_series_from_votes_over_the_source_count_and_daily_star_snapshots(site: Site) -> None:
    _history_data(site)
    with site.factory() as s:
        paper = s.get(type(site.paper(MATH_ID)), site.paper_id(MATH_ID))
        assert paper is not None
        history = paper_history(s, paper)
    assert history.votes is not None and history.stars is not None
    # Hugging Face's 12 upvotes have no dates: they are the base the running total of votes starts from.
    assert history.votes.points == ((date(2026, 6, 1), 14), (date(2026, 6, 3), 15))
    assert history.repo == "example/quadratic"
    assert history.stars.points == ((date(2026, 6, 1), 1210), (date(2026, 6, 4), 1234))


def test_no_history_draws_no_sparkline(site: Site) -> None:
    with site.factory() as s:
        paper = s.get(type(site.paper("2606.00001")), site.paper_id("2606.00001"))
        assert paper is not None
        history = paper_history(s, paper)
    assert history.votes is None and history.stars is None
    page = site.client().get("/papers/2606.00001").text
    assert "spark-row" not in page


def test_paper_page_sparklines_have_a_text_alternative(settings: Settings) -> None:
    with make_site(settings) as site:
        _history_data(site)
        doc = lxml_html.document_fromstring(site.client().get(f"/papers/{MATH_ID}").text)
    rows = doc.xpath("//section[@class='history']/p[@class='spark-row']")
    assert len(rows) == 2
    votes, stars = rows
    assert votes.xpath("string(svg/desc)") == "Upvotes went from 14 on 2026-06-01 to 15 on 2026-06-03"
    assert votes.xpath("string(span[@class='spark-text'])") == "14 (2026-06-01) → 15 (2026-06-03)"
    assert len(votes.xpath("svg/polyline/@points")[0].split()) == 2
    assert stars.xpath("string(svg/title)") == "GitHub stars over time"
    assert "★ 1210 (2026-06-01) → 1234 (2026-06-04)" in stars.text_content()


def test_trending_cards_show_their_star_gain_as_a_sparkline(db_settings: Settings) -> None:
    with make_site(db_settings) as site:
        with site.factory() as s, s.begin():
            s.add_all(
                [  # the window's baseline is the last fetch before it; two fetches inside it
                    StarSnapshot(
                        repo="example/quadratic", stars=1000, fetched_at=datetime(2026, 5, 1, tzinfo=UTC)
                    ),
                    StarSnapshot(
                        repo="example/quadratic", stars=1100, fetched_at=datetime(2026, 5, 28, tzinfo=UTC)
                    ),
                    StarSnapshot(
                        repo="example/quadratic", stars=1234, fetched_at=datetime(2026, 5, 31, tzinfo=UTC)
                    ),
                ]
            )
        doc = lxml_html.document_fromstring(site.client().get("/trending?window=month&until=2026-06-01").text)
    items = doc.xpath("//li[@class='trending-item']")
    math = next(i for i in items if i.xpath(f".//h2/a[@href='/papers/{MATH_ID}']"))
    spark = math.xpath(".//p[@class='trend-spark']")[0]
    assert spark.xpath("string(span)") == "+234 ★ this month (1000 → 1234)"
    assert "+234 ★ this month" in math.xpath("string(.//p[@class='trend-why'])")  # the score's own term
    assert len(spark.xpath("svg/polyline/@points")[0].split()) == 3
    assert spark.xpath("string(svg/desc)") == "Stars went from 1000 on 2026-05-03 to 1234 on 2026-05-31"
    others = [i for i in items if i is not math]
    assert others and all(not i.xpath(".//p[@class='trend-spark']") for i in others)  # no repo history
