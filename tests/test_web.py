"""Server-rendered pages: listing, navigation, paper page, escaping, and error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import webdata
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.ingest.records import CodeLink
from paperfeed.ingest.store import store_records


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client over a SQLite file filled with the web test papers."""
    with TestClient(webdata.filled_app(settings)) as c:
        yield c


def card_titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="title"><a href="([^"]+)">', html)


def test_daily_list_shows_the_latest_day(client: TestClient) -> None:
    assert "Trending" in client.get("/").text  # / is the trending page; the daily list is /papers
    r = client.get("/papers")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "June 1, 2026" in r.text
    assert card_titles(r.text) == ["/papers/2606.00002", "/papers/2606.00001"]
    assert 'href="/papers?date=2026-05-29"' in r.text  # previous day with papers
    assert 'rel="next"' not in r.text  # nothing after the latest day
    assert "script-src 'self';" in r.headers["content-security-policy"]  # no inline scripts, no other hosts
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_day_page_cards(client: TestClient) -> None:
    html = client.get("/papers", params={"date": "2026-05-29"}).text
    assert card_titles(html)[:2] == [f"/papers/{webdata.MATH_ID}", f"/papers/{webdata.HOSTILE_ID}"]
    # Names are links to their author pages now: compare the text the reader sees.
    assert "Author One, Author Two, Author Three, Author Four et al." in re.sub(r"<[^>]+>", "", html)
    assert "Author Five" not in html
    assert "GitHub ★ 1234" in html
    assert '<a class="chip" href="/papers?category=cs.LG">cs.LG</a>' in html  # chips link to their list
    assert f'href="/papers/{webdata.OLD_ID}"' in html
    assert "<math" in html  # math in titles and excerpts
    # Prev/next skip the empty 28th; tabs point at the week and month of the day.
    assert 'href="/papers?date=2026-05-27"' in html and 'href="/papers?date=2026-06-01"' in html
    assert 'href="/papers?week=2026-W22"' in html and 'href="/papers?month=2026-05"' in html
    assert 'href="/rss?date=2026-05-29"' in html


def test_hostile_text_is_escaped_everywhere(client: TestClient) -> None:
    for url in ("/papers?date=2026-05-29", f"/papers/{webdata.HOSTILE_ID}"):
        html = client.get(url).text
        # The only script is our own file (static/app.js); none comes from the data.
        assert html.count("<script") == 1 and '<script src="/static/app.js" defer></script>' in html
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
        assert "<img" not in html and "<b>" not in html
        assert "javascript:" not in re.sub(r"&lt;.*?&gt;|\\href\{javascript:alert\(1\)\}", "", html)
        assert not re.search(r"""href=["']?javascript:""", html, re.IGNORECASE)


def test_week_and_month_views(client: TestClient) -> None:
    week = client.get("/papers", params={"week": "2026-W22"}).text
    assert "Week 22, 2026" in week and "9 papers" in week
    assert len(card_titles(week)) == 9
    assert 'href="/papers?week=2026-W23"' in week
    month = client.get("/papers", params={"month": "2026-06"}).text
    assert "June 2026" in month and len(card_titles(month)) == 2
    assert 'href="/papers?month=2026-05"' in month


def test_paging_links(settings: Settings) -> None:
    small = settings.model_copy(update={"page_size": 4})
    with TestClient(webdata.filled_app(small)) as c:
        first = c.get("/papers", params={"week": "2026-W22"}).text
        assert len(card_titles(first)) == 4 and "Next page" in first and "Previous page" not in first
        assert "Page 1 of 3" in first
        last = c.get("/papers", params={"week": "2026-W22", "p": 2}).text
        assert len(card_titles(last)) == 1 and "Previous page" in last and "Next page" not in last


def test_paper_page(client: TestClient) -> None:
    html = client.get(f"/papers/{webdata.MATH_ID}v2").text
    assert '<h1 class="title">Quadratic Bounds in <math' in html
    assert "Ada Lovelace, Alan Turing" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert f'href="https://arxiv.org/pdf/{webdata.MATH_ID}"' in html
    assert 'href="https://github.com/example/quadratic"' in html
    assert 'href="https://example.org/quadratic"' in html
    assert "<dt>Submitted by</dt><dd>alice</dd>" in html
    assert '<a href="/papers?date=2026-05-29">2026-05-29</a>' in html


def test_paper_page_for_many_authors_lists_all(client: TestClient) -> None:
    html = client.get(f"/papers/{webdata.MANY_AUTHORS_ID}").text
    shown = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", "", html)
    )  # names are links to author pages: the text read
    assert "Author One, Author Two, Author Three, Author Four, Author Five, Author Six" in shown
    # Listed by a harvest, not by a person: the page names the source in words.
    assert "<dt>Listed via</dt><dd>arXiv API</dd>" in html and "Submitted by" not in html


def test_project_page_already_among_code_links_is_shown_once(settings: Settings) -> None:
    app = webdata.filled_app(settings)
    twin = webdata._rec(
        "2605.07777",
        "Twin Links",
        webdata.D3,
        code_links=[CodeLink("https://example.org/twin", "project", "hf")],
        project_page="https://Example.org/twin/",
    )
    engine = make_engine(settings)
    store_records(make_sessionmaker(engine), [twin])
    engine.dispose()
    with TestClient(app) as c:
        html = c.get("/papers/2605.07777").text
    assert html.count("Project page") == 1 and 'href="https://example.org/twin"' in html


def test_paper_page_drops_non_http_links(client: TestClient) -> None:
    html = client.get(f"/papers/{webdata.HOSTILE_ID}").text
    assert 'href="https://github.com/example/safe"' in html
    assert "Project page" not in html  # its URL was javascript:


@pytest.mark.parametrize("ident", ["2501.99999", "nonsense", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"])
def test_unknown_paper_is_a_404_page(client: TestClient, ident: str) -> None:
    r = client.get(f"/papers/{ident}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text and "<script>" not in r.text


@pytest.mark.parametrize(
    "params", [{"date": "2026-02-30"}, {"week": "2026-W54"}, {"month": "13-2026"}, {"p": "-1"}, {"sort": "x"}]
)
def test_bad_listing_parameters_are_a_400_page(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/papers", params=params)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "Bad request" in r.text


def test_empty_database_home(settings: Settings) -> None:
    from paperfeed.app import create_app
    from paperfeed.db.engine import make_engine
    from paperfeed.db.migrate import upgrade

    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "No papers yet" in r.text


def test_static_css(client: TestClient) -> None:
    r = client.get("/static/style.css")
    assert r.status_code == 200 and ".card" in r.text
    # Every page names its icon, so browsers do not fetch a missing /favicon.ico on each visit.
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
