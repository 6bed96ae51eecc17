"""One idempotent, batched upsert for every source: by arXiv id (or title key), newest version wins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import Author, CodeLinkRow, Paper, PaperAuthor, PaperCategory, Submission
from paperfeed.ingest.records import Item, PaperRecord, Rejected

log = logging.getLogger(__name__)

PAPERS: Table = Paper.__table__  # type: ignore[assignment]
AUTHORS: Table = Author.__table__  # type: ignore[assignment]
PAPER_AUTHORS: Table = PaperAuthor.__table__  # type: ignore[assignment]
PAPER_CATEGORIES: Table = PaperCategory.__table__  # type: ignore[assignment]
CODE_LINKS: Table = CodeLinkRow.__table__  # type: ignore[assignment]
SUBMISSIONS: Table = Submission.__table__  # type: ignore[assignment]

MAX_ERRORS_KEPT = 200  # the report keeps the first errors verbatim and counts the rest
IN_CHUNK = 900  # bound IN-lists so SQLite's host-parameter limit is never hit


@dataclass
class IngestReport:
    """Counts of one ingest run; `errors` names each rejected record and why."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        """Records read, good or bad."""
        return self.new + self.updated + self.unchanged + self.rejected

    def reject(self, source: str, record: str, reason: str) -> None:
        """Count one rejected record, keeping its message."""
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{source}: record {record!r} rejected: {reason}")

    def add(self, other: IngestReport) -> None:
        """Fold another report into this one."""
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        room = MAX_ERRORS_KEPT - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])


def validate(record: PaperRecord) -> str | None:
    """Why a record cannot be stored, or None when it can."""
    if not record.title.strip():
        return "missing title"
    if len(record.title) > 2000:
        return f"title too long ({len(record.title)} chars)"
    if len(record.abstract) > 100_000:
        return f"abstract too long ({len(record.abstract)} chars)"
    if record.arxiv_id is not None and (len(record.arxiv_id) > 64 or not record.arxiv_id.strip()):
        return f"bad arXiv id {record.arxiv_id!r}"
    if record.version is not None and record.version < 1:
        return f"bad version {record.version}"
    if any(len(a) > 512 for a in record.authors):
        return "author name too long"
    if any(len(c) > 64 for c in record.categories):
        return "category too long"
    return None


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(seq: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _insert(session: Session, table: Table) -> Any:
    """Dialect insert with ON CONFLICT support (SQLite and PostgreSQL share the syntax)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


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
    ) -> IngestReport:
        """Store all items; one transaction per batch; a bad record never stops the rest."""
        total = IngestReport()
        for batch in _batches(items, batch_size):
            report = self._store_batch(batch)
            total.add(report)
            if on_batch:
                on_batch(report)
        return total

    def _store_batch(self, batch: list[Item]) -> IngestReport:
        report = IngestReport()
        records: dict[str, PaperRecord] = {}
        for item in batch:
            if isinstance(item, Rejected):
                report.reject(item.source, item.record, item.reason)
                continue
            reason = validate(item)
            if reason:
                report.reject(item.source, item.arxiv_id or item.title[:80], reason)
                continue
            prev = records.get(item.key)
            # Within one batch the newest version wins, as it does across batches.
            if prev is None or (item.version or 0) >= (prev.version or 0):
                if prev is not None:
                    report.unchanged += 1
                records[item.key] = item
            else:
                report.unchanged += 1
        if not records:
            return report
        try:
            self._write(list(records.values()), report)
        except SQLAlchemyError as exc:
            # Isolate the offending record(s): retry one by one, each in its own transaction.
            log.warning("batch failed (%s); retrying record by record", exc.__class__.__name__)
            for rec in records.values():
                one = IngestReport()
                try:
                    self._write([rec], one)
                except SQLAlchemyError as err:
                    cause = getattr(err, "orig", None) or err
                    report.reject(rec.source, rec.arxiv_id or rec.title[:80], f"database error: {cause}")
                else:
                    report.add(one)
        return report

    def _write(self, records: list[PaperRecord], report: IngestReport) -> None:
        new_authors: dict[str, int] = {}
        with self._factory() as session, session.begin():
            existing: dict[str, tuple[int, int | None, str]] = {}
            keys = [r.key for r in records]
            for chunk in _chunks(keys):
                rows = session.execute(
                    select(PAPERS.c.key, PAPERS.c.id, PAPERS.c.version, PAPERS.c.content_hash).where(
                        PAPERS.c.key.in_(chunk)
                    )
                )
                for key, pid, version, chash in rows:
                    existing[key] = (pid, version, chash)
            now = datetime.now(UTC)
            to_insert: list[tuple[PaperRecord, str]] = []
            to_update: list[tuple[int, PaperRecord, str]] = []
            for rec in records:
                chash = rec.content_hash()
                found = existing.get(rec.key)
                if found is None:
                    to_insert.append((rec, chash))
                elif found[2] == chash:
                    report.unchanged += 1
                elif rec.version is not None and found[1] is not None and rec.version < found[1]:
                    report.unchanged += 1  # an older version never overwrites a newer one
                else:
                    to_update.append((found[0], rec, chash))
            if not to_insert and not to_update:
                return
            ids: dict[str, int] = {}
            if to_insert:
                rows_in = [_paper_row(r, h, now) for r, h in to_insert]
                result = session.execute(
                    PAPERS.insert().returning(PAPERS.c.id, PAPERS.c.key, sort_by_parameter_order=True),
                    rows_in,
                )
                ids.update({key: pid for pid, key in result})
            if to_update:
                session.execute(
                    update(PAPERS)
                    .where(PAPERS.c.id == bindparam("b_id"))
                    .values(
                        {
                            "title": bindparam("title"),
                            "abstract": bindparam("abstract"),
                            "content_hash": bindparam("content_hash"),
                            "source": bindparam("source"),
                            "updated_at": bindparam("updated_at"),
                            **{col: func.coalesce(bindparam(col), PAPERS.c[col]) for col in _MERGED_COLUMNS},
                        }
                    ),
                    [_update_row(pid, r, h, now) for pid, r, h in to_update],
                    execution_options={"synchronize_session": False},
                )
                ids.update({r.key: pid for pid, r, _ in to_update})
                replaced_authors = [pid for pid, r, _ in to_update if r.authors]
                replaced_cats = [pid for pid, r, _ in to_update if r.categories]
                for chunk in _chunks(replaced_authors):
                    session.execute(PAPER_AUTHORS.delete().where(PAPER_AUTHORS.c.paper_id.in_(chunk)))
                for chunk in _chunks(replaced_cats):
                    session.execute(PAPER_CATEGORIES.delete().where(PAPER_CATEGORIES.c.paper_id.in_(chunk)))
            written = [r for r, _ in to_insert] + [r for _, r, _ in to_update]
            author_ids = self._resolve_authors(session, written, new_authors)
            self._write_children(session, written, ids, author_ids, now)
            report.new += len(to_insert)
            report.updated += len(to_update)
        # Only after commit: a rolled-back batch must not leave ids of rows that do not exist.
        self._author_ids.update(new_authors)

    def _resolve_authors(
        self, session: Session, records: list[PaperRecord], new_authors: dict[str, int]
    ) -> dict[str, int]:
        """Author name -> id, inserting unknown names (ON CONFLICT DO NOTHING for concurrent ingests)."""
        wanted = {name for r in records for name in r.authors}
        missing = sorted(wanted - self._author_ids.keys())
        if missing:
            session.execute(
                _insert(session, AUTHORS).on_conflict_do_nothing(index_elements=["name"]),
                [{"name": n} for n in missing],
            )
            for chunk in _chunks(missing):
                for aid, name in session.execute(
                    select(AUTHORS.c.id, AUTHORS.c.name).where(AUTHORS.c.name.in_(chunk))
                ):
                    new_authors[name] = aid
        return {**self._author_ids, **new_authors} if new_authors else self._author_ids

    def _write_children(
        self,
        session: Session,
        records: list[PaperRecord],
        ids: dict[str, int],
        author_ids: dict[str, int],
        now: datetime,
    ) -> None:
        authors_rows: list[dict[str, Any]] = []
        cat_rows: list[dict[str, Any]] = []
        link_rows: list[dict[str, Any]] = []
        sub_rows: list[dict[str, Any]] = []
        for rec in records:
            pid = ids[rec.key]
            # A name may repeat on a byline (rare but real); positions keep both.
            authors_rows.extend(
                {"paper_id": pid, "position": i, "author_id": author_ids[name]}
                for i, name in enumerate(rec.authors)
            )
            cat_rows.extend(
                {"paper_id": pid, "position": i, "category": c}
                for i, c in enumerate(dict.fromkeys(rec.categories))
            )
            link_rows.extend(
                {
                    "paper_id": pid,
                    "url": link.url,
                    "kind": link.kind,
                    "origin": link.origin,
                    "stars": link.stars,
                }
                for link in {link.url: link for link in rec.code_links}.values()
            )
            if rec.listing_date is not None:
                sub_rows.append(
                    {
                        "paper_id": pid,
                        "day": rec.listing_date,
                        "submitted_at": now,
                        "submitted_by": rec.submitted_by,
                        "source": rec.source,
                    }
                )
        if authors_rows:
            session.execute(PAPER_AUTHORS.insert(), authors_rows)
        if cat_rows:
            session.execute(PAPER_CATEGORIES.insert(), cat_rows)
        if link_rows:
            stmt = _insert(session, CODE_LINKS)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["paper_id", "url"],
                    set_={"stars": func.coalesce(stmt.excluded.stars, CODE_LINKS.c.stars)},
                ),
                link_rows,
            )
        if sub_rows:
            stmt = _insert(session, SUBMISSIONS)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["paper_id", "day"],
                    set_={
                        "submitted_by": func.coalesce(stmt.excluded.submitted_by, SUBMISSIONS.c.submitted_by)
                    },
                ),
                sub_rows,
            )


# Columns a sparser source (e.g. Hugging Face, which has no categories or comment) must not blank out.
_MERGED_COLUMNS = (
    "arxiv_id",
    "version",
    "comment",
    "primary_category",
    "published",
    "updated",
    "listing_date",
    "journal_ref",
    "doi",
    "project_page",
    "upvotes",
)


def _paper_row(rec: PaperRecord, chash: str, now: datetime) -> dict[str, Any]:
    return {
        "key": rec.key,
        "arxiv_id": rec.arxiv_id,
        "version": rec.version,
        "title": rec.title,
        "abstract": rec.abstract,
        "comment": rec.comment,
        "primary_category": rec.primary_category,
        "published": rec.published,
        "updated": rec.updated,
        "listing_date": rec.listing_date,
        "journal_ref": rec.journal_ref,
        "doi": rec.doi,
        "project_page": rec.project_page,
        "upvotes": rec.upvotes or 0,
        "source": rec.source,
        "content_hash": chash,
        "created_at": now,
        "updated_at": now,
    }


def _update_row(pid: int, rec: PaperRecord, chash: str, now: datetime) -> dict[str, Any]:
    row = _paper_row(rec, chash, now)
    del row["key"], row["created_at"]
    row["upvotes"] = rec.upvotes  # None keeps the stored count
    row["b_id"] = pid
    return row


def store_records(
    session_factory: sessionmaker[Session],
    items: Iterable[Item],
    *,
    batch_size: int = 1000,
    on_batch: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Store items idempotently: new papers inserted, newer versions updated, the rest unchanged."""
    return PaperStore(session_factory).store(items, batch_size=batch_size, on_batch=on_batch)
