"""arXiv API: the Atom parser on real 2016 and 2026 feeds, and ArxivApiSource against the replay server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperfeed.ingest.arxiv_api import ArxivApiSource, AtomError, parse_arxiv_atom
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ingest.records import PaperRecord, Rejected, consume
from replay import UA, FakeClock, ReplayServer, Reply, clocked_client, fast_client, recorded_body_bytes

DATA = Path(__file__).parent / "data" / "arxiv_api"


def body(name: str) -> bytes:
    """A fixture's payload: raw XML, or the body of a {url, status_code, body} recording."""
    path = DATA / name
    if path.suffix == ".xml":
        return path.read_bytes()
    return recorded_body_bytes(json.loads(path.read_text(encoding="utf-8"))["body"])


def recording(prefix: str) -> Path:
    (path,) = DATA.glob(f"{prefix}_*.json")
    return path


def papers(items: list[PaperRecord | Rejected]) -> list[PaperRecord]:
    out = [i for i in items if isinstance(i, PaperRecord)]
    assert len(out) == len(items), [i for i in items if isinstance(i, Rejected)]
    return out


# --- parser: 2016 layout ---------------------------------------------------------------------------


def test_legacy_2016_entry_fields() -> None:
    page = parse_arxiv_atom(body("legacy2016_id_list=1111.2011v2.xml"))
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 10)
    (paper,) = papers(page.items)
    assert paper.source == "arxiv_api"
    assert (paper.arxiv_id, paper.version) == ("1111.2011", 2)
    # The title is hard-wrapped in the feed; it comes out on one line.
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as layered superc")
    assert "\n" not in paper.abstract
    assert paper.authors == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert paper.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert paper.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert paper.code_links == []


def test_legacy_2016_search_page() -> None:
    page = parse_arxiv_atom(body("legacy2016_search_query=au_del_maestro.xml"))
    assert (page.total_results, page.items_per_page) == (31, 10)
    found = papers(page.items)
    assert len(found) == 10
    assert all(any(a.endswith("Del Maestro") for a in p.authors) for p in found)
    assert all(p.published and p.published.tzinfo is not None for p in found)
    assert found[0].arxiv_id == "1201.4869"


def test_legacy_old_style_id() -> None:
    page = parse_arxiv_atom(body("legacy2016_search_query=au_del_maestro_AND_ti_checkerboard.xml"))
    (paper,) = papers(page.items)
    assert (paper.arxiv_id, paper.version) == ("cond-mat/0603029", 1)
    assert paper.categories[0] == "cond-mat.str-el"


# --- parser: 2026 layout ---------------------------------------------------------------------------


def test_2026_layout_entries() -> None:
    page = parse_arxiv_atom(body("query_transformer_2026.xml"))
    assert (page.total_results, page.start_index, page.items_per_page) == (28946, 0, 5)
    found = papers(page.items)
    assert [p.arxiv_id for p in found][:2] == ["2606.13677", "2606.13591"]
    mana = found[0]
    assert mana.version == 1
    assert mana.title == "Mana: Dexterous Manipulation of Articulated Tools"
    assert mana.authors == ["Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu"]
    assert mana.categories == ["cs.RO", "cs.AI", "cs.CV", "cs.LG"]
    assert "(<1 minute per tool)" in mana.abstract  # &lt; decoded, not taken for a tag
    assert mana.comment == "Project Page: https://zhaohengyin.github.io/mana"
    assert mana.project_page == "https://zhaohengyin.github.io/mana"
    assert [(c.url, c.kind, c.origin) for c in mana.code_links] == [
        ("https://zhaohengyin.github.io/mana", "project", "comment")
    ]
    assert found[1].categories[0] == "cs.AI"


def test_primary_category_comes_first_even_when_listed_later() -> None:
    # 2026 feeds put arxiv:primary_category after the category list; make it differ from the first one.
    raw = body("query_transformer_2026.xml").replace(
        b'<arxiv:primary_category term="cs.RO"/>', b'<arxiv:primary_category term="cs.LG"/>', 1
    )
    mana = papers(parse_arxiv_atom(raw).items)[0]
    assert mana.categories == ["cs.LG", "cs.RO", "cs.AI", "cs.CV"]
    assert mana.primary_category == "cs.LG"


def test_recorded_old_style_id_and_journal_ref() -> None:
    (paper,) = papers(parse_arxiv_atom(body(recording("recorded_id_astro-ph_0601001").name)).items)
    assert (paper.arxiv_id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.authors[0] == "Andrew Gould"
    assert "Gould & Morgan (2003)" in paper.abstract


def test_recorded_utf8_names_survive() -> None:
    (paper,) = papers(parse_arxiv_atom(body(recording("recorded_id_1707.08567").name)).items)
    assert "Dirk Wübben" in paper.authors
    assert len(paper.authors) == 34


def test_github_link_in_comment() -> None:
    found = papers(parse_arxiv_atom(body(recording("recorded_q_testing_s40_m10").name)).items)
    by_id = {p.arxiv_id: p for p in found}
    links = by_id["1706.00679"].code_links
    assert [(c.url, c.kind, c.origin) for c in links] == [
        ("https://github.com/ydecastro/super-resolution-testing", "github", "comment")
    ]
    assert by_id["2507.10541"].code_links[0].origin == "abstract"


def test_empty_result() -> None:
    page = parse_arxiv_atom(body(recording("recorded_id_0000.0000").name))
    assert page.items == []
    assert page.total_results == 0


def test_error_entry_is_rejected_not_a_paper() -> None:
    page = parse_arxiv_atom(body(recording("recorded_id_abc").name))
    (item,) = page.items
    assert isinstance(item, Rejected)
    assert item.source == "arxiv_api"
    assert item.record == "https://arxiv.org/api/errors#incorrect_id_format_for_abc"
    assert item.reason == "arXiv API error: incorrect id format for abc"


def test_bad_entries_are_rejected_and_the_rest_kept() -> None:
    raw = body("query_transformer_2026.xml")
    raw = raw.replace(b"<id>http://arxiv.org/abs/2606.13677v1</id>", b"<id>http://arxiv.org/abs/garbage</id>")
    raw = raw.replace(
        b"<title>Multiagent Protocols with Aggregated Confidence Signals</title>", b"<title>  </title>"
    )
    items = parse_arxiv_atom(raw, source="custom").items
    assert len(items) == 5
    first, second = items[0], items[1]
    assert isinstance(first, Rejected) and first.record == "http://arxiv.org/abs/garbage"
    assert "invalid arXiv id" in first.reason
    assert isinstance(second, Rejected) and second.record == "2606.13591v1"
    assert second.reason == "entry has no title" and second.source == "custom"
    assert all(isinstance(i, PaperRecord) for i in items[2:])


def test_billion_laughs_is_refused_with_no_records() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2606.13677v1</id>
<title>&e;</title></entry></feed>"""
    with pytest.raises(AtomError, match=r"^arxiv_api: cannot parse XML: DOCTYPE/ENTITY"):
        parse_arxiv_atom(bomb)


def test_malformed_and_foreign_xml_give_clear_errors() -> None:
    truncated = body("query_transformer_2026.xml")[:3000]
    with pytest.raises(AtomError, match="malformed XML"):
        parse_arxiv_atom(truncated)
    with pytest.raises(AtomError, match="expected an Atom <feed>, got <html>"):
        parse_arxiv_atom(b"<html><body>Service unavailable</body></html>")


# --- the source against the replay server ----------------------------------------------------------


def make_client(**kw: object) -> PoliteClient:
    return fast_client(**{"min_interval_s": 0.05, "max_retries": 1, **kw})


def serve_recordings(server: ReplayServer, *prefixes: str) -> None:
    for prefix in prefixes:
        server.load_arxiv_recording(recording(prefix))


def test_source_pages_politely_until_max_results(replay_server: ReplayServer) -> None:
    serve_recordings(
        replay_server, "recorded_q_testing_s0_m10", "recorded_q_testing_s10_m10", "recorded_q_testing_s20_m10"
    )
    clock = FakeClock()
    with clocked_client(clock, min_interval_s=0.1, max_retries=1) as client:
        source = ArxivApiSource(
            client,
            base_url=f"{replay_server.url}/api/query",
            search_query="testing",
            page_size=10,
            max_results=30,
        )
        items = consume(source.records())
    found = papers(items)
    assert len(found) == 30
    assert len({p.arxiv_id for p in found}) == 30
    reqs = replay_server.requests
    assert [r.param("start") for r in reqs] == ["0", "10", "20"]
    assert all(r.param("max_results") == "10" and r.param("search_query") == "testing" for r in reqs)
    assert all(r.headers["User-Agent"] == UA for r in reqs)
    # Spacing where the requests left the client, on its own clock (arrival times jitter under load).
    assert clock.gaps() == pytest.approx([0.1, 0.1])
    assert replay_server.unmatched == []
    assert source.pages_fetched == 3


def test_source_stops_at_total_results(replay_server: ReplayServer) -> None:
    serve_recordings(replay_server, "recorded_id_1605.08386")
    with make_client() as client:
        source = ArxivApiSource(client, base_url=f"{replay_server.url}/api/query", id_list=["1605.08386"])
        found = papers(consume(source.records()))
    assert [p.arxiv_id for p in found] == ["1605.08386"]
    assert len(replay_server.requests) == 1
    assert replay_server.requests[0].param("id_list") == "1605.08386"


def test_source_old_style_id_list(replay_server: ReplayServer) -> None:
    serve_recordings(replay_server, "recorded_id_quant-ph_0201082v1")
    with make_client() as client:
        source = ArxivApiSource(
            client, base_url=f"{replay_server.url}/api/query", id_list=["quant-ph/0201082v1"]
        )
        (paper,) = papers(consume(source.records()))
    assert (paper.arxiv_id, paper.version) == ("quant-ph/0201082", 1)
    assert paper.categories == ["quant-ph", "cs.PL"]


def test_source_invalid_id_yields_rejected_from_the_400_body(replay_server: ReplayServer) -> None:
    serve_recordings(replay_server, "recorded_id_abc")
    with make_client() as client:
        source = ArxivApiSource(client, base_url=f"{replay_server.url}/api/query", id_list=["abc"])
        items = consume(source.records())
    assert len(items) == 1 and isinstance(items[0], Rejected)
    assert "incorrect id format for abc" in items[0].reason
    assert len(replay_server.requests) == 1  # a 400 is never retried


def test_source_http_failure_is_raised(replay_server: ReplayServer) -> None:
    replay_server.add("/api/query", Reply(403, body=b"forbidden"))
    with make_client() as client:
        source = ArxivApiSource(client, base_url=f"{replay_server.url}/api/query", search_query="x")
        with pytest.raises(HttpError, match="403"):
            consume(source.records())


def test_source_needs_a_query() -> None:
    with make_client() as client, pytest.raises(ValueError, match="search_query or an id_list"):
        ArxivApiSource(client)


class DictCursors:
    """An in-memory cursor store (the database-backed one is tested in test_cursors.py)."""

    def __init__(self, **saved: str) -> None:
        self.saved = dict(saved)

    def get(self, name: str) -> str | None:
        return self.saved.get(name)

    def set(self, name: str, cursor: str) -> None:
        self.saved[name] = cursor

    def clear(self, name: str) -> None:
        self.saved.pop(name, None)


def test_doi_falls_back_to_the_doi_link() -> None:
    raw = body("legacy2016_id_list=1111.2011v2.xml")
    start = raw.index(b"<arxiv:doi")
    raw = raw[:start] + raw[raw.index(b"</arxiv:doi>") + len(b"</arxiv:doi>") :]
    assert b"<arxiv:doi" not in raw
    (paper,) = papers(parse_arxiv_atom(raw).items)
    assert paper.doi == "10.1103/PhysRevB.85.115117"


def test_empty_page_mid_harvest_fails_and_keeps_the_cursor(replay_server: ReplayServer) -> None:
    serve_recordings(replay_server, "recorded_q_testing_s0_m10")
    page2 = recording("recorded_q_testing_s10_m10")
    data = json.loads(page2.read_text(encoding="utf-8"))
    feed = recorded_body_bytes(data["body"])
    # arXiv sometimes answers with no entries although totalResults says there are more.
    empty = feed[: feed.index(b"<entry>")] + b"</feed>\n"
    replay_server.add_url(data["url"], Reply(200, body=empty))
    cursors = DictCursors()
    with make_client() as client:
        url = f"{replay_server.url}/api/query"
        source = ArxivApiSource(client, base_url=url, search_query="testing", page_size=10, cursors=cursors)
        got = []
        with pytest.raises(AtomError, match=r"empty page at start=10 although totalResults=214881"):
            got.extend(consume(source.records()))
    assert cursors.saved == {source.cursor_name: "10"}


def test_unreadable_cursor_starts_over(replay_server: ReplayServer) -> None:
    serve_recordings(replay_server, "recorded_id_1605.08386")
    with make_client() as client:
        url = f"{replay_server.url}/api/query"
        probe = ArxivApiSource(client, base_url=url, id_list=["1605.08386"])
        cursors = DictCursors(**{probe.cursor_name: "garbage"})
        source = ArxivApiSource(client, base_url=url, id_list=["1605.08386"], cursors=cursors)
        assert len(papers(consume(source.records()))) == 1
    assert replay_server.requests[0].param("start") == "0"
    assert cursors.saved == {}
