"""Parse Hugging Face's `GET /api/daily_papers` JSON into PaperRecords (pure: fetching is ingest/http.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from paperfeed.ingest.records import CodeLink, Item, PaperRecord, Rejected, SourceError
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.text.clean import clean_block, clean_line
from paperfeed.text.code_links import extract_code_links, link_kind, normalise_url
from paperfeed.text.urls import http_url

__all__ = ["HfDailySource", "HfPayloadError", "hf_daily_url", "parse_daily_papers", "parse_hf_datetime"]


class HfPayloadError(SourceError):
    """The whole response is unusable (not JSON, not a list of papers); names the source."""

    summary = "bad Hugging Face daily_papers payload"


def hf_daily_url(base_url: str, day: date | None) -> str:
    """The daily_papers URL for one day (`?date=YYYY-MM-DD`), or the latest day when `day` is None."""
    if day is None:
        return base_url
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}{urlencode({'date': day.isoformat()})}"


def parse_hf_datetime(value: object) -> datetime | None:
    """An aware UTC datetime from HF's ISO-8601 strings ('2026-05-30T00:00:00.000Z'); None if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"date {value!r} is not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _int(value: object) -> int | None:
    # bool is an int subclass; a stray true/false is not a count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _submitter(item: Mapping[str, Any], paper: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The submitter's username and display name (`fullname`), each as Hugging Face sends it."""
    for who in (item.get("submittedBy"), paper.get("submittedOnDailyBy")):
        if isinstance(who, Mapping):
            name = _str(who.get("name")) or _str(who.get("user")) or _str(who.get("fullname"))
            if name:
                fullname = _str(who.get("fullname"))
                return clean_line(name), clean_line(fullname) if fullname else None
    return None, None


def _links(paper: Mapping[str, Any], abstract: str, project_page: str | None) -> list[CodeLink]:
    """The HF-declared repo (with its star count) first, then the project page, then abstract links."""
    links: list[CodeLink] = []
    repo = http_url(_str(paper.get("githubRepo")))
    if repo:
        url = normalise_url(repo)
        kind = link_kind(url)
        if kind:
            links.append(CodeLink(url=url, kind=kind, origin="hf", stars=_int(paper.get("githubStars"))))
    if project_page:
        url = normalise_url(project_page)
        kind = link_kind(url) or "project"
        links.append(CodeLink(url=url, kind=kind, origin="hf"))
    links.extend(extract_code_links(abstract, "abstract"))
    seen: set[str] = set()
    unique = []
    for link in links:
        if link.url.lower() not in seen:
            seen.add(link.url.lower())
            unique.append(link)
    return unique


def _record(item: object, source: str) -> PaperRecord:
    """One daily_papers entry as a PaperRecord; raises ValueError/KeyError/TypeError on bad data."""
    if not isinstance(item, Mapping):
        raise TypeError("entry is not an object")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        raise ValueError("no 'paper' object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise ValueError("no paper.id")
    arxiv_id, version = parse_arxiv_id(raw_id)
    title = clean_line(_str(paper.get("title")) or _str(item.get("title")))
    if not title:
        raise ValueError("no title")
    abstract = clean_block(_str(paper.get("summary")) or _str(item.get("summary")))
    authors = []
    for author in paper.get("authors") or []:
        name = clean_line(author.get("name")) if isinstance(author, Mapping) else ""
        if name:
            authors.append(name)
    daily = parse_hf_datetime(paper.get("submittedOnDailyAt")) or parse_hf_datetime(item.get("publishedAt"))
    # The item's top-level publishedAt carries arXiv's real time (2026-05-29T20:00:00Z); paper.publishedAt
    # is the same moment rounded to a midnight, so the top-level one is kept when both are there.
    published = parse_hf_datetime(item.get("publishedAt")) or parse_hf_datetime(paper.get("publishedAt"))
    submitted_by, fullname = _submitter(item, paper)
    # Only http(s) links are kept: a `javascript:` or `data:` "project page" is dropped, not stored.
    project_page = http_url(_str(paper.get("projectPage")))
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        version=version,
        authors=authors,
        published=published,
        listing_date=daily.date() if daily else None,
        project_page=project_page,
        code_links=_links(paper, abstract, project_page),
        submitted_by=submitted_by,
        submitter_fullname=fullname,
        upvotes=_int(paper.get("upvotes")),
        source_comments=_int(item.get("numComments")),
    )


def _label(item: object, index: int) -> str:
    paper = item.get("paper") if isinstance(item, Mapping) else None
    raw_id = paper.get("id") if isinstance(paper, Mapping) else None
    return f"item {index} ({raw_id})" if isinstance(raw_id, str) else f"item {index}"


def parse_daily_papers(payload: bytes | str, *, source: str = "hf") -> Iterator[Item]:
    """Yield a PaperRecord per entry of a daily_papers response, or Rejected for an unusable entry.

    Raises HfPayloadError up front when the payload as a whole is not a JSON list.
    """
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HfPayloadError(source, f"invalid JSON: {exc}") from exc
    if isinstance(data, Mapping) and "error" in data:
        raise HfPayloadError(source, f"API error: {data['error']!r}")
    if not isinstance(data, list):
        raise HfPayloadError(source, f"expected a JSON list, got {type(data).__name__}")
    return _iter_items(data, source)


def _iter_items(data: list[object], source: str) -> Iterator[Item]:
    for index, item in enumerate(data):
        try:
            yield _record(item, source)
        except InvalidArxivId as exc:
            yield Rejected(source, _label(item, index), str(exc))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            yield Rejected(source, _label(item, index), f"{type(exc).__name__}: {exc}")


class HfDailySource:
    """A Source over one daily_papers response already in memory (or read from a file)."""

    def __init__(self, payload: bytes | str, *, name: str = "hf") -> None:
        self.name = name
        self._payload = payload

    @classmethod
    def from_path(cls, path: str | Path, *, name: str = "hf") -> HfDailySource:
        """Read a saved response from disk."""
        return cls(Path(path).read_bytes(), name=name)

    def records(self) -> Iterator[Item]:
        """Yield the papers of the response; raises HfPayloadError if it is not a daily_papers list."""
        return parse_daily_papers(self._payload, source=self.name)
