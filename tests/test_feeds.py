"""RSS 2.0 and Atom 1.0 feeds, parsed back with feedparser; hostile text must stay text."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import etree

import webdata
from paperfeed.config import Settings
from paperfeed.text.feeds import xml_text

BASE = "https://papers.example.org"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client whose site lives at BASE (feeds must link there, not to the test host)."""
    with TestClient(webdata.filled_app(settings.model_copy(update={"base_url": BASE + "/"}))) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "ctype", "version"),
    [("/rss", "application/rss+xml", "rss20"), ("/atom", "application/atom+xml", "atom10")],
)
def test_feed_parses_cleanly(client: TestClient, path: str, ctype: str, version: str) -> None:
    r = client.get(path, params={"date": "2026-05-29"})
    assert r.status_code == 200 and r.headers["content-type"] == f"{ctype}; charset=utf-8"
    etree.fromstring(r.content)  # well-formed XML, or this raises
    parsed = feedparser.parse(r.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == version
    assert "May 29, 2026" in parsed.feed.title
    titles = [e.title for e in parsed.entries]
    assert len(titles) == 5 and titles[0] == "Quadratic Bounds in $O(n^2)$ Time"
    # The hostile title round-trips as the same text, not as markup.
    assert webdata.HOSTILE_TITLE in titles
    hostile = next(e for e in parsed.entries if e.title == webdata.HOSTILE_TITLE)
    assert hostile.link == f"{BASE}/papers/{webdata.HOSTILE_ID}"
    # Both formats carry the abstract as text: readers show the markup, they do not run it.
    assert "onerror" in hostile.summary and "\x0b" not in hostile.summary
    if version == "atom10":
        assert hostile.summary_detail.type == "text/plain" and '<img src=x onerror="' in hostile.summary
    else:
        assert hostile.summary_detail.type == "text/html" and "<img" not in hostile.summary
    assert all(e.link.startswith(BASE + "/papers/") for e in parsed.entries)
    assert hostile.published_parsed[:3] == (2026, 5, 29)
    many = next(e for e in parsed.entries if e.link.endswith(webdata.MANY_AUTHORS_ID))
    assert many.published_parsed[:4] == (2026, 5, 28, 9)
    assert {t.term for t in many.tags} == {"cs.LG", "cs.AI"}


def test_rss_raw_escaping_and_self_link(client: TestClient) -> None:
    text = client.get("/rss", params={"week": "2026-W22"}).text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert f'href="{BASE}/rss?week=2026-W22"' in text
    assert len(feedparser.parse(text).entries) == 9


def test_atom_defaults_to_latest_day(client: TestClient) -> None:
    parsed = feedparser.parse(client.get("/atom").content)
    assert [e.link for e in parsed.entries] == [f"{BASE}/papers/2606.00002", f"{BASE}/papers/2606.00001"]
    assert parsed.entries[0].id == f"{BASE}/papers/2606.00002"
    assert parsed.feed.links[0].href.startswith(BASE)


@pytest.mark.parametrize("path", ["/rss", "/atom"])
def test_feed_bad_date_is_400(client: TestClient, path: str) -> None:
    assert client.get(path, params={"date": "2026-99-99"}).status_code == 400


def test_xml_text_drops_controls_and_escapes() -> None:
    assert xml_text("a\x00b\x0b<c>&\"'") == "ab&lt;c&gt;&amp;&quot;&apos;"
    assert xml_text("tab\tnl\n") == "tab\tnl\n"
