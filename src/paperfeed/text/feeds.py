"""RSS 2.0 and Atom 1.0 documents, built by hand with strict XML escaping (pure; every feed uses them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from markupsafe import escape

# XML 1.0 forbids most C0 controls even as character references, so escaping alone cannot save them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_ESC = re.compile("[&<>\"']")


def xml_text(value: object) -> str:
    """Text safe inside an XML element or attribute: controls dropped, markup characters escaped."""
    text = _INVALID_XML.sub("", str(value))
    return _ESC.sub(lambda m: _ESCAPES[m.group(0)], text)


@dataclass(frozen=True)
class FeedItem:
    """One paper in a feed; times are timezone-aware, the summary is plain text."""

    title: str
    link: str
    published: datetime
    updated: datetime
    summary: str
    authors: Sequence[str] = ()
    categories: Sequence[str] = ()


def rss_document(
    *, title: str, link: str, description: str, self_url: str, updated: datetime, items: Sequence[FeedItem]
) -> str:
    """An RSS 2.0 document (with Dublin Core creators and an atom:link to itself)."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{xml_text(title)}</title>",
        f"<link>{xml_text(link)}</link>",
        f"<description>{xml_text(description)}</description>",
        f'<atom:link href="{xml_text(self_url)}" rel="self" type="application/rss+xml"/>',
        f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>",
    ]
    for item in items:
        out += [
            "<item>",
            f"<title>{xml_text(item.title)}</title>",
            f"<link>{xml_text(item.link)}</link>",
            f'<guid isPermaLink="true">{xml_text(item.link)}</guid>',
            f"<pubDate>{format_datetime(item.published)}</pubDate>",
            # Readers treat an RSS description as HTML: escape for HTML first so hostile text stays text.
            f"<description>{xml_text(escape(item.summary))}</description>",
            *(f"<dc:creator>{xml_text(name)}</dc:creator>" for name in item.authors),
            *(f"<category>{xml_text(c)}</category>" for c in item.categories),
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom_document(
    *, title: str, link: str, self_url: str, updated: datetime, author: str, items: Sequence[FeedItem]
) -> str:
    """An Atom 1.0 document whose id is its own URL."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{xml_text(self_url)}</id>",
        f"<title>{xml_text(title)}</title>",
        f"<updated>{updated.isoformat()}</updated>",
        f'<link rel="self" type="application/atom+xml" href="{xml_text(self_url)}"/>',
        f'<link rel="alternate" type="text/html" href="{xml_text(link)}"/>',
        f"<author><name>{xml_text(author)}</name></author>",
    ]
    for item in items:
        out += [
            "<entry>",
            f"<id>{xml_text(item.link)}</id>",
            f'<title type="text">{xml_text(item.title)}</title>',
            f'<link rel="alternate" type="text/html" href="{xml_text(item.link)}"/>',
            f"<published>{item.published.isoformat()}</published>",
            f"<updated>{item.updated.isoformat()}</updated>",
            *(f"<author><name>{xml_text(n)}</name></author>" for n in item.authors),
            *(f'<category term="{xml_text(c)}"/>' for c in item.categories),
            f'<summary type="text">{xml_text(item.summary)}</summary>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)
