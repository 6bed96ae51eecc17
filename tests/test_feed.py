"""The feed query service on SQLite and PostgreSQL: periods, order, paging, navigation, validation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed import feed
from paperfeed.db.models import Paper
from paperfeed.errors import UserError
from paperfeed.ingest.store import store_records


@pytest.fixture
def filled(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The parametrised database with the web test papers."""
    webdata.fill(session_factory)
    return session_factory


def keys(page: feed.DailyPage) -> list[str]:
    return [e.paper.key for e in page.entries]


def test_empty_database_has_no_period(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        page = feed.daily(s)
        assert page.period is None and page.entries == [] and page.total == 0
        assert feed.latest_day(s) is None


def test_default_is_latest_day_in_trending_order(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        page = feed.daily(s)
        assert page.period == feed.Period("day", webdata.LATEST, webdata.LATEST)
        # Trending (for now): most upvoted first.
        assert keys(page) == ["2606.00002", "2606.00001"]


def test_day_lists_that_days_submissions(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        page = feed.daily(s, day="2026-05-29")
        assert page.total == 5
        assert keys(page)[:3] == [webdata.MATH_ID, webdata.HOSTILE_ID, webdata.MANY_AUTHORS_ID]
        assert all(e.day == webdata.D3 for e in page.entries)
        # Ties on upvotes: arXiv papers before the one without an id, whatever the ingest order.
        assert keys(page)[3] == webdata.OLD_ID and keys(page)[4].startswith("t:")


def test_published_sort_puts_older_papers_last(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        page = feed.daily(s, day=webdata.D3, sort="publishedAt")
        assert keys(page)[-1] == webdata.MANY_AUTHORS_ID


def test_week_and_month_list_each_paper_once(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        week = feed.daily(s, week="2026-W22")
        assert week.period is not None and week.period.start == date(2026, 5, 25)
        assert week.total == 9 and len(keys(week)) == 9
        assert keys(week).count(webdata.TWICE_ID) == 1
        assert feed.daily(s, month="2026-05").total == 9
        assert keys(feed.daily(s, month="2026-06")) == ["2606.00002", "2606.00001"]
        assert feed.daily(s, week="2026-W23").total == 2


def test_week_shows_the_earliest_listing_even_when_ingested_last(filled: sessionmaker[Session]) -> None:
    # A backfill: the Wednesday listing arrives first, the Tuesday one later.
    store_records(filled, [webdata._rec("2605.00999", "Backfilled Paper", webdata.D2)])
    store_records(filled, [webdata._rec("2605.00999", "Backfilled Paper", webdata.D1)])
    with filled() as s:
        week = feed.daily(s, week="2026-W22", limit=100)
        days = [e.day for e in week.entries if e.paper.key == "2605.00999"]
        assert days == [webdata.D1] and week.total == 10


def test_pages_cover_the_list_without_overlap(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        whole = keys(feed.daily(s, month="2026-05", limit=100))
        pages = [feed.daily(s, month="2026-05", limit=4, page=i) for i in range(3)]
        assert [k for p in pages for k in keys(p)] == whole
        assert [p.has_next for p in pages] == [True, True, False]
        assert keys(feed.daily(s, month="2026-05", limit=4, page=7)) == []


def test_neighbours_skip_days_without_papers(filled: sessionmaker[Session]) -> None:
    with filled() as s:

        def around(kind: feed.PeriodKind, day: date) -> tuple[date | None, date | None]:
            prev, nxt = feed.neighbours(s, feed.Period.containing(kind, day))
            return (prev.start if prev else None, nxt.start if nxt else None)

        assert around("day", webdata.D3) == (webdata.D2, webdata.D4)
        assert around("day", date(2026, 5, 28)) == (webdata.D2, webdata.D3)
        assert around("day", webdata.D1) == (None, webdata.D2)
        assert around("day", webdata.D4) == (webdata.D3, None)
        assert around("week", webdata.D3) == (None, date(2026, 6, 1))
        assert around("month", webdata.D4) == (date(2026, 5, 1), None)
        assert feed.anchor_day(s, feed.Period.containing("week", webdata.D1)) == webdata.D3


@pytest.mark.parametrize(
    "ident",
    [
        webdata.MATH_ID,
        f"{webdata.MATH_ID}v3",
        f"arXiv:{webdata.MATH_ID}",
        f"https://arxiv.org/abs/{webdata.MATH_ID}v1",
    ],
)
def test_get_paper_accepts_any_spelling(filled: sessionmaker[Session], ident: str) -> None:
    with filled() as s:
        paper = feed.get_paper(s, ident)
        assert paper is not None and paper.key == webdata.MATH_ID


def test_get_paper_by_old_id_key_and_unknown(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        old = feed.get_paper(s, webdata.OLD_ID)
        assert old is not None and old.title == "An Old-Style Identifier Paper"
        no_id = s.query(Paper).filter(Paper.arxiv_id.is_(None)).one()
        found = feed.get_paper(s, no_id.key)
        assert found is not None and found.id == no_id.id
        assert feed.get_paper(s, "2501.99999") is None
        assert feed.get_paper(s, "") is None
        assert feed.get_paper(s, "x" * 5000) is None
        assert feed.get_paper(s, "\x00") is None  # PostgreSQL would refuse the query
        assert feed.get_paper(s, f"{webdata.MATH_ID}\x00") is None
        sub = feed.latest_submission(s, feed.get_paper(s, webdata.TWICE_ID))  # type: ignore[arg-type]
        assert sub is not None and sub.day == webdata.D2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day": "2026-13-01"}, "invalid date"),
        ({"day": "2026-02-30"}, "invalid date"),
        ({"day": "26-05-01"}, "YYYY-MM-DD"),
        ({"day": "\uff12\uff10\uff12\uff16-05-29"}, "YYYY-MM-DD"),  # full-width digits
        ({"day": "9999-12-31"}, "year"),  # its week and month would end past date.max
        ({"week": "9999-W52"}, "year"),
        ({"month": "9999-12"}, "year"),
        ({"month": "0000-01"}, "year"),
        ({"week": "2026-W54"}, "no ISO week 54"),
        ({"week": "2025-W53"}, "no ISO week 53"),
        ({"week": "2026-W00"}, "no ISO week 0"),
        ({"week": "2026-22"}, "YYYY-Www"),
        ({"month": "2026-13"}, "01-12"),
        ({"month": "2026-5"}, "YYYY-MM"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": -1}, "page"),
        ({"page": 10**12}, "page"),
        ({"sort": "hot"}, "sort"),
        ({"day": "2026-05-29", "week": "2026-W22"}, "only one"),
    ],
)
def test_bad_requests_raise_feed_error(
    filled: sessionmaker[Session], kwargs: dict[str, object], message: str
) -> None:
    with filled() as s, pytest.raises(UserError, match=message):
        feed.daily(s, **kwargs)  # type: ignore[arg-type]


def test_week_53_exists_in_long_years(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        page = feed.daily(s, week="2026-W53")
        assert page.period is not None and page.period.start == date(2026, 12, 28) and page.total == 0


@contextmanager
def recorded_statements(factory: sessionmaker[Session]) -> Iterator[list[str]]:
    """The SQL statements run on factory's engine inside the block."""
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(bind, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", count)


def test_a_page_loads_in_a_fixed_number_of_queries(filled: sessionmaker[Session]) -> None:
    with recorded_statements(filled) as statements, filled() as s:
        page = feed.daily(s, month="2026-05", limit=100)
        touched = [(e.paper.author_names, e.paper.category_names, e.paper.code_links) for e in page.entries]
    assert len(touched) == 9
    # count + list + papers + authors + categories + code links; never one query per paper (N+1).
    assert len(statements) <= 7, statements


def test_a_paper_loads_in_a_fixed_number_of_queries(filled: sessionmaker[Session]) -> None:
    with recorded_statements(filled) as statements, filled() as s:
        paper = feed.get_paper(s, webdata.MATH_ID)
        assert paper is not None
        sub = feed.latest_submission(s, paper)
        assert sub is not None and sub.paper is paper and paper.author_names
    # paper + authors + categories + code links + submission; the submission must not reload the paper.
    assert len(statements) == 5, statements
