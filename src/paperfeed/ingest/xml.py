"""The one hardened XML parser every XML source (arXiv API, OAI-PMH, RSS) reads its payloads with."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from paperfeed.ingest.records import SourceError

__all__ = ["UnsafeXml", "XmlError", "parse_xml"]

# Entities can only be declared in a DTD's internal subset, so refusing every ENTITY declaration and
# every internal subset stops "billion laughs" and external-entity (XXE) payloads before libxml2 spends
# any work on them. A DOCTYPE that only names an external DTD declares nothing here, and the parser
# never loads it (load_dtd=False, no_network=True), so it is tolerated (some feeds carry one).
_DECLARATION = re.compile(rb"<!\s*ENTITY|<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
_REFUSED = "DOCTYPE/ENTITY declarations are refused: entity declarations allow entity-expansion attacks"


class XmlError(SourceError):
    """A payload that is not well-formed XML; names the source."""

    summary = "cannot parse XML"


class UnsafeXml(XmlError):
    """A payload with a DOCTYPE internal subset or ENTITY declaration, refused without expanding anything."""


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers keep state and are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _declares_anything(root: etree._Element) -> bool:
    """True when the document's internal DTD subset declares an entity or element."""
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs type DocInfo loosely
    dtd = docinfo.internalDTD
    if dtd is None:
        return False
    if next(iter(dtd.iterentities()), None) is not None or next(iter(dtd.iterelements()), None) is not None:
        return True
    # lxml does not expose ATTLIST/NOTATION declarations, so a DOCTYPE is only let through when it names
    # an external DTD (which is never loaded); one without can only carry its own declarations.
    return not (docinfo.system_url or docinfo.public_id)


def parse_xml(payload: bytes, *, source: str) -> etree._Element:
    """Parse payload with the hardened parser; raise XmlError/UnsafeXml with a message naming source."""
    if not payload or not payload.strip():
        raise XmlError(source, "malformed XML: empty document")
    if _DECLARATION.search(payload):
        raise UnsafeXml(source, _REFUSED)
    try:
        root = etree.fromstring(payload, _parser())
    except etree.XMLSyntaxError as exc:
        raise XmlError(source, f"malformed XML: {exc}") from exc
    # Belt and braces: an encoding the byte scan cannot read (UTF-16, say) could still hide a DTD.
    if _declares_anything(root):
        raise UnsafeXml(source, _REFUSED)
    return root
