"""Normalised paper records and the Source protocol every ingester implements."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol


class SourceError(ValueError):
    """A whole payload from a source is unusable (malformed, hostile, an error response); names the source.

    Subclasses set `summary`, the words between the source and the reason in the message.
    """

    summary = "unusable payload"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {self.summary}: {reason}")
        self.source = source
        self.reason = reason


class RecordError(ValueError):
    """A single record that cannot be stored; names the source and the record."""

    def __init__(self, source: str, record: str, reason: str) -> None:
        super().__init__(f"{source}: record {record!r} rejected: {reason}")
        self.source = source
        self.record = record
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CodeLink:
    """A normalised link to code or artefacts (GitHub, GitLab, Hugging Face, Zenodo, ...)."""

    url: str
    kind: str  # "github", "gitlab", "huggingface", "zenodo", "bitbucket", "codeberg", "project"
    origin: str = "abstract"  # where it was found: abstract, comment, hf, api
    stars: int | None = None


@dataclass(slots=True)
class PaperRecord:
    """One paper as every source yields it, already cleaned (no HTML, no CR/LF in single-line fields)."""

    title: str
    abstract: str
    source: str  # "arxiv_api", "oai", "hf", "rss", "jsonl", "demo"
    arxiv_id: str | None = None  # canonical id without version: "2503.11731" or "astro-ph/0601001"
    version: int | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # primary first
    comment: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    listing_date: date | None = None
    journal_ref: str | None = None
    doi: str | None = None
    project_page: str | None = None
    code_links: list[CodeLink] = field(default_factory=list)
    # Daily-feed signals (Hugging Face): who submitted it (username and display name), its upvotes and
    # comment count there.
    submitted_by: str | None = None
    upvotes: int | None = None
    submitter_fullname: str | None = None
    source_comments: int | None = None
    # A hash of the raw source bytes, when the source has one: cheaper than content_hash() and lets an
    # unchanged record be recognised before it is parsed (see Pending).
    raw_hash: str | None = None

    @property
    def primary_category(self) -> str | None:
        """The primary category: the first one."""
        return self.categories[0] if self.categories else None

    @property
    def key(self) -> str:
        """Stable identity: the arXiv id, or a title hash for papers that have none."""
        if self.arxiv_id:
            return self.arxiv_id
        norm = " ".join(self.title.lower().split())
        return "t:" + hashlib.blake2b(norm.encode(), digest_size=10).hexdigest()

    def content_hash(self) -> str:
        """Hash of every stored field, so a re-run can tell 'unchanged' without a row-by-row diff."""
        if self.raw_hash is not None:
            return self.raw_hash
        payload = [
            self.title,
            self.abstract,
            self.version,
            self.authors,
            self.categories,
            self.comment,
            self.published.isoformat() if self.published else None,
            self.updated.isoformat() if self.updated else None,
            self.listing_date.isoformat() if self.listing_date else None,
            self.journal_ref,
            self.doi,
            self.project_page,
            sorted((c.url, c.kind, c.stars) for c in self.code_links),
            self.submitted_by,
            self.upvotes,
        ]
        # Appended only when set, so the hash of every record that lacks them (all but HF's) is unchanged
        # and a re-run over an existing database still finds those papers unchanged.
        if self.submitter_fullname is not None or self.source_comments is not None:
            payload += [self.submitter_fullname, self.source_comments]
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Rejected:
    """A record a source could not turn into a PaperRecord, kept for the report."""

    source: str
    record: str
    reason: str


@dataclass(slots=True)
class Pending:
    """A record not parsed yet: its key and hash came cheaply from the raw bytes; the store calls
    `parse()` only when the stored row's hash differs (so a re-run of a big dump skips the parsing)."""

    key: str
    content_hash: str
    parse: Callable[[], PaperRecord | Rejected]


@dataclass(slots=True)
class Checkpoint:
    """Yielded by a resumable source between pages: the store commits every record before it, then
    calls `save()` (which stores the harvest cursor), so a resumed harvest neither skips nor loses any."""

    save: Callable[[], None]


Item = PaperRecord | Rejected | Pending | Checkpoint


class Source(Protocol):
    """Anything that yields normalised records (and Rejected markers for bad ones)."""

    name: str

    def records(self) -> Iterator[Item]:
        """Yield records in source order; a bad record yields Rejected, never raises mid-batch."""
        ...


def resolved(items: Iterable[Item]) -> Iterator[PaperRecord | Rejected]:
    """Items with every Pending parsed: for consumers that need the full record (tests, previews)."""
    for item in items:
        if isinstance(item, Checkpoint):
            continue
        yield item.parse() if isinstance(item, Pending) else item


def consume(items: Iterable[Item]) -> list[PaperRecord | Rejected]:
    """Read a source as the store does, without a database: checkpoints run as reached, Pending parsed."""
    out: list[PaperRecord | Rejected] = []
    for item in items:
        if isinstance(item, Checkpoint):
            item.save()
        else:
            out.append(item.parse() if isinstance(item, Pending) else item)
    return out
