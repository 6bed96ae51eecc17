"""Stream papers from a JSON-lines file (.jsonl or .jsonl.gz), one arXiv-style object a line.

Fields: id (optional: papers without one get arxiv_id None), title, summary (or abstract), authors,
categories, comment, listing_date (YYYY-MM-DD); authors/categories/comment may be null. The file is read
line by line, never loaded whole, and no read returns more than `max_line_bytes` + 1 bytes: a longer line
is skipped unread (rejected by its line number), so a hostile dump cannot make one line fill the memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from paperfeed.ingest.records import Item, PaperRecord, Pending, Rejected
from paperfeed.text.arxiv_ids import InvalidArxivId, is_arxiv_category, parse_arxiv_id
from paperfeed.text.clean import CLEANING_VERSION, clean_block, clean_line
from paperfeed.text.code_links import paper_code_links

__all__ = ["DEFAULT_MAX_LINE_BYTES", "JsonlSource", "parse_jsonl_object"]

# Real arXiv records are a few KB (the demo's longest line is 6 KB); 1 MiB leaves room for any real one.
DEFAULT_MAX_LINE_BYTES = 1 << 20

# The dumps start every line with the id; reading it without decoding the line lets a re-run skip
# unchanged papers before any parsing (see Pending). Lines not in this shape are parsed in full.
_CANONICAL_NEW_ID = re.compile(rb"^[0-9]{4}\.[0-9]{4,5}$")
_LEADING_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*"([^"\\]{1,64})"')


def _str_list(value: object, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of strings or null")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{field} must be a list of strings or null")
        cleaned = clean_line(item)
        if cleaned:
            out.append(cleaned)
    return out


def parse_jsonl_object(
    obj: object, *, source: str = "jsonl", listing_date: date | None = None
) -> PaperRecord:
    """One decoded JSON object as a cleaned PaperRecord; raises ValueError naming the bad field."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("id")
    arxiv_id: str | None = None
    version: int | None = None
    if raw_id is not None and raw_id != "":
        if not isinstance(raw_id, str):
            raise ValueError(f"id must be a string, got {raw_id!r}")
        arxiv_id, version = parse_arxiv_id(raw_id)
    title_raw = obj.get("title")
    if title_raw is not None and not isinstance(title_raw, str):
        raise ValueError("title must be a string")
    title = clean_line(title_raw)
    if not title:
        raise ValueError("no title")
    summary = obj["summary"] if "summary" in obj else obj.get("abstract")
    if summary is not None and not isinstance(summary, str):
        raise ValueError("summary must be a string or null")
    abstract = clean_block(summary)
    comment_raw = obj.get("comment")
    if comment_raw is not None and not isinstance(comment_raw, str):
        raise ValueError("comment must be a string or null")
    comment = clean_line(comment_raw) or None
    day = obj.get("listing_date")
    if day is None or day == "":
        listed = listing_date
    elif isinstance(day, str):
        try:
            listed = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"listing_date {day!r} is not YYYY-MM-DD") from None
    else:
        raise ValueError(f"listing_date {day!r} is not YYYY-MM-DD")
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        version=version,
        authors=_str_list(obj.get("authors"), "authors"),
        # Some dumps mix ACM/MSC class text into the list ("H.3.3; I.2.7"): dropped, not the paper.
        categories=[c for c in _str_list(obj.get("categories"), "categories") if is_arxiv_category(c)],
        comment=comment,
        listing_date=listed,
        code_links=paper_code_links(abstract, comment),
    )


class JsonlSource:
    """A Source over a .jsonl / .jsonl.gz file; bad lines and a truncated file yield Rejected."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str = "jsonl",
        listing_date: date | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        """`listing_date` is used for records that carry none (the id-less demo papers)."""
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.path = Path(path)
        self.name = name
        self.listing_date = listing_date
        self.max_line_bytes = max_line_bytes
        self._ctx = _LineContext(self.name, self.path.name, listing_date)
        # What shapes a line's meaning besides its bytes; hashed first, then copied for every line.
        self._hash_seed = hashlib.blake2b(digest_size=16, person=b"paperfeed-jsonl")
        self._hash_seed.update(f"{self.name}|{self.listing_date}|{CLEANING_VERSION}\n".encode())

    def _open(self) -> io.BufferedIOBase:
        if self.path.suffix == ".gz":
            # gzip's small internal buffer is on purpose: a bigger one loses the lines read just before
            # a truncation, because the failing refill takes the buffered tail down with it.
            return gzip.open(self.path, "rb")
        return self.path.open("rb")

    def records(self) -> Iterator[Item]:
        """Yield one record per non-blank line, in file order; never raises for bad content."""
        lineno = 0
        try:
            fh = self._open()
        except OSError as exc:
            yield Rejected(self.name, str(self.path), f"cannot open: {exc}")
            return
        with fh:
            try:
                for lineno, line, complete in _bounded_lines(fh, self.max_line_bytes):
                    if not complete:
                        yield self._too_long(line, lineno)
                    elif line.strip():
                        yield self._parse_line(line, lineno)
            except (EOFError, OSError, zlib.error) as exc:
                # A cut-off download: keep what was read, then say where it stopped.
                what = "truncated gzip" if isinstance(exc, EOFError) else "unreadable data"
                yield Rejected(self.name, str(self.path), f"{what} after line {lineno}: {exc}")

    def _too_long(self, head: bytes, lineno: int) -> Rejected:
        """An over-long line, named by its number (and its id when the line starts with one)."""
        match = _LEADING_ID.match(head)
        obj = {"id": match.group(1).decode(errors="replace")} if match else None
        reason = f"line longer than {self.max_line_bytes} bytes (jsonl_max_line_bytes): skipped unread"
        return Rejected(self.name, self._ctx.label(lineno, obj), reason)

    def _parse_line(self, line: bytes, lineno: int) -> Item:
        # The raw bytes (and what shapes their meaning here) are the record's identity for re-runs.
        digest = self._hash_seed.copy()
        digest.update(line.strip())
        raw_hash = digest.hexdigest()
        match = _LEADING_ID.match(line)
        if match:
            raw_id = match.group(1)
            try:
                # Most ids are already canonical ("2503.11731"); only the rest need the full parser. An
                # invalid canonical-looking id is caught by the full parse, which a stored hash never skips.
                key = (
                    raw_id.decode() if _CANONICAL_NEW_ID.match(raw_id) else parse_arxiv_id(raw_id.decode())[0]
                )
            except (InvalidArxivId, UnicodeDecodeError):
                pass  # the full parse below reports the bad id with its line number
            else:
                # A partial of a module-level function pickles, so a worker process can parse it.
                return Pending(key, raw_hash, partial(_parse_full, line, lineno, raw_hash, self._ctx))
        return _parse_full(line, lineno, raw_hash, self._ctx)


def _bounded_lines(fh: io.BufferedIOBase, limit: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, complete) for every line; a line over `limit` bytes comes as its first bytes
    and complete=False, and its rest is read past in pieces of at most limit + 1 bytes, never joined."""
    lineno = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        lineno += 1
        body = len(line) - 1 if line.endswith(b"\n") else len(line)
        if body <= limit:
            yield lineno, line, True
            continue
        head, tail = line, line
        while tail and not tail.endswith(b"\n"):
            tail = fh.readline(limit + 1)
        yield lineno, head, False


@dataclass(frozen=True, slots=True)
class _LineContext:
    """What parsing one line needs from its source (small and picklable)."""

    source: str
    file_name: str
    listing_date: date | None

    def label(self, lineno: int, obj: Any = None) -> str:
        """How a rejected line is named: file, line number and id when known."""
        raw_id = obj.get("id") if isinstance(obj, dict) else None
        where = f"{self.file_name} line {lineno}"
        return f"{where} ({raw_id})" if isinstance(raw_id, str) and raw_id else where


def _parse_full(line: bytes, lineno: int, raw_hash: str, ctx: _LineContext) -> PaperRecord | Rejected:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Rejected(ctx.source, ctx.label(lineno), f"invalid JSON: {exc}")
    try:
        record = parse_jsonl_object(obj, source=ctx.source, listing_date=ctx.listing_date)
    except ValueError as exc:
        return Rejected(ctx.source, ctx.label(lineno, obj), str(exc))
    record.raw_hash = raw_hash
    return record
