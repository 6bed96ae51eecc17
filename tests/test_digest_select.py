"""Selection: which papers a subscriber gets, why, and the periods digests cover."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.config import Settings
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period, PeriodError, due, parse_period, period_for_send_day
from paperfeed.digests.select import CodeLink, DigestPaper, Pick, SelectionContext, load_papers, select_digest

DAY = Period.day(date(2026, 11, 27))
SETTINGS = Settings(secret_key="test-only-secret")  # nothing written to the working directory


def paper(
    pid: int, title: str, *, score: int = 0, cats: tuple[str, ...] = ("cs.LG",), **kw: object
) -> DigestPaper:
    base: dict[str, object] = {
        "id": pid,
        "key": f"2611.{pid:05d}",
        "arxiv_id": f"2611.{pid:05d}",
        "title": title,
        "abstract": kw.pop("abstract", f"About {title.lower()}."),
        "authors": kw.pop("authors", ("Someone Else",)),
        "categories": cats,
        "code_links": kw.pop("code_links", ()),
        "upvotes": score,
        "score": score,
        "published": datetime(2026, 11, 27, pid % 24, tzinfo=UTC),
    }
    base.update(kw)
    return DigestPaper(**base)  # type: ignore[arg-type]


CODE = (CodeLink("https://github.com/x/y", "github", 10),)
PAPERS = [
    paper(1, "Retrieval Augmented Generation at Scale", score=30, cats=("cs.CL", "cs.IR"), code_links=CODE),
    paper(2, "Diffusion Models for Images", score=20, cats=("cs.CV",)),
    paper(
        3, "Large Language Models Reason", score=10, cats=("cs.CL",), authors=("José García", "Ada Lovelace")
    ),
    paper(4, "Galaxy Rotation Curves", score=5, cats=("astro-ph.GA",), code_links=CODE),
    paper(5, "A Quiet Theorem", score=0, cats=("math.PR",)),
    paper(6, "Models of Language, Large Ones", score=0, cats=("cs.CL",), abstract="Language models, large."),
]


@pytest.fixture
def ctx() -> SelectionContext:
    return SelectionContext.from_papers(DAY, {p.id: p for p in PAPERS})


def sub(**kw: object) -> Subscription:
    values: dict[str, object] = {
        "id": 1,
        "email": "r@example.org",
        "status": "active",
        "frequency": "daily",
        "categories": [],
        "saved_searches": [],
        "authors": [],
        "max_papers": 10,
        "only_code": False,
        "token_version": 1,
    }
    values.update(kw)
    return Subscription(**values)


def pick(ctx: SelectionContext, exclude: tuple[int, ...] = (), **kw: object) -> list[Pick]:
    return select_digest(
        None, subscription=sub(**kw), period=DAY, settings=SETTINGS, exclude=exclude, context=ctx
    )  # type: ignore[arg-type]


def ids(picks: list[Pick]) -> list[int]:
    return [p.paper_id for p in picks]


def test_no_preferences_gives_the_period_by_trending_score(ctx: SelectionContext) -> None:
    picks = pick(ctx)
    assert ids(picks) == [1, 2, 3, 4, 6, 5]  # score, then newest (6 was published after 5)
    assert [p.reason for p in picks[:4]] == ["Trending"] * 4
    assert picks[-1].reason == "New today"  # nobody voted: not called trending


def test_categories_filter_the_trending_part(ctx: SelectionContext) -> None:
    assert ids(pick(ctx, categories=["cs.CL"])) == [1, 3, 6]
    assert ids(pick(ctx, categories=["astro-ph"])) == [4]  # an archive means all of its categories
    assert ids(pick(ctx, categories=["cs.IR", "math.PR"])) == [1, 5]
    assert pick(ctx, categories=["math.PR"]) == [Pick(5, "In math.PR")]
    assert pick(ctx, categories=["q-bio.NC"]) == []  # nothing matches: nothing is sent


def test_max_papers_only_code_and_exclude(ctx: SelectionContext) -> None:
    assert ids(pick(ctx, max_papers=2)) == [1, 2]
    assert ids(pick(ctx, only_code=True)) == [1, 4]
    assert ids(pick(ctx, exclude=(1, 3), max_papers=3)) == [2, 4, 6]
    assert ids(pick(ctx, exclude=set(range(1, 7)))) == []
    assert pick(ctx, only_code=True, categories=["math"]) == []


def test_saved_searches_and_followed_authors_come_first(ctx: SelectionContext) -> None:
    picks = pick(ctx, saved_searches=["retrieval"], authors=["jose GARCIA"], max_papers=3)
    assert picks == [
        Pick(1, 'Matches your saved search "retrieval"'),
        Pick(3, "By José García, whom you follow"),  # the byline's spelling, accents ignored for matching
        Pick(2, "Trending"),
    ]
    # Personal matches ignore the category filter (an explicit ask) but not only_code.
    assert ids(pick(ctx, authors=["Ada Lovelace"], categories=["astro-ph"])) == [3, 4]
    assert ids(pick(ctx, authors=["Ada Lovelace"], only_code=True)) == [1, 4]


def test_saved_search_matching(ctx: SelectionContext) -> None:
    assert ctx.search("language models") == (3, 6)  # every word, any order; plural folded
    assert ctx.search('"large language model"') == (3,)  # a phrase must appear as such
    assert ctx.search("LARGE  Language") == (3, 6)
    assert ctx.search("galaxy diffusion") == ()
    assert ctx.search("") == ()
    assert ctx.search("retriéval") == (1,)  # accents folded
    picks = pick(ctx, saved_searches=['"large language model"', "nothing matches this"])
    assert picks[0] == Pick(3, 'Matches your saved search "large language model"')


def test_a_paper_appears_once_with_its_first_reason(ctx: SelectionContext) -> None:
    picks = pick(ctx, saved_searches=["language"], authors=["Ada Lovelace"])
    assert len(ids(picks)) == len(set(ids(picks)))
    assert picks[0] == Pick(3, 'Matches your saved search "language"')


def test_context_must_match_the_period(ctx: SelectionContext) -> None:
    with pytest.raises(ValueError, match="context is for"):
        select_digest(
            None, subscription=sub(), period=Period.day(date(2026, 11, 26)), settings=SETTINGS, context=ctx
        )  # type: ignore[arg-type]


def test_selection_from_the_database(session_factory: sessionmaker[Session], db_settings: Settings) -> None:
    webdata.fill(session_factory)
    week = parse_period("2026-W22", "weekly")
    with session_factory() as session:
        ctx = SelectionContext.build(session, week, db_settings)
        # Papers listed Tue 26 to Fri 29 May; the one listed twice counts once.
        assert len(ctx.papers) == 9
        assert ctx.papers[ctx.order[0]].title.startswith("Quadratic Bounds")  # 12 upvotes
        math = ctx.papers[ctx.order[0]]
        assert math.code_links[0].stars == 1234 and math.authors == ("Ada Lovelace", "Alan Turing")
        picks = select_digest(
            session,
            subscription=sub(frequency="weekly", only_code=True, max_papers=5),
            period=week,
            settings=db_settings,
        )
        assert [ctx.papers[p.paper_id].arxiv_id for p in picks] == [webdata.MATH_ID, webdata.HOSTILE_ID]
        # Without a context it builds its own, with the same answer.
        again = select_digest(
            session, subscription=sub(frequency="weekly", only_code=True), period=week, settings=db_settings
        )
        assert again == picks
        assert set(load_papers(session, [p.paper_id for p in picks])) == {p.paper_id for p in picks}
        day = Period.day(webdata.D4)
        assert [
            p.reason for p in select_digest(session, subscription=sub(), period=day, settings=db_settings)
        ] == [
            "Trending",
            "Trending",
        ]
        empty = Period.day(date(2026, 5, 28))
        assert select_digest(session, subscription=sub(), period=empty, settings=db_settings) == []


def test_periods() -> None:
    assert parse_period("2026-11-27", "daily") == Period(
        "daily", date(2026, 11, 27), date(2026, 11, 27), "2026-11-27"
    )
    week = parse_period("2026-W48", "weekly")
    assert (week.start, week.end, week.label) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert parse_period("2026-11-27", "weekly") == week
    assert parse_period("2026-W01", "weekly").start == date(2025, 12, 29)  # ISO week 1 starts in December
    for text, freq in (
        ("2026-W48", "daily"),
        ("2026-02-30", "daily"),
        ("2026-W54", "weekly"),
        ("x", "daily"),
    ):
        with pytest.raises(PeriodError):
            parse_period(text, freq)
    with pytest.raises(PeriodError):
        parse_period("2026-11-27", "hourly")
    friday, saturday, monday = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)
    assert due("daily", friday) and not due("daily", saturday) and due("daily", monday)
    assert due("weekly", monday) and not due("weekly", friday)
    assert period_for_send_day("daily", friday) == Period.day(friday)
    assert period_for_send_day("weekly", monday) == week  # Monday's digest covers the week before
    assert week.title == "the week of November 23, 2026" and Period.day(friday).title == "November 27, 2026"


def test_the_trending_services_order_comes_first() -> None:
    ctx = SelectionContext.from_papers(DAY, {p.id: p for p in PAPERS}, ranking=[5, 2, 99, 5])
    assert ctx.order == [5, 2, 1, 3, 4, 6]  # unknown and repeated ids ignored; the rest by votes
    picks = pick(ctx, max_papers=3)
    assert picks == [
        Pick(5, "New today"),
        Pick(2, "Trending"),
        Pick(1, "Trending"),
    ]  # no votes: not "Trending"
