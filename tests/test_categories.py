"""Category scoping of /papers, /trending, /rss, /atom and the API; /categories; chips; feed autodiscovery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from paperfeed.app import create_app
from paperfeed.categories import CategoryError, parse_category
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records

DAY1, DAY2 = date(2026, 6, 1), date(2026, 6, 2)
PAPERS = {
    "2606.01001": (["cs.CL", "cs.LG"], DAY1),
    "2606.01002": (["cs.LG"], DAY1),
    "2606.01003": (["math.CO", "cs.DM"], DAY1),  # cross-listed into cs
    "2606.01004": (["astro-ph.GA"], DAY2),
    "2606.01005": (["hep-th"], DAY2),
    "2606.01006": (["cmp-lg"], DAY1),  # a retired code arXiv's table no longer lists
}


def _records() -> list[PaperRecord]:
    return [
        PaperRecord(
            title=f"Paper {key}",
            abstract="An abstract.",
            source="arxiv_api",
            arxiv_id=key,
            version=1,
            authors=["Ada Lovelace"],
            categories=cats,
            published=datetime(day.year, day.month, day.day, 12, int(key[-1]), tzinfo=UTC),
            listing_date=day,
            upvotes=int(key[-1]),
        )
        for key, (cats, day) in PAPERS.items()
    ]


@pytest.fixture
def client(db_settings: Settings) -> Iterator[TestClient]:
    """The app over the six papers above, on SQLite and PostgreSQL."""
    engine = make_engine(db_settings)
    try:
        upgrade(engine)
        store_records(make_sessionmaker(engine), _records())
    finally:
        engine.dispose()
    with TestClient(create_app(db_settings)) as c:
        yield c


def has(name: str) -> str:
    """XPath: the element's class list holds `name`."""
    return f'contains(concat(" ", @class, " "), " {name} ")'


def _ids(html: str) -> set[str]:
    doc = lxml_html.fromstring(html)
    return {
        a.get("href").removeprefix("/papers/")
        for a in doc.xpath(f"//article[{has('card')}]//h2[{has('title')}]/a")
    }


def test_parse_category_rules(client: TestClient) -> None:
    factory = make_sessionmaker(make_engine(client.app.state.settings))  # type: ignore[attr-defined]
    with factory() as s:
        cs = parse_category(s, "cs")
        assert cs is not None and cs.is_archive and cs.name == "Computer Science"
        cl = parse_category(s, " CS.cl ")
        assert cl is not None and cl.code == "cs.CL" and not cl.is_archive
        assert cl.label == "cs.CL (Computation and Language)"
        hep = parse_category(s, "hep-th")
        assert hep is not None and not hep.is_archive  # an archive without subject classes
        old = parse_category(s, "cmp-lg")
        assert old is not None and old.code == "cmp-lg" and old.name is None
        assert parse_category(s, "") is None and parse_category(s, None) is None
        for bad in ("cs.XX", "nonsense", "cs.CL'; --", "<b>", "x" * 500):
            with pytest.raises(CategoryError) as info:
                parse_category(s, bad)
            assert info.value.status == 400 and "category" in str(info.value)


def test_daily_list_scoped_by_category_and_archive(client: TestClient) -> None:
    day1 = {"date": DAY1.isoformat()}
    assert _ids(client.get("/papers", params={**day1, "category": "cs"}).text) == {
        "2606.01001",
        "2606.01002",
        "2606.01003",
    }
    assert _ids(client.get("/papers", params={**day1, "category": "cs.CL"}).text) == {"2606.01001"}
    assert _ids(client.get("/papers", params={**day1, "category": "math"}).text) == {"2606.01003"}
    # No date: the latest day that has papers in the category (DAY2 has none in cs).
    page = client.get("/papers", params={"category": "cs.LG"}).text
    assert _ids(page) == {"2606.01001", "2606.01002"} and "in cs.LG (Machine Learning)" in page
    # Tabs, sort links and day navigation keep the scope.
    doc = lxml_html.fromstring(page)
    links = [a.get("href") for a in doc.xpath(f"//nav[{has('tabs')}]//a | //span[{has('sort')}]//a")]
    assert links and all("category=cs.LG" in h for h in links)


def test_trending_feeds_and_api_are_scoped(client: TestClient) -> None:
    trending = client.get("/trending", params={"category": "cs", "window": "month"}).text
    assert _ids(trending) == {"2606.01001", "2606.01002", "2606.01003"}
    assert "in cs (Computer Science)" in trending
    for path in ("/rss", "/atom"):
        r = client.get(path, params={"date": DAY1.isoformat(), "category": "cs.LG"})
        parsed = feedparser.parse(r.content)
        assert {e.link.rsplit("/", 1)[1] for e in parsed.entries} == {"2606.01001", "2606.01002"}
        assert "category=cs.LG" in r.text and "cs.LG (Machine Learning)" in parsed.feed.title
    api = client.get("/api/daily_papers", params={"date": DAY1.isoformat(), "category": "cs"}).json()
    assert {i["paper"]["id"] for i in api} == {"2606.01001", "2606.01002", "2606.01003"}
    api = client.get("/api/daily_papers", params={"category": "astro-ph"}).json()
    assert [i["paper"]["id"] for i in api] == ["2606.01004"]


def test_a_bad_category_is_a_clear_400(client: TestClient) -> None:
    for path in ("/papers", "/trending", "/rss", "/atom", "/api/daily_papers"):
        for bad in ("cs.XX", "not a category", "\x00", "cs.CL'--"):
            r = client.get(path, params={"category": bad})
            assert r.status_code == 400, (path, bad, r.text)
            assert "category" in (r.json()["error"] if path.startswith("/api") else r.text)


def test_categories_page_lists_the_taxonomy_with_counts_and_links(client: TestClient) -> None:
    doc = lxml_html.fromstring(client.get("/categories").text)
    rows = {
        a.get("href"): a.getparent().text_content().split()
        for a in doc.xpath(f"//ul[{has('category-list')}]/li/a | //section[{has('archive')}]/h2/a")
    }
    assert rows["/papers?category=cs.CL"][-1] == "1" and "Language" in rows["/papers?category=cs.CL"]
    assert rows["/papers?category=cs.LG"][-1] == "2"
    assert rows["/papers?category=q-fin.TR"][-1] == "0"  # every listed category, papers or not
    archive = next(
        h for h in doc.xpath(f"//section[{has('archive')}]/h2") if "Computer Science" in h.text_content()
    )
    assert archive.text_content().split()[-1] == "3"  # each paper once, though 2606.01001 is in two
    assert "/papers?category=cmp-lg" in rows  # a stored code the table lacks is still listed


def test_chips_link_to_their_scoped_list(client: TestClient) -> None:
    doc = lxml_html.fromstring(client.get("/papers", params={"date": DAY1.isoformat()}).text)
    chips = {
        a.text_content(): a.get("href") for a in doc.xpath(f"//article[{has('card')}]//a[{has('chip')}]")
    }
    assert chips["cs.CL"] == "/papers?category=cs.CL" and chips["math.CO"] == "/papers?category=math.CO"
    paper = lxml_html.fromstring(client.get("/papers/2606.01003").text)
    assert [a.get("href") for a in paper.xpath(f"//dl[{has('facts')}]//a[{has('chip')}]")] == [
        "/papers?category=math.CO",
        "/papers?category=cs.DM",
    ]


def _alternates(html: str) -> dict[str, str]:
    doc = lxml_html.fromstring(html)
    return {link.get("type"): link.get("href") for link in doc.xpath('/html/head/link[@rel="alternate"]')}


PAGES_AND_FEEDS = [
    ("/papers/2606.01001", "/rss"),
    ("/categories", "/rss"),
    ("/login", "/rss"),
    ("/papers?date=2026-06-01", "/rss?date=2026-06-01"),
    ("/papers?date=2026-06-01&category=cs.CL", "/rss?date=2026-06-01&category=cs.CL"),
    ("/trending", "/rss?sort=trending"),
    ("/trending?category=cs", "/rss?sort=trending&category=cs"),
]


def test_every_page_names_its_feed_in_head(client: TestClient) -> None:
    for path, rss in PAGES_AND_FEEDS:
        found = _alternates(client.get(path).text)
        assert found["application/rss+xml"] == rss, path
        assert found["application/atom+xml"] == rss.replace("/rss", "/atom", 1), path
        assert client.get(rss).status_code == 200
