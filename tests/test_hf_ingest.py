"""Storing Hugging Face's signals: the submitter's full name, HF's comment count, the real publishedAt."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Paper, Submission
from paperfeed.ingest.hf_daily import HfDailySource
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.timeutil import as_utc

FIXTURE = Path(__file__).parent / "data" / "hf" / "daily_papers.json"
MINIMAX = "2606.13392"


def _hf() -> list[PaperRecord]:
    return [r for r in HfDailySource.from_path(FIXTURE).records() if isinstance(r, PaperRecord)]


def test_the_fixture_is_stored_as_hugging_face_sent_it(session_factory: sessionmaker[Session]) -> None:
    store_records(session_factory, _hf())
    sent = {i["paper"]["id"]: i for i in json.loads(FIXTURE.read_text(encoding="utf-8"))}
    with session_factory() as s:
        for sub in s.scalars(select(Submission)):
            item = sent[sub.paper.key]
            assert sub.submitted_by == item["submittedBy"]["name"]
            assert sub.submitter_fullname == item["submittedBy"]["fullname"]
            assert sub.paper.source_comments == item["numComments"]
            real = datetime.fromisoformat(item["publishedAt"].replace("Z", "+00:00"))
            assert sub.paper.published is not None and as_utc(sub.paper.published) == real


def test_a_paper_stored_before_gets_the_full_name_and_count(session_factory: sessionmaker[Session]) -> None:
    hf = next(r for r in _hf() if r.arxiv_id == MINIMAX)
    # As an older paperfeed stored it: username only, no comment count.
    store_records(session_factory, [replace(hf, submitter_fullname=None, source_comments=None)])
    report = store_records(session_factory, [hf])
    assert report.updated == 1
    with session_factory() as s:
        sub = s.scalars(select(Submission)).one()
        assert (sub.submitted_by, sub.submitter_fullname) == ("ryanlee-dev", "Ryanlee")
        assert sub.paper.source_comments == 4
    assert store_records(session_factory, [hf]).unchanged == 1


def test_an_arxiv_record_keeps_hugging_faces_counts(session_factory: sessionmaker[Session]) -> None:
    hf = next(r for r in _hf() if r.arxiv_id == MINIMAX)
    store_records(session_factory, [hf])
    arxiv = PaperRecord(
        title=hf.title,
        abstract=hf.abstract,
        source="arxiv_api",
        arxiv_id=MINIMAX,
        version=2,
        authors=hf.authors,
        categories=["cs.CL"],
        published=datetime(2026, 6, 10, 17, 59, tzinfo=UTC),
        listing_date=date(2026, 6, 12),
    )
    store_records(session_factory, [arxiv])
    with session_factory() as s:
        paper = s.scalars(select(Paper)).one()
        assert (paper.upvotes, paper.source_comments) == (103, 4)  # Hugging Face owns both
        sub = s.scalars(select(Submission)).one()
        assert sub.submitter_fullname == "Ryanlee"  # a record with no submitter blanks nothing
    # A later Hugging Face count replaces the old one (theirs), it does not add to it.
    store_records(session_factory, [replace(hf, source_comments=6, upvotes=110)])
    with session_factory() as s:
        paper = s.scalars(select(Paper)).one()
        assert (paper.upvotes, paper.source_comments) == (110, 6)
