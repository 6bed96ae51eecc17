"""A small, hostile-in-places set of papers for the web, API, feed and browser tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.records import CodeLink, PaperRecord
from paperfeed.ingest.store import store_records

# Listing days: Tue 26 and Wed 27 May (ISO week 22), Fri 29 May (week 22), Mon 1 June (week 23).
# 28 May has no papers, so "previous day" from the 29th must skip to the 27th.
D1, D2, D3, D4 = date(2026, 5, 26), date(2026, 5, 27), date(2026, 5, 29), date(2026, 6, 1)
LATEST = D4

HOSTILE_ID = "2605.00666"
HOSTILE_TITLE = '<script>window.__pwned = 1</script> Robust & <b>Safe</b> "Quoted" Learning'
HOSTILE_ABSTRACT = (
    'We bound the cost by $O(n^2)$ and show <img src=x onerror="window.__pwned=1"> is inert.\r\n'
    "See \\href{javascript:alert(1)}{x} and $\\text{<script>window.__pwned=2</script>}$.\r\n\r\n"
    "A second paragraph with $$\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$$ and a control char \x0b here."
)
MATH_ID = "2605.01001"
OLD_ID = "astro-ph/0601001"
MANY_AUTHORS_ID = "2605.01002"
TWICE_ID = "2605.01003"  # listed on two days of week 22: once in the week view


def _rec(arxiv_id: str | None, title: str, day: date, **kw: object) -> PaperRecord:
    base: dict[str, object] = {
        "title": title,
        "abstract": kw.pop("abstract", f"Abstract of {title}. We study things carefully."),
        "source": kw.pop("source", "arxiv_api"),
        "arxiv_id": arxiv_id,
        "version": 1 if arxiv_id else None,
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG", "cs.AI"],
        "published": datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        "listing_date": day,
    }
    base.update(kw)
    return PaperRecord(**base)  # type: ignore[arg-type]


def records() -> list[PaperRecord]:
    """Every paper, each with a listing date (so each gets a Submission)."""
    return [
        _rec("2605.00101", "Early Tuesday Paper", D1, upvotes=3),
        _rec("2605.00102", "Second Tuesday Paper", D1, upvotes=1),
        _rec(TWICE_ID, "Twice Listed Paper", D1, upvotes=2),
        _rec("2605.00201", "Wednesday Paper", D2, upvotes=0),
        _rec(
            MATH_ID,
            "Quadratic Bounds in $O(n^2)$ Time",
            D3,
            abstract="We prove a bound of $O(n^2)$ on the cost, and $\\alpha + \\beta$ more.",
            upvotes=12,
            code_links=[CodeLink("https://github.com/example/quadratic", "github", "abstract", 1234)],
            project_page="https://example.org/quadratic",
            submitted_by="alice",
            source="hf",
        ),
        _rec(
            HOSTILE_ID,
            HOSTILE_TITLE,
            D3,
            abstract=HOSTILE_ABSTRACT,
            upvotes=7,
            comment='<a href="javascript:alert(1)">click</a>',
            code_links=[
                CodeLink("javascript:alert(1)", "github", "hf"),
                CodeLink("https://github.com/example/safe", "github", "abstract", None),
            ],
            project_page="javascript:alert(1)",
        ),
        _rec(
            MANY_AUTHORS_ID,
            "A Paper With Many Authors",
            D3,
            upvotes=5,
            authors=["Author One", "Author Two", "Author Three", "Author Four", "Author Five", "Author Six"],
            published=datetime(2026, 5, 28, 9, tzinfo=UTC),
        ),
        _rec(OLD_ID, "An Old-Style Identifier Paper", D3, upvotes=0, categories=["astro-ph"]),
        _rec(None, "A Paper Without An arXiv Id", D3, upvotes=0, categories=[]),
        _rec("2606.00001", "June Paper", D4, upvotes=4),
        _rec("2606.00002", "Another June Paper", D4, upvotes=9),
    ]


def fill(session_factory: sessionmaker[Session]) -> None:
    """Store all records, then list TWICE_ID again on the 27th (a second submission in week 22)."""
    report = store_records(session_factory, records())
    assert report.new == 11 and report.rejected == 0, report
    again = _rec(TWICE_ID, "Twice Listed Paper", D2, upvotes=2)
    store_records(session_factory, [again])


def filled_app(settings: Settings) -> FastAPI:
    """Migrate the settings' database, fill it with `records()`, and build the app over it."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
        fill(make_sessionmaker(engine))
    finally:
        engine.dispose()
    return create_app(settings)
