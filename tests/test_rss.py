"""arXiv listing feeds: the real Atom listing, the same entries as RSS 2.0, and hostile XML."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from lxml import etree

from paperfeed.ingest.records import PaperRecord, Rejected, Source
from paperfeed.ingest.rss import RssFeedError, RssSource, parse_arxiv_rss

FIXTURE = Path(__file__).parent / "data" / "rss" / "arxiv_cs_ai_2025-08-20.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "http://arxiv.org/schemas/atom"
DC_NS = "http://purl.org/dc/elements/1.1/"


def _as_rss2(atom_bytes: bytes, *, announce: dict[str, str] | None = None) -> bytes:
    """The same real entries in rss.arxiv.org's RSS 2.0 layout (channel/item, guid, pubDate)."""
    feed = etree.fromstring(atom_bytes)
    rss = etree.Element("rss", nsmap={"arxiv": ARXIV_NS, "dc": DC_NS}, version="2.0")
    channel = etree.SubElement(rss, "channel")
    etree.SubElement(channel, "title").text = feed.findtext(f"{ATOM}title")
    day = datetime(2025, 8, 20, tzinfo=timezone(timedelta(hours=-4)))
    etree.SubElement(channel, "lastBuildDate").text = format_datetime(day)
    etree.SubElement(channel, "pubDate").text = format_datetime(day)
    for entry in feed.iter(f"{ATOM}entry"):
        item = etree.SubElement(channel, "item")
        etree.SubElement(item, "title").text = entry.findtext(f"{ATOM}title")
        etree.SubElement(item, "link").text = entry.find(f"{ATOM}link").get("href")
        etree.SubElement(item, "description").text = entry.findtext(f"{ATOM}summary")
        guid = entry.findtext(f"{ATOM}id") or ""
        etree.SubElement(item, "guid", isPermaLink="false").text = guid
        for cat in entry.iter(f"{ATOM}category"):
            etree.SubElement(item, "category").text = cat.get("term")
        etree.SubElement(item, "pubDate").text = format_datetime(day)
        kind = (announce or {}).get(guid, entry.findtext(f"{{{ARXIV_NS}}}announce_type"))
        etree.SubElement(item, f"{{{ARXIV_NS}}}announce_type").text = kind
        etree.SubElement(item, f"{{{DC_NS}}}creator").text = entry.findtext(f"{{{DC_NS}}}creator")
    return etree.tostring(rss, xml_declaration=True, encoding="UTF-8")


def _records(payload: bytes) -> list[PaperRecord]:
    items = list(parse_arxiv_rss(payload))
    assert not [i for i in items if isinstance(i, Rejected)]
    return [i for i in items if isinstance(i, PaperRecord)]


@pytest.mark.parametrize("layout", ["atom", "rss2"])
def test_real_listing(layout: str) -> None:
    payload = FIXTURE.read_bytes()
    records = _records(payload if layout == "atom" else _as_rss2(payload))
    assert [r.arxiv_id for r in records] == [
        "2508.13426", "2508.13428", "2508.13429", "2508.13434", "2508.13435", "2508.14001", "2508.14002",
    ]  # fmt: skip
    first = records[0]
    assert first.version == 1
    assert first.title.startswith("ALIGN: Word Association Learning")
    assert first.authors == ["Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang"]
    assert first.categories == ["cs.CL", "cs.AI"]
    assert first.abstract.startswith("As large language models (LLMs) increasingly mediate")
    assert "Announce Type" not in first.abstract
    assert first.listing_date == date(2025, 8, 20)
    assert first.source == "rss"
    # Cross-lists are not first announcements: no `published`; new ones get it.
    assert first.published is None
    assert records[5].published is not None and records[5].published.date() == date(2025, 8, 20)
    assert all(r.updated is not None for r in records)
    # TeX accents in dc:creator become letters.
    assert records[2].authors == ["Paulo André Lima de Castro"]


def test_replacements_are_kept_with_their_version() -> None:
    payload = FIXTURE.read_bytes().replace(b"2508.14001v1", b"2508.14001v3")
    rss = _as_rss2(payload, announce={"oai:arXiv.org:2508.14001v3": "replace"})
    paper = next(r for r in _records(rss) if r.arxiv_id == "2508.14001")
    assert paper.version == 3
    assert paper.published is None


def test_unknown_announce_type_is_skipped() -> None:
    rss = _as_rss2(FIXTURE.read_bytes(), announce={"oai:arXiv.org:2508.14002v1": "withdrawn"})
    ids = [r.arxiv_id for r in _records(rss)]
    assert "2508.14002" not in ids and len(ids) == 6


def test_bad_entry_rejected_others_kept() -> None:
    payload = FIXTURE.read_bytes().replace(b"oai:arXiv.org:2508.13428v1", b"oai:arXiv.org:nonsense")
    payload = payload.replace(b"arXiv:2508.13428v1 Announce", b"arXiv:nonsense Announce")
    items = list(parse_arxiv_rss(payload, source="rss-cs.AI"))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1 and len(items) == 7
    assert rejected[0].source == "rss-cs.AI"
    assert rejected[0].record == "entry 1 (oai:arXiv.org:nonsense)"
    assert "invalid arXiv id" in rejected[0].reason


def test_source_protocol() -> None:
    source: Source = RssSource(FIXTURE.read_bytes(), name="rss-cs.AI")
    assert sum(1 for _ in source.records()) == 7


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"<rss><channel><item><title>cut off", "malformed XML"),
        (b"", "malformed XML"),
        (b"<html><body>Service Unavailable</body></html>", "neither <rss> nor Atom"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<rss><channel><item><title>&x;</title></item></channel></rss>",
            "entity declarations",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<rss><channel><title>&lol2;</title></channel></rss>",
            "entity declarations",
        ),
    ],
)
def test_unreadable_feed_raises_naming_source(payload: bytes, reason: str) -> None:
    with pytest.raises(RssFeedError) as info:
        parse_arxiv_rss(payload, source="rss-cs.AI")
    assert reason in str(info.value)
    assert str(info.value).startswith("rss-cs.AI:")
    assert isinstance(info.value, ValueError)


def test_external_dtd_is_not_fetched() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">'
        b"<rss><channel><item><title>T</title><guid>oai:arXiv.org:2508.13426v1</guid>"
        b"<description>arXiv:2508.13426v1 Announce Type: new Abstract: Text.</description>"
        b"</item></channel></rss>"
    )
    (record,) = _records(payload)
    assert record.arxiv_id == "2508.13426" and record.abstract == "Text."
