"""CursorStore on SQLite and PostgreSQL, and interrupted harvests that resume where they stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import HarvestCursor, Paper
from paperfeed.ingest.arxiv_api import ArxivApiSource
from paperfeed.ingest.cursors import CursorStore
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ingest.oai_pmh import OaiPmhSource
from paperfeed.ingest.store import store_records
from replay import ReplayServer, Reply, fast_client

DATA = Path(__file__).parent / "data"


def test_get_set_clear(session_factory: sessionmaker[Session]) -> None:
    store = CursorStore(session_factory)
    assert store.get("arxiv:q") is None
    store.set("arxiv:q", "100")
    assert store.get("arxiv:q") == "100"
    store.set("arxiv:q", "200")  # upsert, not a duplicate-key error
    store.set("oai:set", "token|1")
    assert store.get("arxiv:q") == "200"
    assert store.get("oai:set") == "token|1"
    with session_factory() as session:
        rows = session.scalars(select(HarvestCursor).order_by(HarvestCursor.name)).all()
        assert [(r.name, r.cursor) for r in rows] == [("arxiv:q", "200"), ("oai:set", "token|1")]
        assert all(r.updated_at is not None for r in rows)
    store.clear("arxiv:q")
    store.clear("never-set")  # harmless
    assert store.get("arxiv:q") is None
    assert store.get("oai:set") == "token|1"


def test_long_cursor_round_trips(session_factory: sessionmaker[Session]) -> None:
    store = CursorStore(session_factory)
    token = "x" * 5000 + "|ünïcode"
    store.set("n", token)
    assert store.get("n") == token


def client() -> PoliteClient:
    return fast_client(min_interval_s=0.01, max_retries=2)


def stored_keys(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Paper.key)))


def recording(prefix: str) -> Path:
    (path,) = (DATA / "arxiv_api").glob(f"{prefix}_*.json")
    return path


def test_arxiv_harvest_resumes_after_giving_up(
    session_factory: sessionmaker[Session], replay_server: ReplayServer
) -> None:
    for start in (0, 10, 20):
        replay_server.load_arxiv_recording(recording(f"recorded_q_testing_s{start}_m10"))
    # Page 2 fails for good: newest route first, so this overrides its recording.
    broken = replay_server.add(
        "/api/query", Reply(500, body=b"boom"), query={
            "search_query": "testing", "sortBy": "relevance", "sortOrder": "descending",
            "start": "10", "max_results": "10",
        }
    )  # fmt: skip
    store = CursorStore(session_factory)
    url = f"{replay_server.url}/api/query"

    with client() as c:
        source = ArxivApiSource(
            c, base_url=url, search_query="testing", page_size=10, max_results=30, cursors=store
        )
        with pytest.raises(HttpError, match="last status 500"):
            store_records(session_factory, source.records(), batch_size=1000)
    # The checkpoint after page 1 committed its papers before it saved the cursor.
    assert len(stored_keys(session_factory)) == 10
    assert store.get(source.cursor_name) == "10"
    assert broken.hits == 3  # one try and two retries

    replay_server.routes.remove(broken)
    before = len(replay_server.requests)
    with client() as c:
        source = ArxivApiSource(
            c, base_url=url, search_query="testing", page_size=10, max_results=30, cursors=store
        )
        report = store_records(session_factory, source.records(), batch_size=1000)
    resumed = replay_server.requests[before:]
    assert [r.param("start") for r in resumed] == ["10", "20"]
    assert (report.new, report.unchanged) == (20, 0)  # each paper arrived exactly once
    assert len(stored_keys(session_factory)) == 30
    assert store.get(source.cursor_name) is None  # finished: the next harvest starts afresh


def test_oai_harvest_resumes_after_giving_up(
    session_factory: sessionmaker[Session], replay_server: ReplayServer
) -> None:
    pages = DATA / "oai_pmh"
    first = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2017-12-14"}
    replay_server.add("/oai", Reply(200, body=(pages / "paged_page1.xml").read_bytes()), query=first)
    tok2 = {"verb": "ListRecords", "resumptionToken": "6105391|1001"}
    tok3 = {"verb": "ListRecords", "resumptionToken": "6105391|2001"}
    replay_server.add("/oai", Reply(200, body=(pages / "paged_page3.xml").read_bytes()), query=tok3)
    broken = replay_server.add("/oai", Reply(503, body=b"down"), query=tok2)
    store = CursorStore(session_factory)

    with client() as c:
        source = OaiPmhSource(c, base_url=f"{replay_server.url}/oai", from_date="2017-12-14", cursors=store)
        with pytest.raises(HttpError, match="last status 503"):
            store_records(session_factory, source.records(), batch_size=1000)
    assert len(stored_keys(session_factory)) == 3
    assert store.get(source.cursor_name) == "6105391|1001"

    replay_server.routes.remove(broken)
    replay_server.add("/oai", Reply(200, body=(pages / "paged_page2.xml").read_bytes()), query=tok2)
    before = len(replay_server.requests)
    with client() as c:
        source = OaiPmhSource(c, base_url=f"{replay_server.url}/oai", from_date="2017-12-14", cursors=store)
        report = store_records(session_factory, source.records(), batch_size=1000)
    resumed = replay_server.requests[before:]
    assert [r.param("resumptionToken") for r in resumed] == ["6105391|1001", "6105391|2001"]
    assert all(r.param("metadataPrefix") is None for r in resumed)
    assert (report.new, report.unchanged) == (5, 0)
    assert len(stored_keys(session_factory)) == 8
    assert store.get(source.cursor_name) is None
