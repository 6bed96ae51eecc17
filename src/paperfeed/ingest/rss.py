"""Parse arXiv's daily listing feeds (rss.arxiv.org, RSS 2.0 or Atom) into PaperRecords.

Announce types: "new" (first announcement), "cross" (cross-list from another category), "replace" and
"replace-cross" (a new version). All are kept: a replacement carries the new version number, and the
store upserts by arXiv id + version, so it updates the existing row instead of adding a paper. `published`
is set only for "new" entries (the announcement of v1); `updated` is the announcement time of every entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from lxml import etree

from paperfeed.ingest.records import Item, PaperRecord, Rejected, SourceError
from paperfeed.ingest.xml import XmlError, parse_xml
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.text.clean import clean_block, clean_line, detex_accents
from paperfeed.text.code_links import extract_code_links

__all__ = ["RssFeedError", "RssSource", "parse_arxiv_rss"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
# "arXiv:2508.13426v1 Announce Type: cross \nAbstract: As large language models ..."
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
_KEPT_TYPES = frozenset({"new", "cross", "replace", "replace-cross"})


class RssFeedError(SourceError):
    """The feed as a whole cannot be read (malformed or hostile XML, not a feed); names the source."""

    summary = "unreadable arXiv feed"


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return "".join(t if isinstance(t, str) else t.decode() for t in element.itertext())


def _when(value: str) -> datetime | None:
    """Parse RFC 822 (RSS) or ISO 8601 (Atom) timestamps; None when empty or unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        if value[:1].isdigit():
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _authors(entry: etree._Element, atom: bool) -> list[str]:
    names: list[str] = []
    for creator in entry.iter(f"{_DC}creator"):
        # arXiv puts the whole author list in one dc:creator, comma-separated.
        names.extend(detex_accents(clean_line(part)) for part in _text(creator).split(","))
    if not names and atom:
        names = [clean_line(_text(a.find(f"{_ATOM}name"))) for a in entry.iter(f"{_ATOM}author")]
    return [name for name in names if name]


def _entry(entry: etree._Element, *, atom: bool, source: str, day: date | None) -> PaperRecord | None:
    """One feed entry as a PaperRecord, None for announce types we skip; raises ValueError if bad."""
    ns = _ATOM if atom else ""
    description = _text(entry.find(f"{ns}summary" if atom else "description"))
    head = _DESCRIPTION.match(description)
    announce = _text(entry.find(f"{_ARXIV}announce_type")).strip().lower()
    if not announce and head:
        announce = head.group("type").lower()
    if announce and announce not in _KEPT_TYPES:
        return None
    raw_id = _text(entry.find(f"{ns}id" if atom else "guid")).strip()
    if not raw_id and head:
        raw_id = head.group("id")
    if not raw_id:
        link = entry.find(f"{ns}link")
        raw_id = (link.get("href") or "") if atom and link is not None else _text(link)
    arxiv_id, version = parse_arxiv_id(raw_id)
    if version is None and head:
        # The guid may lack the version the description states ("arXiv:2508.13426v2").
        version = parse_arxiv_id(head.group("id"))[1]
    title = clean_line(_text(entry.find(f"{ns}title")))
    if not title:
        raise ValueError("no title")
    abstract = clean_block(description[head.end() :] if head else description)
    if atom:
        categories = [c.get("term") or "" for c in entry.iter(f"{_ATOM}category")]
    else:
        categories = [_text(c) for c in entry.iter("category")]
    announced = _when(_text(entry.find(f"{ns}published" if atom else "pubDate")))
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        version=version,
        authors=_authors(entry, atom),
        categories=[c.strip() for c in categories if c.strip()],
        published=announced if announce == "new" else None,
        updated=announced,
        # The announcement day in arXiv's own time zone (the timestamp's offset), not in UTC.
        listing_date=announced.date() if announced else day,
        code_links=extract_code_links(abstract, "abstract"),
    )


def _listing_day(root: etree._Element, atom: bool) -> date | None:
    if atom:
        when = _when(_text(root.find(f"{_ATOM}updated")))
    else:
        channel = root.find("channel")
        when = None
        for tag in ("pubDate", "lastBuildDate"):
            when = when or _when(_text(channel.find(tag) if channel is not None else None))
    return when.date() if when else None


def parse_arxiv_rss(payload: bytes, *, source: str = "rss") -> Iterator[Item]:
    """Yield PaperRecords (or Rejected) for an arXiv RSS 2.0 or Atom listing.

    Raises RssFeedError up front when the XML is malformed, declares entities, or is not a feed.
    """
    try:
        root = parse_xml(payload, source=source)
    except XmlError as exc:
        raise RssFeedError(source, exc.reason) from exc
    if root.tag == f"{_ATOM}feed":
        atom = True
        entries = root.findall(f"{_ATOM}entry")
    elif root.tag == "rss":
        atom = False
        entries = root.findall("channel/item")
    else:
        raise RssFeedError(source, f"root element {root.tag!r} is neither <rss> nor Atom <feed>")
    return _iter_entries(entries, atom=atom, source=source, day=_listing_day(root, atom))


def _iter_entries(
    entries: list[etree._Element], *, atom: bool, source: str, day: date | None
) -> Iterator[Item]:
    for index, entry in enumerate(entries):
        try:
            record = _entry(entry, atom=atom, source=source, day=day)
        except (InvalidArxivId, ValueError) as exc:
            label = _text(entry.find(f"{_ATOM}id" if atom else "guid")).strip() or "?"
            yield Rejected(source, f"entry {index} ({label})", str(exc))
            continue
        if record is not None:
            yield record


class RssSource:
    """A Source over one arXiv feed document already in memory."""

    def __init__(self, payload: bytes, *, name: str = "rss") -> None:
        self.name = name
        self._payload = payload

    def records(self) -> Iterator[Item]:
        """Yield the feed's papers; raises RssFeedError if the document is not a readable feed."""
        return parse_arxiv_rss(self._payload, source=self.name)
