"""arXiv OAI-PMH (ListRecords, metadataPrefix=arXiv): a pure page parser and a resumable Source."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial

from lxml import etree

from paperfeed.ingest.cursors import Cursors
from paperfeed.ingest.http import PoliteClient
from paperfeed.ingest.records import Checkpoint, Item, PaperRecord, Rejected
from paperfeed.ingest.xml import XmlError, parse_xml
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.text.clean import clean_block, clean_line
from paperfeed.text.code_links import paper_code_links

__all__ = ["OaiError", "OaiPage", "OaiPmhSource", "parse_list_records"]

log = logging.getLogger(__name__)

OAI = "http://www.openarchives.org/OAI/2.0/"
ARXIV_META = "http://arxiv.org/OAI/arXiv/"


class OaiError(XmlError):
    """An OAI-PMH error response (badArgument, badResumptionToken, ...) or an unreadable page."""

    def __init__(self, source: str, reason: str, code: str | None = None) -> None:
        super().__init__(source, reason)
        self.code = code


@dataclass(slots=True)
class OaiPage:
    """One ListRecords response: records, how many deleted ones were skipped, and where to go next."""

    items: list[Item] = field(default_factory=list)
    deleted: int = 0
    resumption_token: str | None = None
    cursor: int | None = None
    complete_list_size: int | None = None
    last_datestamp: date | None = None  # newest header datestamp seen: the next incremental `from`


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(str(t) for t in el.itertext())
    return text if text.strip() else None


def _date(text: str | None) -> date | None:
    """An OAI day ("2017-12-14") or second-granularity stamp ("2017-12-14T13:00:41Z") as a date."""
    if text is None:
        return None
    return date.fromisoformat(text.strip()[:10])


def _as_datetime(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _m(parent: etree._Element, name: str) -> str | None:
    return _text(parent.find(f"{{{ARXIV_META}}}{name}"))


def _authors(meta: etree._Element) -> list[str]:
    """'Forenames Keyname Suffix' per author, in byline order."""
    names: list[str] = []
    for author in meta.iterfind(f"{{{ARXIV_META}}}authors/{{{ARXIV_META}}}author"):
        parts = [_m(author, "forenames"), _m(author, "keyname"), _m(author, "suffix")]
        name = clean_line(" ".join(p for p in parts if p))
        if name:
            names.append(name)
    return names


def _record(identifier: str, meta: etree._Element, source: str) -> Item:
    """One <arXiv> metadata block as a PaperRecord, or Rejected naming the record."""
    raw_id = (_m(meta, "id") or identifier).strip()
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        return Rejected(source, identifier or raw_id, str(exc))
    title = clean_line(_m(meta, "title"))
    if not title:
        return Rejected(source, arxiv_id, "record has no title")
    try:
        created = _date(_m(meta, "created"))
        updated = _date(_m(meta, "updated"))
    except ValueError as exc:
        return Rejected(source, arxiv_id, f"bad date: {exc}")
    abstract = clean_block(_m(meta, "abstract"))
    comment = clean_line(_m(meta, "comments")) or None
    categories = (_m(meta, "categories") or "").split()  # space-separated, primary first
    code_links = paper_code_links(abstract, comment)
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=source,
        arxiv_id=arxiv_id,
        version=version,
        authors=_authors(meta),
        categories=list(dict.fromkeys(categories)),
        comment=comment,
        published=_as_datetime(created),
        updated=_as_datetime(updated),
        journal_ref=clean_line(_m(meta, "journal-ref")) or None,
        doi=clean_line(_m(meta, "doi")) or None,
        project_page=next((c.url for c in code_links if c.kind == "project"), None),
        code_links=code_links,
    )


def _int_attr(el: etree._Element, name: str) -> int | None:
    value = el.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header(header: etree._Element | None) -> tuple[str, date | None]:
    """The record's OAI identifier and datestamp (None when missing or unreadable)."""
    if header is None:
        return "", None
    identifier = (_text(header.find(f"{{{OAI}}}identifier")) or "").strip()
    try:
        stamp = _date(_text(header.find(f"{{{OAI}}}datestamp")))
    except ValueError:
        stamp = None
    return identifier, stamp


def parse_list_records(payload: bytes, *, source: str = "oai") -> OaiPage:
    """Parse a ListRecords response; noRecordsMatch is an empty page, other OAI errors raise OaiError."""
    try:
        root = parse_xml(payload, source=source)
    except XmlError as exc:
        raise OaiError(source, exc.reason) from exc
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise OaiError(source, f"expected an <OAI-PMH> response, got <{etree.QName(root).localname}>")
    page = OaiPage()
    errors = root.findall(f"{{{OAI}}}error")
    if errors:
        codes = [e.get("code", "") for e in errors]
        if codes == ["noRecordsMatch"]:
            return page
        detail = "; ".join(f"{e.get('code')}: {clean_line(_text(e)) or 'no message'}" for e in errors)
        raise OaiError(source, f"OAI-PMH error {detail}", code=codes[0])
    # GetRecord wraps a single record the same way, so one parser serves both verbs.
    list_records = root.find(f"{{{OAI}}}ListRecords")
    if list_records is None:
        list_records = root.find(f"{{{OAI}}}GetRecord")
    if list_records is None:
        raise OaiError(source, "response has neither <ListRecords>/<GetRecord> nor <error>")
    for rec in list_records.iterfind(f"{{{OAI}}}record"):
        header = rec.find(f"{{{OAI}}}header")
        identifier = (
            (_text(header.find(f"{{{OAI}}}identifier")) if header is not None else None) or ""
        ).strip()
        try:
            stamp = _date(_text(header.find(f"{{{OAI}}}datestamp"))) if header is not None else None
        except ValueError:
            stamp = None
        if stamp and (page.last_datestamp is None or stamp > page.last_datestamp):
            page.last_datestamp = stamp
        if header is not None and header.get("status") == "deleted":
            page.deleted += 1
            continue
        meta = rec.find(f"{{{OAI}}}metadata/{{{ARXIV_META}}}arXiv")
        if meta is None:
            page.items.append(Rejected(source, identifier or "<record>", "no arXiv metadata block"))
            continue
        try:
            page.items.append(_record(identifier, meta, source))
        except Exception as exc:  # one odd record must not sink the page
            page.items.append(Rejected(source, identifier, f"unexpected {type(exc).__name__}: {exc}"))
    token_el = list_records.find(f"{{{OAI}}}resumptionToken")
    if token_el is not None:
        # An empty token element marks the last page of a list (OAI-PMH 2.0, section 3.5).
        page.resumption_token = (token_el.text or "").strip() or None
        page.cursor = _int_attr(token_el, "cursor")
        page.complete_list_size = _int_attr(token_el, "completeListSize")
    return page


class OaiPmhSource:
    """ListRecords over a date range and set, following resumption tokens; resumable via a cursor store."""

    def __init__(
        self,
        client: PoliteClient,
        *,
        base_url: str = "https://oaipmh.arxiv.org/oai",
        metadata_prefix: str = "arXiv",
        from_date: date | str | None = None,
        until: date | str | None = None,
        set_spec: str | None = None,
        cursors: Cursors | None = None,
        cursor_name: str | None = None,
        name: str = "oai",
    ) -> None:
        """Configure the harvest; dates are OAI days (YYYY-MM-DD)."""
        self.client = client
        self.base_url = base_url
        self.metadata_prefix = metadata_prefix
        self.from_date = str(from_date) if from_date is not None else None
        self.until = str(until) if until is not None else None
        self.set_spec = set_spec
        self.cursors = cursors
        self.name = name
        self.cursor_name = cursor_name or (
            f"{name}:{metadata_prefix}:set={set_spec or ''}"
            f":from={self.from_date or ''}:until={self.until or ''}"
        )
        self.pages_fetched = 0
        self.deleted = 0
        self.last_datestamp: date | None = None

    def _initial_params(self) -> dict[str, str | None]:
        return {
            "verb": "ListRecords",
            "metadataPrefix": self.metadata_prefix,
            "from": self.from_date,
            "until": self.until,
            "set": self.set_spec,
        }

    def _fetch(self, token: str | None) -> OaiPage:
        # The OAI spec forbids any argument but the verb beside a resumptionToken.
        params = {"verb": "ListRecords", "resumptionToken": token} if token else self._initial_params()
        response = self.client.get(self.base_url, params=params)
        self.pages_fetched += 1
        return parse_list_records(response.content, source=self.name)

    def records(self) -> Iterator[Item]:
        """Yield records page by page; the resumption token is saved after each page has been consumed."""
        token = self.cursors.get(self.cursor_name) if self.cursors is not None else None
        if token:
            log.info("%s: resuming with token %r", self.cursor_name, token)
            try:
                page = self._fetch(token)
            except OaiError as exc:
                if exc.code != "badResumptionToken":
                    raise
                # Tokens expire; records are upserted idempotently, so starting over is safe.
                log.warning("%s: saved token expired (%s); harvesting from the start", self.cursor_name, exc)
                page = self._fetch(None)
        else:
            page = self._fetch(None)
        while True:
            self.deleted += page.deleted
            if page.last_datestamp:
                self.last_datestamp = max(page.last_datestamp, self.last_datestamp or page.last_datestamp)
            yield from page.items
            token = page.resumption_token
            if not token:
                break
            if self.cursors is not None:
                yield Checkpoint(partial(self.cursors.set, self.cursor_name, token))
            page = self._fetch(token)
        if self.cursors is not None:
            yield Checkpoint(partial(self.cursors.clear, self.cursor_name))
