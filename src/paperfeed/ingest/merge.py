"""Pure merge rules: what an incoming record changes in a stored paper (nothing, when nothing differs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from paperfeed.ingest.records import CodeLink, PaperRecord

# Metadata columns that a record fills; a missing (None) value never blanks a stored one.
METADATA_COLUMNS = (
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
)
# Every paper column a record carries, in the order record_columns() returns them.
RECORD_COLUMNS = ("title", "abstract", "upvotes", "source_comments", *METADATA_COLUMNS)
# Counts the source owns: its latest value wins even over an authoritative (arXiv) record's gap.
SOURCE_COUNTS = frozenset({"upvotes", "source_comments"})


@dataclass
class StoredPaper:
    """What the database holds for one paper, loaded only for records whose hash changed."""

    id: int
    columns: dict[str, Any]  # title, abstract, upvotes and METADATA_COLUMNS
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    links: dict[str, int | None] = field(default_factory=dict)  # url -> stars
    submissions: dict[date, str | None] = field(default_factory=dict)  # day -> submitted_by
    fullnames: dict[date, str | None] = field(default_factory=dict)  # day -> submitter_fullname


@dataclass
class Merge:
    """The writes one record needs; all empty/None means the record changes nothing."""

    columns: dict[str, Any] | None = None
    authors: list[str] | None = None
    categories: list[str] | None = None
    links: list[CodeLink] = field(default_factory=list)
    submissions: list[tuple[date, str | None]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything must be written."""
        return bool(
            self.columns is not None or self.authors is not None or self.categories is not None
        ) or bool(self.links or self.submissions)


def _same(a: Any, b: Any) -> bool:
    # SQLite hands back naive datetimes, PostgreSQL aware ones: compare both as naive UTC.
    if isinstance(a, datetime) and isinstance(b, datetime):
        return _naive_utc(a) == _naive_utc(b)
    return bool(a == b)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def record_columns(rec: PaperRecord) -> dict[str, Any]:
    """The paper columns a record carries (None where it has nothing)."""
    return {
        "title": rec.title,
        "abstract": rec.abstract,
        "upvotes": rec.upvotes,
        "source_comments": rec.source_comments,
        "arxiv_id": rec.arxiv_id,
        "version": rec.version,
        "comment": rec.comment,
        "primary_category": rec.primary_category,
        "published": rec.published,
        "updated": rec.updated,
        "listing_date": rec.listing_date,
        "journal_ref": rec.journal_ref,
        "doi": rec.doi,
        "project_page": rec.project_page,
    }


def merge(stored: StoredPaper, rec: PaperRecord) -> Merge:
    """The writes that bring `stored` up to date with `rec`.

    A record with a version (or over a paper without one) is authoritative: its title, abstract, authors
    and categories replace the stored ones. A versionless record over a versioned paper (Hugging Face over
    arXiv) only fills gaps, except upvotes, which it owns. No source blanks a field another filled.
    """
    stored_version = stored.columns.get("version")
    authoritative = rec.version is not None or stored_version is None
    incoming = record_columns(rec)
    new_cols = dict(stored.columns)
    for name, value in incoming.items():
        if value is None:
            continue
        if authoritative or name in SOURCE_COUNTS or stored.columns.get(name) in (None, ""):
            new_cols[name] = value
    out = Merge()
    if any(not _same(new_cols.get(k), stored.columns.get(k)) for k in new_cols):
        out.columns = new_cols
    if rec.authors and (authoritative or not stored.authors) and rec.authors != stored.authors:
        out.authors = list(rec.authors)
    cats = list(dict.fromkeys(rec.categories))
    if cats and (authoritative or not stored.categories) and cats != stored.categories:
        out.categories = cats
    for link in rec.code_links:
        if link.url not in stored.links or (link.stars is not None and stored.links[link.url] != link.stars):
            out.links.append(link)
    if rec.listing_date is not None:
        day = rec.listing_date
        if (
            day not in stored.submissions
            or (rec.submitted_by is not None and stored.submissions[day] != rec.submitted_by)
            or (rec.submitter_fullname is not None and stored.fullnames.get(day) != rec.submitter_fullname)
        ):
            out.submissions.append((day, rec.submitted_by))
    return out
