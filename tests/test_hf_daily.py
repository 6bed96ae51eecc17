"""Hugging Face daily_papers parsing on the real recorded response, plus broken entries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperfeed.ingest.hf_daily import (
    HfDailySource,
    HfPayloadError,
    hf_daily_url,
    parse_daily_papers,
)
from paperfeed.ingest.records import CodeLink, PaperRecord, Rejected, Source

FIXTURE = Path(__file__).parent / "data" / "hf" / "daily_papers.json"


def _records() -> list[PaperRecord]:
    items = list(HfDailySource.from_path(FIXTURE).records())
    assert all(isinstance(item, PaperRecord) for item in items)
    return [item for item in items if isinstance(item, PaperRecord)]


def test_real_response_parses_every_entry() -> None:
    records = _records()
    assert len(records) == 30
    assert len({r.arxiv_id for r in records}) == 30
    assert all(r.source == "hf" and r.listing_date == date(2026, 6, 12) for r in records)
    assert all(r.title and r.abstract and r.authors for r in records)


def test_fields_of_one_paper() -> None:
    paper = next(r for r in _records() if r.arxiv_id == "2606.13392")
    assert paper.title == "MiniMax Sparse Attention"
    assert paper.version is None
    assert paper.authors[:3] == ["Xunhao Lai", "Weiqi Xu", "Yufeng Yang"]
    assert len(paper.authors) == 11
    # The item's publishedAt (arXiv's real time), not paper.publishedAt (the same day rounded to midnight).
    assert paper.published == datetime(2026, 6, 10, 20, tzinfo=UTC)
    assert paper.upvotes == 103
    assert paper.source_comments == 4
    assert paper.submitted_by == "ryanlee-dev"
    assert paper.submitter_fullname == "Ryanlee"
    # The declared repo (with HF's star count) first, then the other link the abstract names.
    assert paper.code_links == [
        CodeLink(url="https://github.com/MiniMax-AI/MSA", kind="github", origin="hf", stars=251),
        CodeLink(url="https://huggingface.co/MiniMaxAI/MiniMax-M3", kind="huggingface", origin="abstract"),
    ]


def test_project_page_and_repo() -> None:
    paper = next(r for r in _records() if r.arxiv_id == "2606.10423")
    assert paper.project_page == "https://jayoohwang1.github.io/webchallenger-site/"
    assert paper.code_links == [
        CodeLink(url="https://github.com/jayoohwang1/webchallenger", kind="github", origin="hf", stars=2),
        CodeLink(url="https://jayoohwang1.github.io/webchallenger-site", kind="project", origin="hf"),
    ]


def test_full_names_are_kept_as_sent() -> None:
    raw = json.loads(FIXTURE.read_text(encoding="utf-8"))
    sent = {item["paper"]["id"]: item["submittedBy"]["fullname"] for item in raw}
    records = _records()
    assert {r.arxiv_id: r.submitter_fullname for r in records} == sent
    # 29 of the 30 full names differ from the username: a parser that copied the username fails here.
    assert sum(r.submitter_fullname != r.submitted_by for r in records) == 29


def test_paper_without_links() -> None:
    paper = next(r for r in _records() if r.arxiv_id == "2606.00467")
    assert paper.code_links == []
    assert paper.project_page is None
    assert paper.upvotes == 0


def test_source_protocol() -> None:
    source: Source = HfDailySource(FIXTURE.read_bytes(), name="hf-test")
    first = next(iter(source.records()))
    assert isinstance(first, PaperRecord)
    assert first.source == "hf-test"


def test_bad_entries_are_rejected_and_iteration_goes_on() -> None:
    good = json.loads(FIXTURE.read_text(encoding="utf-8"))[0]
    bad_id = json.loads(json.dumps(good))
    bad_id["paper"]["id"] = "abc"
    no_title = json.loads(json.dumps(good))
    no_title["paper"]["title"] = "  "
    no_title["title"] = None
    hostile = json.loads(json.dumps(good))
    hostile["paper"]["title"] = "<script>alert(1)</script>Real\r\ntitle"
    hostile["paper"]["upvotes"] = True
    payload = json.dumps([bad_id, "not an object", {"paper": None}, no_title, hostile, good])
    items = list(parse_daily_papers(payload, source="hf"))
    assert [type(i).__name__ for i in items] == ["Rejected"] * 4 + ["PaperRecord"] * 2
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert rejected[0].record == "item 0 (abc)"
    assert "invalid arXiv id 'abc'" in rejected[0].reason
    assert rejected[1].record == "item 1"
    assert "no 'paper'" in rejected[2].reason
    assert "no title" in rejected[3].reason
    assert all(r.source == "hf" for r in rejected)
    cleaned = items[4]
    assert isinstance(cleaned, PaperRecord)
    assert cleaned.title == "Real title"
    assert cleaned.upvotes is None  # a boolean is not a vote count


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"error": "Invalid date"}', "API error"),
        (b'{"papers": []}', "expected a JSON list"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_unusable_payload_raises_naming_source(payload: bytes, reason: str) -> None:
    with pytest.raises(HfPayloadError) as info:
        parse_daily_papers(payload, source="hf-daily")
    assert reason in str(info.value)
    assert str(info.value).startswith("hf-daily:")


def test_empty_list_is_fine() -> None:
    assert list(parse_daily_papers("[]")) == []


def test_hf_daily_url() -> None:
    base = "https://huggingface.co/api/daily_papers"
    assert hf_daily_url(base, date(2026, 6, 12)) == base + "?date=2026-06-12"
    assert hf_daily_url(base, None) == base
    assert hf_daily_url(base + "?limit=50", date(2026, 1, 2)) == base + "?limit=50&date=2026-01-02"
