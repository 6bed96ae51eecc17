"""arXiv OAI-PMH: the ListRecords parser on real records, and OaiPmhSource against the replay server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperfeed.ingest.http import PoliteClient
from paperfeed.ingest.oai_pmh import OaiError, OaiPmhSource, parse_list_records
from paperfeed.ingest.records import PaperRecord, Rejected, consume
from replay import UA, FakeClock, ReplayServer, Reply, clocked_client, fast_client

DATA = Path(__file__).parent / "data" / "oai_pmh"
NOCK_503 = DATA / "nock_oaipmh-listrecords---should-list-identifiers-from-arxiv.json"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def papers(items: list[PaperRecord | Rejected]) -> list[PaperRecord]:
    out = [i for i in items if isinstance(i, PaperRecord)]
    assert len(out) == len(items), [i for i in items if isinstance(i, Rejected)]
    return out


# --- parser ----------------------------------------------------------------------------------------


def test_list_records_fields() -> None:
    page = parse_list_records(read("arxiv-physics-hep-ex.xml"))
    found = papers(page.items)
    assert [p.arxiv_id for p in found] == ["1706.05371", "1706.09418", "1707.00874"]
    first = found[0]
    assert first.source == "oai"
    assert first.version is None  # the arXiv metadata format has no versions
    assert first.title == (
        "Evaluation of Silicon Photomultipliers for use as Photosensors in Liquid Xenon Detectors"
    )
    assert first.authors[:3] == ["Tyler Anderson", "Jacob Cutter", "Navneet Dhaliwal"]
    assert len(first.authors) == 13
    assert first.categories == ["physics.ins-det", "hep-ex"]
    assert first.primary_category == "physics.ins-det"
    assert first.comment == "10 pages, 9 figures"
    assert first.published == datetime(2017, 6, 16, tzinfo=UTC)
    assert first.updated == datetime(2017, 12, 12, tzinfo=UTC)
    second = found[1]
    assert second.journal_ref == "Eur. Phys. J. C (2017) 77:856"
    assert second.doi == "10.1140/epjc/s10052-017-5414-4"
    assert page.deleted == 0
    assert page.resumption_token is None
    assert page.last_datestamp == date(2017, 12, 14)


def test_get_record_with_wrapped_comments() -> None:
    (paper,) = papers(parse_list_records(read("arxiv-single.xml")).items)
    assert paper.arxiv_id == "1401.2122"
    assert paper.authors == ["A. Sergyeyev"]
    assert paper.categories == ["math.AP", "hep-th", "math-ph", "math.DG", "math.MP", "nlin.SI"]
    assert paper.comment is not None and "\n" not in paper.comment
    assert paper.comment.startswith("16 pages, LaTeX, no figures, revised and abridged, in this version (v5)")
    assert paper.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"
    assert paper.doi == "10.1007/s11005-017-1013-4"
    assert paper.abstract.startswith("We introduce a novel systematic construction")
    # The indented line in the record ("vector fields.\n  In particular, ...") starts a second paragraph.
    assert paper.abstract.count("\n\n") == 1
    assert paper.abstract.split("\n\n")[1].startswith("In particular, we present new large classes")


def test_paged_fixture_tokens_and_deleted_records() -> None:
    p1 = parse_list_records(read("paged_page1.xml"))
    assert (p1.resumption_token, p1.cursor, p1.complete_list_size) == ("6105391|1001", 0, 9)
    p2 = parse_list_records(read("paged_page2.xml"))
    assert p2.deleted == 1
    assert "1510.00001" not in {p.arxiv_id for p in papers(p2.items)}
    assert len(p2.items) == 3
    p3 = parse_list_records(read("paged_page3.xml"))
    # An empty resumptionToken element ends the list but still carries the cursor.
    assert (p3.resumption_token, p3.cursor, p3.complete_list_size) == (None, 7, 9)
    assert [p.arxiv_id for p in papers(p3.items)] == ["1412.8544", "hep-th/9504118"]


def test_no_records_match_is_an_empty_page() -> None:
    page = parse_list_records(read("error_noRecordsMatch.xml"))
    assert page.items == [] and page.resumption_token is None


def test_other_oai_errors_raise() -> None:
    with pytest.raises(OaiError, match="badResumptionToken: The value of the resumptionToken") as info:
        parse_list_records(read("error_badResumptionToken.xml"))
    assert info.value.code == "badResumptionToken"


def test_bad_record_is_rejected_and_the_rest_kept() -> None:
    raw = read("arxiv-physics-hep-ex.xml").replace(b"<id>1706.05371</id>", b"<id>lolcat</id>")
    raw = raw.replace(b"<title>R-Parity Violation at the LHC</title>", b"<title></title>")
    items = parse_list_records(raw, source="oai-x").items
    assert len(items) == 3
    bad_id, no_title, ok = items
    assert isinstance(bad_id, Rejected) and bad_id.record == "oai:arXiv.org:1706.05371"
    assert "invalid arXiv id 'lolcat'" in bad_id.reason and bad_id.source == "oai-x"
    assert isinstance(no_title, Rejected) and no_title.record == "1706.09418"
    assert isinstance(ok, PaperRecord)


def test_unsafe_and_malformed_payloads() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><OAI-PMH>&b;</OAI-PMH>'
    )
    with pytest.raises(OaiError, match=r"^oai: cannot parse XML: DOCTYPE/ENTITY"):
        parse_list_records(bomb)
    with pytest.raises(OaiError, match="malformed XML"):
        parse_list_records(read("paged_page1.xml")[:2000])
    with pytest.raises(OaiError, match="expected an <OAI-PMH> response"):
        parse_list_records(b"<html><h1>Retry after 10 seconds</h1></html>")


# --- the source ------------------------------------------------------------------------------------


def make_client(**kw: object) -> PoliteClient:
    return fast_client(**{"min_interval_s": 0.05, "max_retries": 2, "max_retry_after_s": 60.0, **kw})


def test_real_503_retry_after_then_200(replay_server: ReplayServer) -> None:
    replay_server.load_nock(NOCK_503)
    slept: list[float] = []
    # The recording asks for 10 s; a recording sleep keeps the test fast while proving the value is obeyed.
    with make_client(min_interval_s=0.0, sleep=slept.append) as client:
        source = OaiPmhSource(
            client, base_url=f"{replay_server.url}/oai2", from_date=date(2015, 1, 1), until="2015-01-03"
        )
        found = papers(consume(source.records()))
    assert slept == [10.0]
    assert [p.arxiv_id for p in found] == ["1412.8544", "hep-th/9504118"]
    assert found[0].authors == ["Sander Uijlen", "Bas Westerbaan"]
    assert found[0].doi == "10.4204/EPTCS.172.11"
    reqs = replay_server.requests
    assert len(reqs) == 2 and replay_server.unmatched == []
    assert (
        reqs[0].query
        == reqs[1].query
        == {
            "verb": ["ListRecords"],
            "metadataPrefix": ["arXiv"],
            "from": ["2015-01-01"],
            "until": ["2015-01-03"],
        }
    )


def serve_paged(server: ReplayServer) -> None:
    first = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2017-12-14", "set": "physics:hep-ex"}
    server.add("/oai", Reply(200, body=read("paged_page1.xml")), query=first)
    for token, page in (("6105391|1001", "paged_page2.xml"), ("6105391|2001", "paged_page3.xml")):
        server.add(
            "/oai", Reply(200, body=read(page)), query={"verb": "ListRecords", "resumptionToken": token}
        )


def test_source_follows_resumption_tokens(replay_server: ReplayServer) -> None:
    serve_paged(replay_server)
    clock = FakeClock()
    with clocked_client(clock, min_interval_s=0.05, max_retries=2) as client:
        source = OaiPmhSource(
            client, base_url=f"{replay_server.url}/oai", from_date="2017-12-14", set_spec="physics:hep-ex"
        )
        found = papers(consume(source.records()))
    assert len(found) == 8
    assert len({p.arxiv_id for p in found}) == 8
    assert source.deleted == 1 and source.pages_fetched == 3
    assert source.last_datestamp == date(2017, 12, 14)
    reqs = replay_server.requests
    assert reqs[0].param("set") == "physics:hep-ex"
    # Resumed requests carry the verb and the token only (OAI-PMH 2.0, section 3.5).
    assert [sorted(r.query) for r in reqs[1:]] == [["resumptionToken", "verb"]] * 2
    assert [r.param("resumptionToken") for r in reqs[1:]] == ["6105391|1001", "6105391|2001"]
    assert all(r.headers["User-Agent"] == UA for r in reqs)
    # Spacing where the requests left the client, on its own clock (arrival times jitter under load).
    assert clock.gaps() == pytest.approx([0.05, 0.05])


def test_source_no_records_match(replay_server: ReplayServer) -> None:
    replay_server.add("/oai", Reply(200, body=read("error_noRecordsMatch.xml")))
    with make_client() as client:
        source = OaiPmhSource(client, base_url=f"{replay_server.url}/oai", from_date="2030-01-01")
        assert consume(source.records()) == []
    assert len(replay_server.requests) == 1


class DictCursors:
    """An in-memory cursor store (the database-backed one is tested in test_cursors.py)."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.saved.get(name)

    def set(self, name: str, cursor: str) -> None:
        self.saved[name] = cursor

    def clear(self, name: str) -> None:
        self.saved.pop(name, None)


def test_expired_saved_token_restarts_the_harvest(replay_server: ReplayServer) -> None:
    serve_paged(replay_server)
    expired = {"verb": "ListRecords", "resumptionToken": "old|token"}
    replay_server.add("/oai", Reply(200, body=read("error_badResumptionToken.xml")), query=expired)
    cursors = DictCursors()
    with make_client() as client:
        source = OaiPmhSource(
            client,
            base_url=f"{replay_server.url}/oai",
            from_date="2017-12-14",
            set_spec="physics:hep-ex",
            cursors=cursors,
        )
        cursors.set(source.cursor_name, "old|token")
        found = papers(consume(source.records()))
    assert len(found) == 8
    tokens = [r.param("resumptionToken") for r in replay_server.requests]
    assert tokens == ["old|token", None, "6105391|1001", "6105391|2001"]
    assert cursors.saved == {}
