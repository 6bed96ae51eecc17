"""The arXiv API (Atom): a pure parser for both feed layouts (2016, 2026) and a paging, resumable Source."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from lxml import etree

from paperfeed.ingest.cursors import Cursors
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ingest.records import Checkpoint, Item, PaperRecord, Rejected
from paperfeed.ingest.xml import XmlError, parse_xml
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.text.clean import clean_block, clean_line
from paperfeed.text.code_links import paper_code_links

__all__ = ["ArxivApiSource", "AtomError", "AtomPage", "parse_arxiv_atom"]

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
_ERROR_ID_MARK = "arxiv.org/api/errors"
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/")


class AtomError(XmlError):
    """A feed that cannot be read at all (not Atom, malformed, unsafe); no records come out of it."""


@dataclass(slots=True)
class AtomPage:
    """One parsed API response: items in feed order plus the opensearch paging numbers."""

    items: list[Item] = field(default_factory=list)
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None

    @property
    def entry_count(self) -> int:
        """Entries on this page, papers and rejects alike (what paging advances by)."""
        return len(self.items)


def _text(el: etree._Element | None) -> str | None:
    """Concatenated text of an element, or None when absent or blank."""
    if el is None:
        return None
    text = "".join(str(t) for t in el.itertext())
    return text if text.strip() else None


def _int(el: etree._Element | None) -> int | None:
    text = _text(el)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _datetime(text: str | None) -> datetime | None:
    """An Atom date (RFC 3339) as an aware datetime; naive values are taken as UTC."""
    if text is None:
        return None
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _doi(entry: etree._Element) -> str | None:
    doi = _text(entry.find(f"{{{ARXIV}}}doi"))
    if doi:
        return clean_line(doi)
    # Some entries only carry the DOI as a related link.
    for link in entry.iterfind(f"{{{ATOM}}}link"):
        href = link.get("href", "")
        if link.get("title") == "doi" and href.startswith(_DOI_PREFIXES):
            return href.split("/", 3)[3]
    return None


def _categories(entry: etree._Element) -> list[str]:
    """Categories with the primary first: 2016 feeds list it first, 2026 feeds may not."""
    primary_el = entry.find(f"{{{ARXIV}}}primary_category")
    primary = primary_el.get("term") if primary_el is not None else None
    terms = [c.get("term") or "" for c in entry.iterfind(f"{{{ATOM}}}category")]
    ordered = [primary] if primary else []
    ordered += [t for t in terms if t]
    return list(dict.fromkeys(t.strip() for t in ordered if t.strip()))


def _entry(entry: etree._Element, source: str) -> Item:
    """One <entry> as a PaperRecord, or Rejected naming the entry and the reason."""
    raw_id = (_text(entry.find(f"{{{ATOM}}}id")) or "").strip()
    title_raw = _text(entry.find(f"{{{ATOM}}}title"))
    summary_raw = _text(entry.find(f"{{{ATOM}}}summary"))
    if _ERROR_ID_MARK in raw_id:
        # The API reports bad queries as an entry titled "Error" whose summary is the message.
        message = clean_line(summary_raw) or "unspecified error"
        return Rejected(source, raw_id, f"arXiv API error: {message}")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        return Rejected(source, raw_id or "<entry without id>", str(exc))
    record = f"{arxiv_id}v{version}" if version else arxiv_id
    title = clean_line(title_raw)
    if not title:
        return Rejected(source, record, "entry has no title")
    try:
        published = _datetime(_text(entry.find(f"{{{ATOM}}}published")))
        updated = _datetime(_text(entry.find(f"{{{ATOM}}}updated")))
    except ValueError as exc:
        return Rejected(source, record, f"bad date: {exc}")
    abstract = clean_block(summary_raw)
    comment = clean_line(_text(entry.find(f"{{{ARXIV}}}comment"))) or None
    journal_ref = clean_line(_text(entry.find(f"{{{ARXIV}}}journal_ref"))) or None
    authors = [
        name
        for name in (
            clean_line(_text(a.find(f"{{{ATOM}}}name"))) for a in entry.iterfind(f"{{{ATOM}}}author")
        )
        if name
    ]
    code_links = paper_code_links(abstract, comment)
    project = next((c.url for c in code_links if c.kind == "project"), None)
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        version=version,
        authors=authors,
        categories=_categories(entry),
        comment=comment,
        published=published,
        updated=updated,
        journal_ref=journal_ref,
        doi=_doi(entry),
        project_page=project,
        code_links=code_links,
    )


def parse_arxiv_atom(payload: bytes, *, source: str = "arxiv_api") -> AtomPage:
    """Parse an arXiv API response; bad entries become Rejected, an unreadable feed raises AtomError."""
    try:
        root = parse_xml(payload, source=source)
    except XmlError as exc:
        raise AtomError(source, exc.reason) from exc
    if root.tag != f"{{{ATOM}}}feed":
        raise AtomError(source, f"expected an Atom <feed>, got <{etree.QName(root).localname}>")
    page = AtomPage(
        total_results=_int(root.find(f"{{{OPENSEARCH}}}totalResults")),
        start_index=_int(root.find(f"{{{OPENSEARCH}}}startIndex")),
        items_per_page=_int(root.find(f"{{{OPENSEARCH}}}itemsPerPage")),
    )
    for entry in root.iterfind(f"{{{ATOM}}}entry"):
        try:
            page.items.append(_entry(entry, source))
        except Exception as exc:  # one odd entry must not sink the page
            record = (_text(entry.find(f"{{{ATOM}}}id")) or "<entry>").strip()
            page.items.append(Rejected(source, record, f"unexpected {type(exc).__name__}: {exc}"))
    return page


class ArxivApiSource:
    """Pages through an arXiv API query (search_query and/or id_list), resumable through a cursor store."""

    def __init__(
        self,
        client: PoliteClient,
        *,
        base_url: str = "https://export.arxiv.org/api/query",
        search_query: str | None = None,
        id_list: Sequence[str] | None = None,
        page_size: int = 100,
        max_results: int | None = None,
        sort_by: str = "relevance",
        sort_order: str = "descending",
        cursors: Cursors | None = None,
        cursor_name: str | None = None,
        name: str = "arxiv_api",
    ) -> None:
        """Configure the query; max_results caps how many entries are fetched in total."""
        if not search_query and not id_list:
            raise ValueError("ArxivApiSource needs a search_query or an id_list")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.client = client
        self.base_url = base_url
        self.search_query = search_query or ""
        self.id_list = list(id_list or ())
        self.page_size = page_size
        self.max_results = max_results
        self.sort_by = sort_by
        self.sort_order = sort_order
        self.cursors = cursors
        self.name = name
        self.cursor_name = cursor_name or (
            f"{name}:q={self.search_query}:ids={','.join(self.id_list)}:sort={sort_by}.{sort_order}"
        )
        self.pages_fetched = 0

    def _params(self, start: int, size: int) -> dict[str, str | int]:
        return {
            "search_query": self.search_query,
            "id_list": ",".join(self.id_list),
            "sortBy": self.sort_by,
            "sortOrder": self.sort_order,
            "start": start,
            "max_results": size,
        }

    def _fetch(self, start: int, size: int) -> AtomPage:
        try:
            response = self.client.get(self.base_url, params=self._params(start, size))
        except HttpError as exc:
            # arXiv answers a malformed query with HTTP 400 and an Atom error entry that says why.
            if exc.status == 400 and exc.response is not None:
                try:
                    page = parse_arxiv_atom(exc.response.content, source=self.name)
                except AtomError:
                    raise exc from None
                if page.items and all(isinstance(i, Rejected) for i in page.items):
                    page.total_results = start  # nothing more to page through
                    return page
            raise
        self.pages_fetched += 1
        return parse_arxiv_atom(response.content, source=self.name)

    def _saved_start(self) -> int:
        """The start saved by an interrupted run, or 0."""
        saved = self.cursors.get(self.cursor_name) if self.cursors is not None else None
        if saved is None:
            return 0
        if not saved.isdigit():
            log.warning("%s: ignoring unreadable cursor %r, starting over", self.cursor_name, saved)
            return 0
        log.info("%s: resuming at start=%s", self.cursor_name, saved)
        return int(saved)

    def records(self) -> Iterator[Item]:
        """Yield every entry in order, and a Checkpoint after each page that saves the next start."""
        start = self._saved_start()
        while True:
            size = self.page_size
            if self.max_results is not None:
                size = min(size, self.max_results - start)
                if size <= 0:
                    break
            page = self._fetch(start, size)
            yield from page.items
            total = page.total_results
            if not page.items:
                if total is not None and start < total:
                    # The API sometimes answers a page with nothing; finishing here would skip the rest,
                    # so fail and keep the cursor: the next run retries this very page.
                    raise AtomError(
                        self.name, f"empty page at start={start} although totalResults={total}; retry later"
                    )
                break
            start += len(page.items)
            if total is not None and start >= total:
                break
            if self.cursors is not None:
                yield Checkpoint(partial(self.cursors.set, self.cursor_name, str(start)))
        if self.cursors is not None:
            yield Checkpoint(partial(self.cursors.clear, self.cursor_name))
