"""The bundled demo set: recent real arXiv papers, the seed-page papers and a real HF daily list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Paper
from paperfeed.ingest.hf_daily import HfDailySource
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.records import Item
from paperfeed.ingest.store import IngestReport, store_records

# The seed-page papers carry no ids or dates; they join the newest demo day, as they would on HF's page.
SEED_DAY = date(2026, 7, 1)


def demo_dir() -> Path:
    """Folder of the demo files shipped inside the package."""
    return Path(str(resources.files("paperfeed") / "demo"))


def demo_items() -> Iterator[Item]:
    """Every demo record, in load order."""
    folder = demo_dir()
    yield from JsonlSource(folder / "arxiv-recent.jsonl.gz").records()
    yield from JsonlSource(folder / "seed-page-papers.jsonl", listing_date=SEED_DAY, name="seed").records()
    yield from HfDailySource.from_path(folder / "hf-daily-papers.json").records()


def is_empty(session_factory: sessionmaker[Session]) -> bool:
    """True when the database holds no paper yet."""
    with session_factory() as session:
        return not session.scalar(select(func.count()).select_from(Paper))


def load_demo(
    session_factory: sessionmaker[Session],
    *,
    on_batch: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Load the demo set (idempotent: a second call reports everything unchanged)."""
    return store_records(session_factory, demo_items(), on_batch=on_batch)
