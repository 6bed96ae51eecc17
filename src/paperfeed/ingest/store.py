"""One idempotent, batched upsert for every source: by arXiv id (or title key), newest version wins."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import AUTHORS, CODE_LINKS, PAPER_AUTHORS, PAPER_CATEGORIES, PAPERS, SUBMISSIONS
from paperfeed.ingest.bulk import bulk_insert, chunks
from paperfeed.ingest.merge import RECORD_COLUMNS, Merge, merge, record_columns
from paperfeed.ingest.pipeline import PendingResolver, Prepared
from paperfeed.ingest.records import Checkpoint, Item, PaperRecord, Pending, Rejected
from paperfeed.ingest.report import IngestReport, sanitise, validate
from paperfeed.ingest.stored import load_stored

__all__ = ["IngestReport", "PaperStore", "store_records", "validate"]

log = logging.getLogger(__name__)


AUTHOR_CACHE_MAX = 2_000_000  # names cached between batches (about 200 MB at most)


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Batches of at most `size` items; a Checkpoint ends its batch, so it runs right after a commit."""
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size or isinstance(item, Checkpoint):
            yield batch
            batch = []
    if batch:
        yield batch


def _label(rec: PaperRecord) -> str:
    return rec.arxiv_id or rec.title[:80]


class PaperStore:
    """Writes batches of records; keeps an author-id cache across batches (filled only after commit)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._author_ids: dict[str, int] = {}

    def store(
        self,
        items: Iterable[Item],
        *,
        batch_size: int = 1000,
        on_batch: Callable[[IngestReport], None] | None = None,
        workers: int = 0,
    ) -> IngestReport:
        """Store all items; one transaction per batch; a bad record never stops the rest.

        With `workers` > 0, the next batch is parsed in worker processes while this one is written.
        """
        total = IngestReport()
        resolver = PendingResolver(self._stored_hashes, workers=workers)
        queue: deque[Prepared] = deque()
        written: set[str] = set()
        try:
            for batch in _batches(items, batch_size):
                queue.append(resolver.prepare(batch))
                if len(queue) > (1 if workers else 0):
                    written = self._finish(resolver, queue.popleft(), written, total, on_batch)
            while queue:
                written = self._finish(resolver, queue.popleft(), written, total, on_batch)
        finally:
            resolver.close()
        return total

    def _finish(
        self,
        resolver: PendingResolver,
        prep: Prepared,
        written: set[str],
        total: IngestReport,
        on_batch: Callable[[IngestReport], None] | None,
    ) -> set[str]:
        report = IngestReport()
        items, report.unchanged = resolver.finish(prep, written)
        written = self._store_batch(items, report)
        total.add(report)
        if on_batch:
            on_batch(report)
        return written

    def _stored_hashes(self, keys: list[str]) -> dict[str, str]:
        with self._factory() as session:
            return {key: h for key, _, _, h in self._existing(session, keys)}

    def _store_batch(self, batch: list[Item], report: IngestReport) -> set[str]:
        """Validate and write one batch; returns the keys it inserted or changed."""
        # A key seen twice in one batch (e.g. "2604.17536" and "2604.17536v2" lines) goes to a later
        # round, so every record is merged in input order exactly as if stored one at a time.
        rounds: list[dict[str, PaperRecord]] = []
        checkpoints: list[Checkpoint] = []
        for item in batch:
            if isinstance(item, Checkpoint):
                checkpoints.append(item)
                continue
            if isinstance(item, Rejected):
                report.reject(item.source, item.record, item.reason)
                continue
            if isinstance(item, Pending):  # only from a caller bypassing the resolver
                resolved = item.parse()
                if isinstance(resolved, Rejected):
                    report.reject(resolved.source, resolved.record, resolved.reason)
                    continue
                item = resolved
            sanitise(item)
            reason = validate(item)
            if reason:
                report.reject(item.source, _label(item), reason)
                continue
            for records in rounds:
                if item.key not in records:
                    records[item.key] = item
                    break
            else:
                rounds.append({item.key: item})
        written: set[str] = set()
        for records in rounds:
            written |= self._write_round(list(records.values()), report)
        for checkpoint in checkpoints:
            checkpoint.save()  # only now is everything before it committed
        return written

    def _write_round(self, records: list[PaperRecord], report: IngestReport) -> set[str]:
        try:
            return self._write(records, report)
        except SQLAlchemyError as exc:
            # Isolate the offending record(s): retry one by one, each in its own transaction.
            log.warning("batch failed (%s); retrying record by record", exc.__class__.__name__)
            written: set[str] = set()
            for rec in records:
                one = IngestReport()
                try:
                    written |= self._write([rec], one)
                except SQLAlchemyError as err:
                    cause = getattr(err, "orig", None) or err
                    report.reject(rec.source, _label(rec), f"database error: {cause}")
                else:
                    report.add(one)
            return written

    @staticmethod
    def _existing(session: Session, keys: Sequence[str]) -> Iterator[tuple[str, int, int | None, str]]:
        for chunk in chunks(keys):
            yield from session.execute(
                select(PAPERS.c.key, PAPERS.c.id, PAPERS.c.version, PAPERS.c.content_hash).where(
                    PAPERS.c.key.in_(chunk)
                )
            )

    def _write(self, records: list[PaperRecord], report: IngestReport) -> set[str]:
        new_authors: dict[str, int] = {}
        try:
            return self._write_tx(records, report, new_authors)
        except BaseException:
            # The transaction rolled back: ids of authors it inserted no longer exist.
            for name in new_authors:
                self._author_ids.pop(name, None)
            raise

    def _write_tx(
        self, records: list[PaperRecord], report: IngestReport, new_authors: dict[str, int]
    ) -> set[str]:
        counts = IngestReport()
        with self._factory() as session, session.begin():
            existing = {
                key: (pid, version, h)
                for key, pid, version, h in self._existing(session, [r.key for r in records])
            }
            to_insert: list[PaperRecord] = []
            candidates: list[tuple[int, PaperRecord]] = []
            for rec in records:
                found = existing.get(rec.key)
                if found is None:
                    to_insert.append(rec)
                elif found[2] == rec.content_hash():
                    counts.unchanged += 1
                elif rec.version is not None and found[1] is not None and rec.version < found[1]:
                    counts.unchanged += 1  # an older version never overwrites a newer one
                else:
                    candidates.append((found[0], rec))
            merges = self._merges(session, candidates)
            counts.unchanged += len(candidates) - len(merges)
            now = datetime.now(UTC)
            if to_insert:
                self._insert_papers(session, to_insert, now, new_authors)
            if merges:
                self._apply_merges(session, merges, now, new_authors)
            counts.new += len(to_insert)
            counts.updated += len(merges)
        # Only after commit: a rolled-back batch must count nothing.
        report.add(counts)
        return {r.key for r in to_insert} | {r.key for _, r, _ in merges}

    def _insert_papers(
        self, session: Session, records: list[PaperRecord], now: datetime, new_authors: dict[str, int]
    ) -> None:
        bulk_insert(session, PAPERS, PAPER_COLUMNS, [_paper_row(r, now) for r in records])
        ids = {key: pid for key, pid, _, _ in self._existing(session, [r.key for r in records])}
        author_ids = self._resolve_authors(session, {n for r in records for n in r.authors}, new_authors)
        authors: list[tuple[Any, ...]] = []
        cats: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        subs: list[tuple[Any, ...]] = []
        for rec in records:
            pid = ids[rec.key]
            # A name may repeat on a byline (rare but real); positions keep both.
            authors.extend((pid, i, author_ids[name]) for i, name in enumerate(rec.authors))
            cats.extend((pid, i, c) for i, c in enumerate(dict.fromkeys(rec.categories)))
            links.extend(
                (pid, link.url, link.kind, link.origin, link.stars)
                for link in {link.url: link for link in rec.code_links}.values()
            )
            if rec.listing_date is not None:
                subs.append(
                    (pid, rec.listing_date, now, rec.submitted_by, rec.submitter_fullname, rec.source)
                )
        self._write_children(session, authors, cats, links, subs)

    def _write_children(
        self,
        session: Session,
        authors: list[tuple[Any, ...]],
        cats: list[tuple[Any, ...]],
        links: list[tuple[Any, ...]],
        subs: list[tuple[Any, ...]],
    ) -> None:
        bulk_insert(session, PAPER_AUTHORS, ("paper_id", "position", "author_id"), authors)
        bulk_insert(session, PAPER_CATEGORIES, ("paper_id", "position", "category"), cats)
        bulk_insert(
            session,
            CODE_LINKS,
            ("paper_id", "url", "kind", "origin", "stars"),
            links,
            suffix="ON CONFLICT (paper_id, url) DO UPDATE SET "
            "stars = COALESCE(excluded.stars, code_links.stars)",
        )
        bulk_insert(
            session,
            SUBMISSIONS,
            ("paper_id", "day", "submitted_at", "submitted_by", "submitter_fullname", "source"),
            subs,
            suffix="ON CONFLICT (paper_id, day) DO UPDATE SET "
            "submitted_by = COALESCE(excluded.submitted_by, submissions.submitted_by), "
            "submitter_fullname = COALESCE(excluded.submitter_fullname, submissions.submitter_fullname)",
        )

    def _merges(
        self, session: Session, candidates: list[tuple[int, PaperRecord]]
    ) -> list[tuple[int, PaperRecord, Merge]]:
        """Keep the changed-hash candidates that really change their stored paper."""
        if not candidates:
            return []
        stored = load_stored(session, [pid for pid, _ in candidates])
        out = []
        for pid, rec in candidates:
            m = merge(stored[pid], rec)
            if m.changed:
                out.append((pid, rec, m))
        return out

    def _apply_merges(
        self,
        session: Session,
        merges: list[tuple[int, PaperRecord, Merge]],
        now: datetime,
        new_authors: dict[str, int],
    ) -> None:
        rows = []
        for pid, rec, m in merges:
            cols = m.columns or {}
            rows.append(
                {
                    **cols,
                    "b_id": pid,
                    "content_hash": rec.content_hash(),
                    "source": rec.source,
                    "updated_at": now,
                }
            )
        # One statement shape per distinct column set keeps executemany batching.
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for shape, group in by_shape.items():
            session.execute(
                update(PAPERS)
                .where(PAPERS.c.id == bindparam("b_id"))
                .values({c: bindparam(c) for c in shape if c != "b_id"}),
                group,
                execution_options={"synchronize_session": False},
            )
        replace_authors = [(pid, m.authors) for pid, _, m in merges if m.authors is not None]
        replace_cats = [(pid, m.categories) for pid, _, m in merges if m.categories is not None]
        for chunk in chunks([pid for pid, _ in replace_authors]):
            session.execute(PAPER_AUTHORS.delete().where(PAPER_AUTHORS.c.paper_id.in_(chunk)))
        for chunk in chunks([pid for pid, _ in replace_cats]):
            session.execute(PAPER_CATEGORIES.delete().where(PAPER_CATEGORIES.c.paper_id.in_(chunk)))
        author_ids = self._resolve_authors(
            session, {n for _, names in replace_authors for n in names or ()}, new_authors
        )
        self._write_children(
            session,
            [(pid, i, author_ids[n]) for pid, names in replace_authors for i, n in enumerate(names or ())],
            [(pid, i, c) for pid, cats in replace_cats for i, c in enumerate(cats or ())],
            [
                (pid, link.url, link.kind, link.origin, link.stars)
                for pid, _, m in merges
                for link in {link.url: link for link in m.links}.values()
            ],
            [
                (pid, day, now, by, rec.submitter_fullname, rec.source)
                for pid, rec, m in merges
                for day, by in m.submissions
            ],
        )

    def _resolve_authors(
        self, session: Session, names: set[str], new_authors: dict[str, int]
    ) -> dict[str, int]:
        """Author name -> id, inserting unknown names (ON CONFLICT DO NOTHING for concurrent ingests)."""
        if len(self._author_ids) > AUTHOR_CACHE_MAX:
            self._author_ids.clear()  # bounded memory on huge harvests; ids are re-read on demand
            self._author_ids.update(new_authors)
        missing = sorted(n for n in names if n not in self._author_ids)
        if missing:
            bulk_insert(
                session, AUTHORS, ("name",), [(n,) for n in missing], suffix="ON CONFLICT (name) DO NOTHING"
            )
            for chunk in chunks(missing):
                found = {
                    name: aid
                    for aid, name in session.execute(
                        select(AUTHORS.c.id, AUTHORS.c.name).where(AUTHORS.c.name.in_(chunk))
                    )
                }
                new_authors.update(found)
                self._author_ids.update(found)
        return self._author_ids


PAPER_COLUMNS = ("key", *RECORD_COLUMNS, "source", "content_hash", "created_at", "updated_at")


def _paper_row(rec: PaperRecord, now: datetime) -> tuple[Any, ...]:
    """A papers row in PAPER_COLUMNS order."""
    columns = record_columns(rec)
    columns["upvotes"] = rec.upvotes or 0
    columns["source_comments"] = rec.source_comments or 0
    return (rec.key, *(columns[c] for c in RECORD_COLUMNS), rec.source, rec.content_hash(), now, now)


def store_records(
    session_factory: sessionmaker[Session],
    items: Iterable[Item],
    *,
    batch_size: int = 1000,
    on_batch: Callable[[IngestReport], None] | None = None,
    workers: int = 0,
) -> IngestReport:
    """Store items idempotently: new papers inserted, newer versions updated, the rest unchanged."""
    return PaperStore(session_factory).store(items, batch_size=batch_size, on_batch=on_batch, workers=workers)
