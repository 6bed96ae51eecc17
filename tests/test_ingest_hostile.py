"""What a hostile source sends is stored as text and http(s) links only, and reaches no output as markup."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.app import create_app
from paperfeed.community.exports import bib_escape
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.ingest.hf_daily import parse_daily_papers
from paperfeed.ingest.records import CodeLink, PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.text.arxiv_ids import is_arxiv_category
from paperfeed.text.urls import http_url

HOSTILE_ID = "2605.07777"
SAFE_ID = "2605.07778"


def _item(arxiv_id: str, title: str, summary: str, **paper: object) -> dict[str, object]:
    return {
        "paper": {
            "id": arxiv_id,
            "title": title,
            "summary": summary,
            "authors": [{"name": "Ada Lovelace"}],
            "submittedOnDailyAt": "2026-05-29T00:00:00.000Z",
            "upvotes": 3,
            **paper,
        }
    }


PAYLOAD = json.dumps(
    [
        _item(
            HOSTILE_ID,
            "&lt;script&gt;window.__pwned=1&lt;/script&gt;Safe &lt;b&gt;Title&lt;/b&gt;",
            "We show $<img src=x onerror=alert(1)>$ and &lt;iframe src=javascript:alert(1)&gt; are inert.",
            projectPage="javascript:alert(1)",
            githubRepo="data:text/html,<script>alert(1)</script>",
        ),
        _item(SAFE_ID, "A Plain Title", "Plain.", projectPage=" https://example.org/project "),
    ]
)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        report = store_records(make_sessionmaker(engine), parse_daily_papers(PAYLOAD))
        assert (report.new, report.rejected) == (2, 0), report
    finally:
        engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c


def test_hf_markup_and_script_urls_reach_neither_the_api_nor_the_feed(client: TestClient) -> None:
    paper = client.get(f"/api/papers/{HOSTILE_ID}").json()
    assert paper["title"] == "window.__pwned=1 Safe Title"
    assert "<" not in paper["summary"] and "onerror" not in paper["summary"]
    assert paper.get("projectPage") is None and paper.get("githubRepo") is None
    safe = client.get(f"/api/papers/{SAFE_ID}").json()
    assert safe["projectPage"] == "https://example.org/project"
    rss = client.get("/rss", params={"date": "2026-05-29"}).text
    assert "<title>window.__pwned=1 Safe Title</title>" in rss
    assert (
        "&lt;script" not in rss
        and "&lt;iframe" not in rss
        and "javascript:" not in rss
        and "&lt;b" not in rss
    )


def test_the_store_drops_non_http_urls_and_non_arxiv_categories(
    session_factory: sessionmaker[Session],
) -> None:
    record = PaperRecord(
        title="Links",
        abstract="",
        source="jsonl",
        arxiv_id="2605.07779",
        version=1,
        categories=['cs.AI"},{x', "cs.LG", "math.OC"],
        project_page="data:text/html,<script>alert(1)</script>",
        code_links=[
            CodeLink("javascript:alert(1)", "github", "hf"),
            CodeLink("https://github.com/example/safe", "github"),
            CodeLink("//evil.example/x", "project"),
        ],
    )
    report = store_records(session_factory, [record])
    assert (report.new, report.rejected) == (1, 0)
    with session_factory() as session:
        paper = session.scalars(select(Paper).where(Paper.arxiv_id == "2605.07779")).one()
        assert paper.project_page is None
        assert [link.url for link in paper.code_links] == ["https://github.com/example/safe"]
        assert paper.primary_category == "cs.LG"
        assert [c.category for c in sorted(paper.categories, key=lambda c: c.position)] == [
            "cs.LG",
            "math.OC",
        ]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("  http://example.org  ", "http://example.org"),
        ("HTTPS://Example.org/", "HTTPS://Example.org/"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//evil.example/x", None),
        ("/relative/path", None),
        ("https://", None),
        ("http://[::1", None),
        ("https://example.org/\x00x", None),
        ("https://example.org/" + "a" * 3000, None),
        (None, None),
    ],
)
def test_http_url(raw: str | None, kept: str | None) -> None:
    assert http_url(raw) == kept


def test_arxiv_category_shape() -> None:
    assert all(map(is_arxiv_category, ["cs.AI", "astro-ph.GA", "hep-th", "math.OC", "q-bio.NC"]))
    assert not any(map(is_arxiv_category, ['cs.AI"', "cs.AI},{x", "H.3.3; I.2.7", "", "CS.AI", "cs AI"]))


def test_bibtex_braces_double_quotes() -> None:
    assert bib_escape('say "hi" {x}') == 'say {"}hi{"} \\{x\\}'
