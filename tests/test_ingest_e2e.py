"""Every source end to end through store_records, on SQLite and PostgreSQL, from the real fixtures.

Counts, re-runs, a cross-source merge, hostile fields, a bad record among good ones and a cut-off gzip.
"""

from __future__ import annotations

import copy
import gzip
import json
import zlib
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Paper, Submission
from paperfeed.ingest.arxiv_api import parse_arxiv_atom
from paperfeed.ingest.hf_daily import parse_daily_papers
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.oai_pmh import parse_list_records
from paperfeed.ingest.records import Item, PaperRecord, resolved
from paperfeed.ingest.rss import parse_arxiv_rss
from paperfeed.ingest.store import IngestReport, store_records
from paperfeed.text.arxiv_ids import parse_arxiv_id

DATA = Path(__file__).parent / "data"
JSONL_GZ = DATA / "jsonl" / "sample.jsonl.gz"
HF = DATA / "hf" / "daily_papers.json"
RSS = DATA / "rss" / "arxiv_cs_ai_2025-08-20.xml"
API_2016 = DATA / "arxiv_api" / "legacy2016_search_query=au_del_maestro.xml"
OAI = DATA / "oai_pmh" / "arxiv-physics-hep-th.xml"

ATOM = "{http://www.w3.org/2005/Atom}"

Factory = sessionmaker[Session]


def hf_payload() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(HF.read_bytes())
    return data


# name -> (fresh items, papers in the fixture)
SOURCES: dict[str, tuple[Callable[[], Iterable[Item]], int]] = {
    "jsonl": (lambda: JsonlSource(JSONL_GZ).records(), 49),
    "hf": (lambda: parse_daily_papers(HF.read_bytes()), 30),
    "rss": (lambda: parse_arxiv_rss(RSS.read_bytes()), 7),
    "arxiv_api": (lambda: parse_arxiv_atom(API_2016.read_bytes()).items, 10),
    "oai": (lambda: parse_list_records(OAI.read_bytes()).items, 3),
}


def counts(report: IngestReport) -> tuple[int, int, int, int]:
    return (report.new, report.updated, report.unchanged, report.rejected)


def n_papers(factory: Factory) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Paper)) or 0)


def paper(factory: Factory, key: str) -> Paper:
    with factory() as s:
        row = s.scalars(select(Paper).where(Paper.key == key)).one()
        # Touch the lazy relationships while the session is open.
        row.author_names, row.category_names  # noqa: B018
        return row


def submissions(factory: Factory, key: str) -> list[tuple[date, str | None]]:
    with factory() as s:
        rows = s.execute(
            select(Submission.day, Submission.submitted_by).join(Paper).where(Paper.key == key)
        ).all()
    return sorted((day, by) for day, by in rows)


def records_of(items: Iterable[Item]) -> list[PaperRecord]:
    return [r for r in resolved(items) if isinstance(r, PaperRecord)]


# --- each source: counts, stored fields, re-run ----------------------------------------------------


@pytest.mark.parametrize("name", list(SOURCES))
def test_source_stores_then_reruns_unchanged(session_factory: Factory, name: str) -> None:
    make, expected = SOURCES[name]
    first = store_records(session_factory, make(), batch_size=16)
    assert counts(first) == (expected, 0, 0, 0), first.errors
    assert n_papers(session_factory) == expected
    # What is stored is what the parser produced, field for field, for every paper.
    for rec in records_of(make()):
        row = paper(session_factory, rec.key)
        assert (row.arxiv_id, row.version, row.title, row.abstract) == (
            rec.arxiv_id,
            rec.version,
            rec.title,
            rec.abstract,
        )
        assert row.author_names == rec.authors
        assert row.category_names == rec.categories
        assert row.source == name
    again = store_records(session_factory, make(), batch_size=7)
    assert counts(again) == (0, 0, expected, 0)
    assert n_papers(session_factory) == expected


def test_all_sources_in_one_database(session_factory: Factory) -> None:
    total = 0
    for make, expected in SOURCES.values():
        report = store_records(session_factory, make())
        assert counts(report) == (expected, 0, 0, 0)
        total += expected
    assert n_papers(session_factory) == total == 99
    for make, expected in SOURCES.values():
        assert counts(store_records(session_factory, make())) == (0, 0, expected, 0)
    # A few stored facts, one per source, checked against the fixtures by eye.
    assert paper(session_factory, "2503.11731").title.startswith("Industrial-Grade Sensor Simulation")
    assert paper(session_factory, "2606.00467").upvotes == 0  # hf, first item
    top = max(hf_payload(), key=lambda item: int(item["paper"]["upvotes"]))["paper"]
    assert paper(session_factory, top["id"]).upvotes == top["upvotes"] == 118
    assert paper(session_factory, "1412.8323").category_names[0] == "quant-ph"  # oai, primary first


# --- the same paper from two sources is one row ----------------------------------------------------


def _hf_item_for(rec: PaperRecord, raw_summary: str) -> dict[str, Any]:
    """A real HF daily_papers item (with its upvotes and submitter) re-pointed at an arXiv API paper."""
    item = copy.deepcopy(next(i for i in hf_payload() if i["paper"]["upvotes"] > 10))
    item["paper"]["id"] = rec.arxiv_id
    item["paper"]["title"] = item["title"] = rec.title
    item["paper"]["summary"] = item["summary"] = raw_summary
    item["paper"]["authors"] = [{"name": name, "hidden": False} for name in rec.authors]
    return item


@pytest.mark.parametrize("order", ["arxiv_first", "hf_first"])
def test_cross_source_merge_is_one_row(session_factory: Factory, order: str) -> None:
    page = parse_arxiv_atom(API_2016.read_bytes())
    api = records_of(page.items)
    target = api[3]
    assert target.arxiv_id is not None and target.version is not None and target.categories
    raw_summary = list(etree.parse(API_2016).getroot().iter(f"{ATOM}summary"))[3].text or ""
    item = _hf_item_for(target, raw_summary)
    hf_items = list(parse_daily_papers(json.dumps([item])))
    (hf_rec,) = records_of(hf_items)
    assert hf_rec.key == target.key and hf_rec.abstract == target.abstract

    runs = [page.items, hf_items] if order == "arxiv_first" else [hf_items, page.items]
    reports = [store_records(session_factory, items) for items in runs]
    if order == "arxiv_first":
        assert counts(reports[1]) == (0, 1, 0, 0)  # HF adds upvotes and its submission to the arXiv row
    else:
        assert counts(reports[1]) == (9, 1, 0, 0)  # the arXiv record fills in what HF lacks
    assert n_papers(session_factory) == 10

    row = paper(session_factory, target.key)
    # arXiv's fields (version, categories, dates) and HF's (upvotes, daily submission) on one row.
    assert (row.arxiv_id, row.version) == (target.arxiv_id, target.version)
    assert row.title == target.title and row.author_names == target.authors
    assert row.category_names == target.categories
    assert row.journal_ref == target.journal_ref
    assert row.upvotes == item["paper"]["upvotes"] > 10
    assert hf_rec.listing_date is not None
    assert (hf_rec.listing_date, item["submittedBy"]["name"]) in submissions(session_factory, target.key)
    # Either order re-run: nothing changes any more.
    assert counts(store_records(session_factory, page.items)) == (0, 0, 10, 0)
    assert counts(store_records(session_factory, hf_items)) == (0, 0, 1, 0)


# --- hostile fields, bad records, a cut-off file ---------------------------------------------------


def test_hostile_fields_are_stored_clean(session_factory: Factory, tmp_path: Path) -> None:
    with gzip.open(JSONL_GZ, "rt", encoding="utf-8") as fh:
        line = json.loads(fh.readline())
    line.update(
        title='Sensor <script>alert("x")</script>simulation\r\nfor <b>driving</b> &amp; more',
        summary="<p>First\r\nparagraph &lt;3</p><p onclick='evil()'>Second</p><!-- hidden -->",
        authors=["Ada\r\nLovelace", "<i>Alan</i> Turing"],
        comment="12 pages\r\n<img src=x onerror=alert(1)>",
    )
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    item = copy.deepcopy(hf_payload()[0])
    item["paper"]["title"] = "<script>document.cookie</script>Limits of\r\nLLM <em>Adaptability</em>"
    assert counts(store_records(session_factory, JsonlSource(path).records())) == (1, 0, 0, 0)
    assert counts(store_records(session_factory, parse_daily_papers(json.dumps([item])))) == (1, 0, 0, 0)

    row = paper(session_factory, parse_arxiv_id(line["id"])[0])
    assert row.title == "Sensor simulation for driving & more"
    assert row.abstract == "First paragraph <3\n\nSecond"
    assert row.author_names == ["Ada Lovelace", "Alan Turing"]
    assert row.comment == "12 pages"
    hf_row = paper(session_factory, item["paper"]["id"])
    assert hf_row.title == "Limits of LLM Adaptability"
    for text in (row.title, row.abstract, row.comment or "", hf_row.title, *row.author_names):
        assert "\r" not in text and "script" not in text and "onclick" not in text and "<p" not in text


def test_bad_record_is_rejected_and_the_rest_stored(session_factory: Factory) -> None:
    payload = hf_payload()
    bad = copy.deepcopy(payload[0])
    bad["paper"]["id"] = "not-an-arxiv-id"
    payload.insert(5, bad)
    report = store_records(session_factory, parse_daily_papers(json.dumps(payload)))
    assert counts(report) == (30, 0, 0, 1)
    (error,) = report.errors
    assert error.startswith("hf: record 'item 5 (not-an-arxiv-id)' rejected:")
    assert n_papers(session_factory) == 30


def test_record_failing_validation_is_rejected_by_the_store(session_factory: Factory, tmp_path: Path) -> None:
    lines = gzip.decompress(JSONL_GZ.read_bytes()).decode().splitlines()
    long_title = json.loads(lines[2])
    long_title["title"] = "word " * 500  # 2,500 characters: over the store's title limit
    path = tmp_path / "one-bad.jsonl"
    path.write_text("\n".join([*lines[:2], json.dumps(long_title), *lines[3:]]) + "\n", encoding="utf-8")
    report = store_records(session_factory, JsonlSource(path).records())
    assert counts(report) == (48, 0, 0, 1)
    (error,) = report.errors
    assert error.startswith(f"jsonl: record '{parse_arxiv_id(long_title['id'])[0]}' rejected: title too long")
    assert n_papers(session_factory) == 48


def _complete_lines_before_cut(cut: bytes) -> int:
    """Lines fully inside the part of a gzip stream that survived the cut (independent of JsonlSource)."""
    return zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")


def test_truncated_gzip_keeps_the_lines_before_the_cut(session_factory: Factory, tmp_path: Path) -> None:
    data = JSONL_GZ.read_bytes()
    cut = data[: len(data) * 2 // 3]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    before = _complete_lines_before_cut(cut)
    assert 5 < before < 49

    report = store_records(session_factory, JsonlSource(path).records(), batch_size=10)
    assert counts(report) == (before, 0, 0, 1)
    assert n_papers(session_factory) == before
    (error,) = report.errors
    assert error.startswith(f"jsonl: record '{path}' rejected: truncated gzip after line {before}:")
    # The stored papers are exactly the first lines of the full file.
    first_ids = [json.loads(x)["id"] for x in gzip.decompress(data).decode().splitlines()[:before]]
    with session_factory() as s:
        stored = set(s.scalars(select(Paper.arxiv_id)))
    assert stored == {parse_arxiv_id(i)[0] for i in first_ids}
    # A re-run of the cut file changes nothing and reports the cut again.
    again = store_records(session_factory, JsonlSource(path).records())
    assert counts(again) == (0, 0, before, 1)
