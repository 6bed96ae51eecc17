"""Real papers for the search tests: every 12th paper of the bundled demo dump (299 papers, ten listing days,
cs and astro-ph) plus the 49 papers of tests/data/jsonl/sample.jsonl (one old-style astro-ph/ id)."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.ingest.demo import demo_dir
from paperfeed.ingest.jsonl import parse_jsonl_object
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import build_keyword_index
from paperfeed.search.service import SearchRequest, SearchResult, SearchService

SAMPLE = Path(__file__).parent / "data" / "jsonl" / "sample.jsonl"
LATEST = "2026-07-01"  # the newest listing day of the demo subset


@cache
def demo_objects(step: int = 12) -> tuple[dict[str, Any], ...]:
    """Every `step`-th line of the bundled demo dump, decoded."""
    with gzip.open(demo_dir() / "arxiv-recent.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for i, line in enumerate(fh) if i % step == 0]
    return tuple(lines)


@cache
def sample_objects() -> tuple[dict[str, Any], ...]:
    """The 49 lines of tests/data/jsonl/sample.jsonl, decoded."""
    return tuple(json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip())


def records(objects: tuple[dict[str, Any], ...] | None = None) -> list[PaperRecord]:
    """PaperRecords of the demo subset and the sample (or of `objects`)."""
    objs = objects if objects is not None else demo_objects() + sample_objects()
    return [parse_jsonl_object(o) for o in objs]


def fill(factory: sessionmaker[Session], objects: tuple[dict[str, Any], ...] | None = None) -> None:
    """Store the papers (all must be accepted)."""
    report = store_records(factory, records(objects))
    assert report.rejected == 0, report.errors


def service_for(
    settings: Settings, factory: sessionmaker[Session], *, shards: int | None = None, **kw: Any
) -> SearchService:
    """Build the keyword index of the database (in `shards` shards when given), then a service over it."""
    build_keyword_index(factory, keyword_dir(settings), shards=shards)
    return SearchService(settings=settings, session_factory=factory, **kw)


def ids(result: SearchResult) -> list[str]:
    """The arXiv ids (or keys) of a result's papers, in order."""
    return [p.arxiv_id or p.key for p in result.papers]


def search(service: SearchService, q: str, **kw: Any) -> SearchResult:
    """A keyword search unless `mode` says otherwise."""
    kw.setdefault("mode", "keyword")
    return service.search(SearchRequest(q=q, **kw))


def paper_id(factory: sessionmaker[Session], arxiv_id: str) -> int:
    """Internal id of a stored paper."""
    with factory() as session:
        found = session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id))
    assert found is not None, arxiv_id
    return found


@contextmanager
def database(kind: str, folder: Path) -> Iterator[Settings]:
    """Settings on a fresh migrated database of `kind` (sqlite or postgresql), dropped afterwards.

    For module-scoped fixtures: read-only tests share one filled database per backend instead of
    filling a new one per test (the function-scoped `db_settings` fixture of conftest does the latter).
    """
    if kind == "sqlite":
        settings = Settings(database_url=f"sqlite:///{folder / 'paperfeed.db'}", data_dir=folder)
        _migrate(settings)
        yield settings
        return
    admin_url = os.environ.get("PAPERFEED_TEST_PG_URL")
    if not admin_url:
        pytest.fail("PAPERFEED_TEST_PG_URL is not set: run the tests with `make test`", pytrace=False)
    name = f"pf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        settings = Settings(database_url=f"{admin_url.rsplit('/', 1)[0]}/{name}", data_dir=folder)
        _migrate(settings)
        yield settings
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
