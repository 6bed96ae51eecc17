"""The ingest report and per-record validation shared by every source and the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from paperfeed.ingest.records import PaperRecord
from paperfeed.text.arxiv_ids import is_arxiv_category
from paperfeed.text.urls import http_url

MAX_ERRORS_KEPT = 200  # the report keeps the first errors verbatim and counts the rest


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


def sanitise(record: PaperRecord) -> None:
    """Drop, in place, what no source may store: a URL that is not http(s) (javascript:, data:, ...) and a
    category not shaped like arXiv's. The paper itself is kept; these fields are only ever links or codes."""
    if record.project_page is not None:
        record.project_page = http_url(record.project_page)
    if record.code_links and not all(http_url(link.url) for link in record.code_links):
        record.code_links = [link for link in record.code_links if http_url(link.url)]
    if record.categories and not all(is_arxiv_category(c) for c in record.categories):
        record.categories = [c for c in record.categories if is_arxiv_category(c)]


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
    if "\x00" in record.title or "\x00" in record.abstract:
        return "NUL character in text"
    return None
