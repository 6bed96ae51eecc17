"""Keyword search over real papers, on SQLite and PostgreSQL: relevance, pinning, phrases, stems, typos,
filters, pages, and the incremental sync of the tantivy index after later ingests."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from datetime import date

import pytest
import tantivy
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

import searchkit as sk
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.models import CodeLinkRow, Paper
from paperfeed.ingest.jsonl import parse_jsonl_object
from paperfeed.ingest.store import store_records
from paperfeed.search.keyword import CODE_KINDS, keyword_dir
from paperfeed.search.keyword_store import build_keyword_index, current_generation, sync_keyword_index
from paperfeed.search.service import SearchError, SearchRequest, SearchService


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "sqlite, 2 shards"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchService]:
    """One filled database per backend, shared by the read-only tests of this module; the same tests run
    on an index split in two shards (as a large corpus is)."""
    kind, _, shards = str(request.param).partition(", ")
    with sk.database(kind, tmp_path_factory.mktemp("search")) as settings:
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory)
        service = sk.service_for(settings, factory, shards=2 if shards else None)
        assert service.keyword.shards == (2 if shards else 1)
        yield service
        engine.dispose()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("MiqraBERT biblical hebrew", "2606.19638"),
        ("mammogram synthesis", "2606.28537"),
        ("magnetic monopole blazars", "2606.26229"),
        ("URDF synthesis from RGB-D", "2606.18861"),
        ("Xianming Zeng", "2503.11731"),  # an author's name
    ],
)
def test_the_paper_described_comes_first(service: SearchService, query: str, expected: str) -> None:
    assert sk.ids(sk.search(service, query, limit=5))[0] == expected


@pytest.mark.parametrize(
    "query", ["2606.26229", "2606.26229v1", "arXiv:2606.26229", "https://arxiv.org/abs/2606.26229"]
)
def test_an_arxiv_id_is_pinned_first(service: SearchService, query: str) -> None:
    for mode in ("keyword", "hybrid", "semantic"):
        result = sk.search(service, query, mode=mode)
        assert sk.ids(result)[:1] == ["2606.26229"], mode
        assert result.hits[0].matched_by[0] == "id"


def test_an_old_style_id_is_pinned_and_an_unknown_id_says_so(service: SearchService) -> None:
    assert sk.ids(sk.search(service, "astro-ph/9906432v1"))[:1] == ["astro-ph/9906432"]
    missing = sk.search(service, "2606.99999")
    assert missing.hits == [] and "No paper with arXiv id 2606.99999" in missing.notices[0]


def test_an_exact_title_is_pinned_even_among_common_words(service: SearchService) -> None:
    for query in (
        "The Human Creativity Benchmark",
        "the human creativity benchmark!",
        "THE HUMAN  CREATIVITY benchmark",
    ):
        result = sk.search(service, query)
        assert sk.ids(result)[0] == "2606.30561"
        assert result.hits[0].matched_by[0] == "title"


def test_phrases_must_match_in_order(service: SearchService) -> None:
    result = sk.search(service, '"gravitational waves"', limit=50)
    assert len(result.papers) >= 5
    for paper in result.papers:
        words = " ".join(re.findall(r"\w+", f"{paper.title} {paper.abstract}".lower()))
        assert "gravitational wave" in words, paper.arxiv_id
    assert sk.search(service, '"waves gravitational"').hits == []
    # An unclosed quote is a phrase to the end, not a syntax error.
    assert sk.ids(sk.search(service, '"gravitational waves', limit=50)) == sk.ids(result)


def test_stems_match_across_word_forms(service: SearchService) -> None:
    assert sk.ids(sk.search(service, "galaxies", limit=50)) == sk.ids(sk.search(service, "galaxy", limit=50))
    assert "2606.30561" in sk.ids(sk.search(service, "benchmarking creativity", limit=5))


def test_excluded_words_are_left_out(service: SearchService) -> None:
    everything = sk.search(service, "gravitational", limit=100)
    without = sk.search(service, "gravitational -lensed", limit=100)
    assert 0 < len(without.papers) < len(everything.papers)
    assert all("lensed" not in f"{p.title} {p.abstract}".lower() for p in without.papers)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("mamogram", "2606.28537"), ("mammog", "2606.28537"), ("blazr monopole", "2606.26229")],
)
def test_typos_and_unfinished_words_still_find_the_paper(
    service: SearchService, query: str, expected: str
) -> None:
    result = sk.search(service, query, limit=5)
    assert expected in sk.ids(result)
    assert any("close spellings" in n for n in result.notices)


def test_snippets_mark_matched_words_in_escaped_text(service: SearchService) -> None:
    result = sk.search(service, "mammogram synthesis", limit=1)
    snippet = str(result.hits[0].snippet)
    assert "<mark>mammograms</mark>" in snippet.lower()


def test_filters_by_category_archive_code_and_dates(service: SearchService) -> None:
    astro = sk.search(service, "gravitational", category="astro-ph", limit=100)
    assert astro.papers and all(any(c.startswith("astro-ph") for c in p.category_names) for p in astro.papers)
    exact = sk.search(service, "gravitational", category="astro-ph.CO", limit=100)
    assert exact.papers and all("astro-ph.CO" in p.category_names for p in exact.papers)
    assert len(exact.papers) < len(astro.papers)
    assert sk.ids(sk.search(service, "gravitational", category="ASTRO-PH.co", limit=100)) == sk.ids(exact)

    code = sk.search(service, "model", has_code=True, limit=100)
    assert code.papers and all(any(link.kind in CODE_KINDS for link in p.code_links) for p in code.papers)
    no_code = sk.search(service, "model", has_code=False, limit=100)
    assert not {p.id for p in code.papers} & {p.id for p in no_code.papers}

    ranged = sk.search(service, "model", date_from=date(2026, 6, 23), date_to=date(2026, 6, 24), limit=100)
    assert ranged.papers
    assert all(
        date(2026, 6, 23) <= p.listing_date <= date(2026, 6, 24) for p in ranged.papers if p.listing_date
    )
    assert all(p.listing_date for p in ranged.papers)


def test_listing_windows_count_back_from_the_latest_day(service: SearchService) -> None:
    latest = date.fromisoformat(sk.LATEST)
    day = sk.search(service, "model", window="day", limit=100)
    assert day.papers and {p.listing_date for p in day.papers} == {latest}
    week = sk.search(service, "model", window="week", limit=100)
    assert all((latest - p.listing_date).days < 7 for p in week.papers if p.listing_date)
    assert len(week.papers) > len(day.papers)
    month = sk.search(service, "model", window="month", limit=100)
    assert len(month.papers) >= len(week.papers)


def test_pages_split_one_ranking(service: SearchService) -> None:
    whole = sk.search(service, "learning", limit=15, count=True)
    pages = [sk.search(service, "learning", limit=5, page=n, count=True) for n in range(3)]
    assert [i for p in pages for i in sk.ids(p)] == sk.ids(whole)
    assert whole.total is not None and whole.total > 15 and pages[0].total == whole.total
    assert pages[0].has_next and pages[2].has_next
    last = sk.search(service, "learning", limit=100, page=(whole.total // 100), count=True)
    assert not last.has_next


def test_bad_requests_raise_a_search_error(service: SearchService) -> None:
    for bad in (
        SearchRequest(q="x", mode="fuzzy"),
        SearchRequest(q="x", limit=0),
        SearchRequest(q="x", limit=101),
        SearchRequest(q="x", page=-1),
        SearchRequest(q="x", page=500, limit=20),
        SearchRequest(q="x", window="year"),
        SearchRequest(q="x", date_from=date(2026, 7, 2), date_to=date(2026, 7, 1)),
        SearchRequest(q="x" * 10_000),
    ):
        with pytest.raises(SearchError):
            service.search(bad)


def test_odd_text_never_raises(service: SearchService) -> None:
    for q in (
        "",
        "   ",
        "!!!",
        "title:(",
        'a "b',
        "-",
        "--x",
        "\x00\x01",
        "\ufffd\ufffd",
        "AND OR NOT",
        "*?[]{}~^",
    ):
        for mode in ("keyword", "hybrid", "semantic"):
            service.search(SearchRequest(q=q, mode=mode))


def _record(obj: dict[str, object]) -> list[object]:
    return [parse_jsonl_object(obj)]


def test_sync_indexes_new_and_changed_papers(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    demo = sk.demo_objects()
    sk.fill(session_factory, demo[:-1])
    service = sk.service_for(db_settings, session_factory)
    root = keyword_dir(db_settings)
    assert sync_keyword_index(session_factory, root) == 0  # nothing changed since the build

    newcomer = demo[-1]  # a real paper ingested after the index was built
    words = str(newcomer["title"])
    assert str(newcomer["id"]).split("v")[0] not in sk.ids(sk.search(service, words, limit=3))
    store_records(session_factory, _record(newcomer))  # type: ignore[arg-type]
    assert sync_keyword_index(session_factory, root) == 1
    service.keyword.refresh(force=True)
    assert sk.ids(sk.search(service, words, limit=3))[0] == str(newcomer["id"]).split("v")[0]
    assert sync_keyword_index(session_factory, root) == 0

    # A newer version renames a paper: its new words find it, its old title's words no longer do.
    old = demo[0]
    renamed = dict(
        old,
        id=f"{old['id']}v2",
        title="Zanzibar Quokka Toolkit",
        summary="A toolkit for zanzibar quokka problems, rewritten from scratch.",
    )
    store_records(session_factory, _record(renamed))  # type: ignore[arg-type]
    assert sync_keyword_index(session_factory, root) == 1
    service.keyword.refresh(force=True)
    assert sk.ids(sk.search(service, "zanzibar quokka", limit=3)) == [old["id"]]
    assert old["id"] not in sk.ids(sk.search(service, "STORX MATLAB", limit=10))
    assert old["id"] not in sk.ids(sk.search(service, str(old["title"]), limit=10))  # no stale title pin


def test_sync_drops_deleted_papers(db_settings: Settings, session_factory: sessionmaker[Session]) -> None:
    sk.fill(session_factory, sk.demo_objects()[:40])
    service = sk.service_for(db_settings, session_factory)
    assert sk.ids(sk.search(service, "STORX MATLAB", limit=1)) == ["2606.17291"]
    with session_factory() as session, session.begin():
        pid = session.scalar(select(Paper.id).where(Paper.arxiv_id == "2606.17291"))
        session.execute(delete(CodeLinkRow).where(CodeLinkRow.paper_id == pid))
        session.execute(delete(Paper).where(Paper.id == pid))
    assert sync_keyword_index(session_factory, keyword_dir(db_settings)) == 1
    service.keyword.refresh(force=True)
    assert "2606.17291" not in sk.ids(sk.search(service, "STORX MATLAB", limit=10))


def test_a_rebuild_replaces_the_live_generation(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sk.fill(session_factory, sk.demo_objects()[:30])
    service = sk.service_for(db_settings, session_factory)
    root = keyword_dir(db_settings)
    first = current_generation(root)
    before = set(sk.ids(sk.search(service, "learning", limit=100)))
    seen: list[tuple[int, int]] = []
    assert build_keyword_index(session_factory, root, progress=lambda d, t: seen.append((d, t))) == 30
    second = current_generation(root)
    assert first is not None and second is not None and second != first and not first.exists()
    assert seen[-1] == (30, 30)
    service.keyword.refresh(force=True)
    assert set(sk.ids(sk.search(service, "learning", limit=100))) == before


def test_no_index_yet_says_so(settings: Settings, sqlite_engine: object) -> None:
    from paperfeed.db.engine import make_sessionmaker

    factory = make_sessionmaker(sqlite_engine)  # type: ignore[arg-type]
    service = SearchService(settings=settings, session_factory=factory)
    result = service.search(SearchRequest(q="anything", mode="keyword"))
    assert result.hits == [] and "being built" in result.notices[0]


def test_a_sync_skips_while_another_writer_holds_the_index(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sk.fill(session_factory, sk.demo_objects()[:10])
    root = keyword_dir(db_settings)
    build_keyword_index(session_factory, root)
    sk.fill(session_factory, sk.demo_objects()[10:12])
    gen = current_generation(root)
    assert gen is not None
    other = tantivy.Index.open(str(gen)).writer(15_000_000, 1)  # e.g. an ingest in another process
    assert sync_keyword_index(session_factory, root) == 0
    del other  # dropping the writer releases the lock
    gc.collect()
    assert sync_keyword_index(session_factory, root) == 2


def test_changing_the_title_boost_rebuilds(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sk.fill(session_factory, sk.demo_objects()[:10])
    root = keyword_dir(db_settings)
    build_keyword_index(session_factory, root, title_boost=2)
    first = current_generation(root)
    assert sync_keyword_index(session_factory, root, title_boost=3) == 10
    assert current_generation(root) != first
