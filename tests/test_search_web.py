"""The search surfaces over HTTP, on SQLite and PostgreSQL: the page, the query box on every page, the API in
Hugging Face's shape, similar papers, saved-search feeds, and a table of bad queries that must never 500."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient

import searchkit as sk
import webdata
from paperfeed.app import create_app
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import build_keyword_index

HF_SAMPLE = Path(__file__).parent / "data" / "api" / "daily_papers.json"
OURS = {"score", "snippet", "matched_by", "similarity"}
# Keys Hugging Face sends that paperfeed leaves out (see paperfeed/api/schemas.py for why).
OMITTED = {"organization", "discussionId", "ai_summary", "ai_keywords", "ai_summary_model", "mediaUrls"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app over real papers plus the hostile web test papers, with its keyword index built."""
    with sk.database(request.param, tmp_path_factory.mktemp("web")) as settings:
        settings = settings.model_copy(update={"base_url": "http://papers.test"})
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory)
        webdata.fill(factory)
        build_keyword_index(factory, keyword_dir(settings))
        engine.dispose()
        with TestClient(create_app(settings)) as c:
            yield c


def cards(html: str) -> list[str]:
    """The paper paths of the result cards, in order."""
    return re.findall(r'<h2 class="title"><a href="(/papers/[^"]+)"', html)


def test_the_page_shows_cards_with_marked_snippets(client: TestClient) -> None:
    r = client.get("/search", params={"q": "mammogram synthesis"})
    assert r.status_code == 200
    assert cards(r.text)[0] == "/papers/2606.28537"
    assert "<mark>" in r.text and 'class="excerpt snippet"' in r.text
    assert 'type="application/rss+xml"' in r.text and "/search/atom?q=mammogram+synthesis" in r.text
    assert 'value="mammogram synthesis"' in r.text  # the query stays in the boxes
    assert "keyword search" in r.text  # no vectors here: hybrid falls back to keyword, and says so


def test_hostile_text_stays_text(client: TestClient) -> None:
    r = client.get("/search", params={"q": "Robust Safe Quoted Learning"})
    assert cards(r.text)[0] == f"/papers/{webdata.HOSTILE_ID}"
    assert "<script>window" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;" in r.text
    r = client.get("/search", params={"q": '<script>alert(1)</script>"'})
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text


def test_the_query_box_is_on_every_page(client: TestClient) -> None:
    for url in ("/papers", "/papers/2606.28537", "/search", "/papers/2501.99999"):
        r = client.get(url)
        assert '<form class="nav-search" action="/search" method="get" role="search">' in r.text, url
    r = client.get("/search", params={"q": "galaxy"})
    assert re.search(r'class="nav-search".*?value="galaxy"', r.text, re.S)


def test_an_empty_query_shows_the_form_only(client: TestClient) -> None:
    r = client.get("/search")
    assert r.status_code == 200 and 'class="search-form"' in r.text and cards(r.text) == []


def test_pages_and_filters_on_the_page(client: TestClient) -> None:
    first = client.get("/search", params={"q": "learning", "mode": "keyword"})
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert nxt is not None
    second = client.get(nxt.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "Page 2" in second.text
    assert cards(second.text) and not set(cards(first.text)) & set(cards(second.text))
    astro = client.get("/search", params={"q": "gravitational", "category": "astro-ph", "window": "month"})
    assert cards(astro.text) and 'value="astro-ph"' in astro.text


def _keys(value: Any) -> set[str]:
    return set(value) if isinstance(value, dict) else set()


def test_the_api_answers_in_hugging_faces_shape(client: TestClient) -> None:
    r = client.get("/api/papers/search", params={"q": "mammogram synthesis", "limit": 3})
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 3 and items[0]["paper"]["id"] == "2606.28537"
    hf = json.loads(HF_SAMPLE.read_text())[0]
    for item in items:
        assert _keys(item) - _keys(hf) <= OURS, _keys(item) - _keys(hf)
        assert _keys(hf) - _keys(item) - {"submittedBy"} <= OMITTED
        assert _keys(item["paper"]) - _keys(hf["paper"]) <= {"githubRepo", "githubStars", "projectPage"}
        assert item["matched_by"] == ["keyword"] and isinstance(item["score"], float)
        assert item["title"] == item["paper"]["title"] and item["summary"] == item["paper"]["summary"]
    assert "<mark>" in items[0]["snippet"]
    assert r.headers["X-Search-Mode"] == "keyword"
    pinned = client.get("/api/papers/search", params={"q": "arXiv:2606.26229v1"}).json()
    assert pinned[0]["paper"]["id"] == "2606.26229" and pinned[0]["matched_by"] == ["id"]


def test_api_filters_and_pages(client: TestClient) -> None:
    page0 = client.get("/api/papers/search", params={"q": "learning", "mode": "keyword", "limit": 5}).json()
    page1 = client.get(
        "/api/papers/search", params={"q": "learning", "mode": "keyword", "limit": 5, "p": 1}
    ).json()
    assert len(page0) == len(page1) == 5
    assert not {i["paper"]["id"] for i in page0} & {i["paper"]["id"] for i in page1}
    day = client.get("/api/papers/search", params={"q": "model", "window": "day", "limit": 100}).json()
    assert day and all(i["paper"]["publishedAt"].startswith(sk.LATEST) for i in day)


def test_similar_papers_on_the_api_and_the_paper_page(client: TestClient) -> None:
    r = client.get("/api/papers/2606.28537/similar")
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 5 and all(i["paper"]["id"] != "2606.28537" for i in items)
    assert all(i["matched_by"] == ["keyword"] for i in items)  # no vectors: shared words
    page = client.get("/papers/2606.28537")
    assert "Similar papers" in page.text
    block = page.text[page.text.index("Similar papers") :]
    assert f"/papers/{items[0]['paper']['id']}" in block
    assert client.get("/api/papers/2606.28537/similar", params={"limit": 2}).json()[0] == items[0]


def test_saved_search_feeds_parse(client: TestClient) -> None:
    page = client.get("/search", params={"q": "gravitational waves", "mode": "keyword"})
    shown = {"http://papers.test" + path for path in cards(page.text)}
    for path, kind in (("/search/rss", "rss20"), ("/search/atom", "atom10")):
        r = client.get(path, params={"q": "gravitational waves", "mode": "keyword"})
        assert r.status_code == 200
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo and parsed.version == kind
        assert "gravitational waves" in parsed.feed.title
        links = [e.link for e in parsed.entries]
        assert shown <= set(links)  # the page's first results are in the feed
        dates = [e.published_parsed for e in parsed.entries]
        assert dates == sorted(dates, reverse=True) or len(set(dates)) < len(dates)
    hostile = feedparser.parse(client.get("/search/rss", params={"q": "Robust Safe Quoted"}).content)
    assert not hostile.bozo and any("<script>" in e.title for e in hostile.entries)  # text, escaped in XML


BAD_QUERIES = [
    "",
    " ",
    "x" * 10_240,
    "!!!",
    ".,;:!?",
    "title:(",
    'a "unbalanced',
    '"',
    "AND",
    "a\x00b",
    "\x00",
    "*?~^[]{}",
    "-",
    "🙂" * 50,
]
BAD_RAW = [
    "q=%ff%fe",
    "q=%00",
    "q=a%00b",
    "q=%c3%28",
    "q=%ed%a0%80",
    "q=x&mode=bogus",
    "q=x&from=2026-02-30",
    "q=x&to=yesterday",
    "q=x&window=year",
    "q=x&code=maybe",
    "q=x&page=-1",
    "q=x&page=abc",
    "q=x&page=99999999999999999999",
    "q=x&category=%00",
    "q=x&category=" + "c" * 100,
]


def _check(r: Any, api: bool) -> None:
    assert r.status_code in (200, 400), (r.status_code, r.text[:200])
    if r.status_code == 400:
        if api:
            assert set(r.json()) == {"error"} and r.json()["error"]
        else:
            assert "Bad request" in r.text and r.headers["content-type"].startswith("text/html")


def test_bad_queries_get_results_or_a_clear_400(client: TestClient) -> None:
    for q in BAD_QUERIES:
        _check(client.get("/search", params={"q": q}), api=False)
        _check(client.get("/search/rss", params={"q": q}), api=False)
        _check(client.get("/api/papers/search", params={"q": q}), api=True)
    for raw in BAD_RAW:
        _check(client.get(f"/search?{raw}"), api=False)
        _check(client.get(f"/search/atom?{raw}"), api=False)
        _check(client.get(f"/api/papers/search?{raw.replace('page=', 'p=')}"), api=True)
    assert client.get("/api/papers/search", params={"q": "x" * 10_240}).status_code == 400
    # No q: huggingface_hub's list_papers() sends none; the answer is the latest papers (test_hf_client.py).
    latest = client.get("/api/papers/search", params={"q": ""})
    assert latest.status_code == 200 and all(i["matched_by"] == ["latest"] for i in latest.json())
    for bad_id in ("%ff%fe", "%00", "a%00b", "x" * 5000, "title:(", "%22", "..", "2606.28537/similar"):
        r = client.get(f"/api/papers/{bad_id}/similar")
        assert r.status_code in (400, 404) and "error" in r.json(), bad_id
    for limit in ("0", "51", "abc", "-1"):
        r = client.get(f"/api/papers/2606.28537/similar?limit={limit}")
        assert r.status_code == 400 and "error" in r.json()


def test_pages_load_a_few_authors_the_api_all_of_them(client: TestClient) -> None:
    from paperfeed.search.service import SearchRequest

    service = client.app.state.search  # type: ignore[attr-defined]
    few = service.search(SearchRequest(q="A Paper With Many Authors", mode="keyword", limit=1, max_authors=2))
    assert few.papers[0].author_names == ["Author One", "Author Two"]
    api = client.get("/api/papers/search", params={"q": "A Paper With Many Authors", "limit": 1}).json()
    assert [a["name"] for a in api[0]["paper"]["authors"]][-1] == "Author Six"
    page = client.get("/search", params={"q": "A Paper With Many Authors"}).text
    assert "Author One, Author Two, Author Three, Author Four et al." in re.sub(r"<[^>]+>", "", page)
