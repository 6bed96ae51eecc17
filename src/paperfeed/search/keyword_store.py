"""Writing the keyword index: generations, shards, the full build and the incremental sync.

Layout under the index root (settings.search_dir, default `<data_dir>/<database name>.index/keyword`)::

    CURRENT              the name of the live generation (replaced atomically by a full build)
    g<time>/             shard 0 (a tantivy index) + state.json (schema version, shards, sync cursor)
    g<time>/shard-<i>/   shard i (i >= 1), when the generation has more than one

A paper lives in shard `id % shards`. A full build decides the number of shards from the number of papers
(`shard_docs` papers a shard, at most one shard per CPU core); the sync keeps the generation's number, so a
corpus that grew past it is re-split by the next `paperfeed reindex`. Shards exist for speed only:
tantivy-py scores every match of a query (no block-max WAND), so a 1M-paper query reads every posting; two
shards searched from two threads halve the time. A one-shard generation is exactly the layout of before.

A full build writes a new generation beside the live one and then switches CURRENT, so searches never see a
half-built index. The incremental sync indexes papers whose `updated_at` moved past the cursor (re-reading a
short overlap, since a transaction that started earlier may commit later); re-indexing a paper is idempotent
(delete by id, then add). The shards are committed one after the other and the cursor is saved last: a crash
in between re-indexes the same papers on the next sync. The database stays the truth: the index can always
be rebuilt from it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Paper
from paperfeed.search.keyword import (
    CHUNK,
    F_ID,
    SCHEMA_VERSION,
    IndexRow,
    build_schema,
    ids_query,
    load_rows,
    paper_document,
    register_tokenizers,
    rows_after,
)
from paperfeed.timeutil import as_utc

__all__ = [
    "SHARD_DOCS",
    "SyncState",
    "build_keyword_index",
    "current_generation",
    "open_shards",
    "shard_count",
    "shard_dirs",
    "shard_of",
    "sync_keyword_index",
]

log = logging.getLogger(__name__)

# A transaction that computed its updated_at earlier may commit after we synced past it: re-read this much.
OVERLAP = timedelta(seconds=30)
SHARD_DOCS = 250_000  # papers per shard a full build aims for (settings.search_shard_docs)


def shard_count(papers: int, shard_docs: int, cores: int | None = None) -> int:
    """Shards for `papers`: one per `shard_docs` papers (rounded up), at least 1, at most one per core."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, min(cores, math.ceil(papers / max(1, shard_docs))))


def shard_of(paper_id: int, shards: int) -> int:
    """The shard that holds a paper."""
    return paper_id % shards


def _stamp(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")


@dataclass
class SyncState:
    """Where the incremental sync resumes: the newest updated_at indexed, and the ids at that edge."""

    schema_version: int = SCHEMA_VERSION
    title_boost: int = 2
    cursor: str | None = None  # ISO timestamp (UTC, microseconds)
    boundary: dict[str, list[int]] | None = None  # updated_at stamp -> ids, within OVERLAP of the cursor
    shards: int = 1  # a state written before shards existed describes a one-shard generation

    @classmethod
    def load(cls, gen: Path) -> SyncState | None:
        """The state of a generation, or None when missing or unreadable."""
        try:
            raw = json.loads((gen / "state.json").read_text())
            state = cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
        return state if isinstance(state.shards, int) and state.shards >= 1 else None

    def save(self, gen: Path) -> None:
        """Write atomically (temp file + rename)."""
        tmp = gen / "state.json.tmp"
        tmp.write_text(json.dumps(self.__dict__))
        os.replace(tmp, gen / "state.json")


def current_generation(root: Path) -> Path | None:
    """The live generation directory, or None when no index was built."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except OSError:
        return None
    gen = root / name
    return gen if name and (gen / "meta.json").exists() else None


def shard_dirs(gen: Path, shards: int) -> list[Path]:
    """The directories of a generation's shards, shard 0 first."""
    return [gen] + [gen / f"shard-{i}" for i in range(1, shards)]


def open_shards(gen: Path) -> list[tantivy.Index]:
    """The shard indexes of a live generation (its state says how many)."""
    state = SyncState.load(gen)
    return [_open(d) for d in shard_dirs(gen, state.shards if state else 1)]


def _switch(root: Path, gen: Path) -> None:
    tmp = root / "CURRENT.tmp"
    tmp.write_text(gen.name)
    os.replace(tmp, root / "CURRENT")
    for old in root.iterdir():
        # Older generations go; a process still reading one keeps its open files (POSIX) until it reopens.
        if old.is_dir() and old.name != gen.name and old.name.startswith("g"):
            shutil.rmtree(old, ignore_errors=True)


def _open(path: Path) -> tantivy.Index:
    return register_tokenizers(tantivy.Index(build_schema(), path=str(path), reuse=True))


def _delete(writer: Any, schema: tantivy.Schema, paper_id: int) -> None:
    # By query, not by term: delete_documents_by_term builds a signed-integer term that never matches u64.
    writer.delete_documents_by_query(tantivy.Query.term_query(schema, F_ID, paper_id))


def _index_rows(writers: Sequence[Any], rows: Iterable[IndexRow], title_boost: int, *, replace: bool) -> int:
    n = 0
    schema = build_schema()
    for row in rows:
        writer = writers[shard_of(row.id, len(writers))]
        if replace:
            _delete(writer, schema, row.id)
        writer.add_document(paper_document(row, title_boost=title_boost))
        n += 1
    return n


def _edge(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Paper.updated_at)))


def _boundary(session: Session, cursor: datetime) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    stmt = select(Paper.id, Paper.updated_at).where(Paper.updated_at >= cursor - OVERLAP)
    for pid, ua in session.execute(stmt):
        out.setdefault(_stamp(ua), []).append(pid)
    return out


def build_keyword_index(
    session_factory: sessionmaker[Session],
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    title_boost: int = 2,
    heap_mb: int = 256,
    shard_docs: int = SHARD_DOCS,
    shards: int | None = None,
) -> int:
    """Build a fresh index of every paper under `path` and make it live; returns the papers indexed.

    `progress(done, total)` is called after each chunk. `shards` overrides the count `shard_docs` implies.
    """
    path.mkdir(parents=True, exist_ok=True)
    gen = path / f"g{time.time_ns()}"
    gen.mkdir()
    done = 0
    cores = os.cpu_count() or 1
    with session_factory() as session:
        # The cursor is read before the rows: anything updated while we read is re-indexed by the next sync.
        edge = _edge(session)
        total = session.scalar(select(func.count()).select_from(Paper)) or 0
        n = shards if shards is not None else shard_count(total, shard_docs, cores)
        dirs = shard_dirs(gen, n)
        for d in dirs:
            d.mkdir(exist_ok=True)
        # Indexing threads are shared out: the Python side feeding them is the other half of the work.
        threads = max(1, min(2, cores) // n)
        writers = [
            _open(d).writer(heap_size=max(heap_mb // n, 15 * threads) * 1_000_000, num_threads=threads)
            for d in dirs
        ]
        after = 0
        while True:
            rows = rows_after(session, after, CHUNK)
            if not rows:
                break
            done += _index_rows(writers, rows, title_boost, replace=False)
            after = rows[-1].id
            if progress:
                progress(done, total)
        boundary = _boundary(session, edge) if edge else {}
    for writer in writers:
        writer.commit()
    for writer in writers:
        writer.wait_merging_threads()
    state = SyncState(
        title_boost=title_boost, cursor=_stamp(edge) if edge else None, boundary=boundary, shards=n
    )
    state.save(gen)
    _switch(path, gen)
    return done


def sync_keyword_index(
    session_factory: sessionmaker[Session],
    path: Path,
    *,
    title_boost: int = 2,
    shard_docs: int = SHARD_DOCS,
) -> int:
    """Index papers changed since the last sync (a full build when there is no usable index yet).

    Returns how many papers were (re-)indexed; 0 when another process holds the index writer.
    """
    gen = current_generation(path)
    state = SyncState.load(gen) if gen else None
    if (
        gen is None
        or state is None
        or state.schema_version != SCHEMA_VERSION
        or state.title_boost != title_boost
    ):
        return build_keyword_index(session_factory, path, title_boost=title_boost, shard_docs=shard_docs)
    indexes = [_open(d) for d in shard_dirs(gen, state.shards)]
    writers: list[Any] = []
    try:
        for index in indexes:
            writers.append(index.writer(heap_size=64_000_000, num_threads=1))
    except ValueError as exc:  # LockBusy: another process is writing this index right now
        writers.clear()  # dropping a writer releases its lock
        log.info("keyword index busy, sync skipped: %s", exc)
        return 0
    cursor = datetime.fromisoformat(state.cursor) if state.cursor else None
    seen = {(stamp, pid) for stamp, ids in (state.boundary or {}).items() for pid in ids}
    n = 0
    try:
        with session_factory() as session:
            stmt = select(Paper.id, Paper.updated_at)
            if cursor is not None:
                stmt = stmt.where(Paper.updated_at >= cursor - OVERLAP)
            changed: list[int] = []
            newest = cursor
            for pid, ua in session.execute(stmt):
                aware = datetime.fromisoformat(_stamp(ua))
                newest = aware if newest is None or aware > newest else newest
                if (_stamp(ua), pid) not in seen:
                    changed.append(pid)
            for start in range(0, len(changed), CHUNK):
                rows = load_rows(session, changed[start : start + CHUNK])
                n += _index_rows(writers, rows, title_boost, replace=True)
            n += _drop_deleted(session, indexes, writers, changed)
            boundary = _boundary(session, newest) if newest else {}
        for writer in writers:
            writer.commit()
        for writer in writers:
            writer.wait_merging_threads()
    except BaseException:
        for writer in writers:
            writer.rollback()
        raise
    state.cursor = _stamp(newest) if newest else None
    state.boundary = boundary
    state.save(gen)
    return n


def _held(searcher: tantivy.Searcher, ids: Sequence[int]) -> set[int]:
    """Which of `ids` the searcher's index holds (deleted documents excluded)."""
    schema = build_schema()
    out: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        hits = searcher.search(ids_query(schema, chunk), limit=len(chunk), count=False).hits
        out.update(int(v) for v in searcher.fast_field_values(F_ID, [a for _, a in hits]) if v is not None)
    return out


def _drop_deleted(
    session: Session, indexes: Sequence[tantivy.Index], writers: Sequence[Any], changed: Sequence[int]
) -> int:
    """Remove index documents of papers no longer in the database.

    Listing every indexed id is costly (1M at 1M papers), so it only happens when the index will hold more
    documents than the database has papers: what it holds now plus the `changed` papers it does not hold yet
    (counting those matters when a sync both adds and deletes papers).
    """
    searchers = []
    for index in indexes:
        index.reload()
        searchers.append(index.searcher())
    papers = session.scalar(select(func.count()).select_from(Paper)) or 0
    held = sum(s.num_docs for s in searchers)
    if held + len(changed) > papers:
        held_changed: set[int] = set()
        for searcher in searchers:
            held_changed |= _held(searcher, changed)
        held += len(set(changed) - held_changed)
    if held <= papers:
        return 0
    alive = set(session.scalars(select(Paper.id)))
    schema = build_schema()
    gone = 0
    for searcher, writer in zip(searchers, writers, strict=True):
        hits = searcher.search(tantivy.Query.all_query(), limit=max(1, searcher.num_docs), count=False).hits
        ids = searcher.fast_field_values(F_ID, [addr for _, addr in hits])
        for pid in {int(v) for v in ids if v is not None} - alive:
            _delete(writer, schema, pid)
            gone += 1
    return gone
