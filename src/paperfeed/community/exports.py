"""Exports of a collection, as pure functions: BibTeX, JSON and RSS 2.0.

BibTeX values come from arXiv and from users, so every LaTeX special character is escaped: an exported
title can never run a macro (\\input, \\write18) in somebody's document. Math in titles therefore shows as
its literal source, which is the safe trade. A double quote is braced ({"}): it can then neither end a
quote-delimited value nor act as babel's shorthand. Categories are arXiv-shaped since ingest
(is_arxiv_category), and escaped here all the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from markupsafe import escape

from paperfeed.community.collections import Entry, Summary
from paperfeed.db.models import Paper
from paperfeed.paths import paper_path
from paperfeed.text.feeds import FeedItem, rss_document
from paperfeed.text.render import strip_controls
from paperfeed.timeutil import as_utc, iso_utc

__all__ = [
    "bib_escape",
    "bibtex",
    "bibtex_key",
    "collection_json",
    "collection_rss",
    "collection_url",
    "paper_path",
]

_BIB = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "^": r"\^{}",
    "~": r"\~{}",
    '"': '{"}',
}
_BIB_RE = re.compile(r'[\\{}%&#_$^~"]')
_MATH = re.compile(r"\$[^$]*\$")
_SKIP_WORDS = frozenset({"a", "an", "the"})


def bib_escape(text: str) -> str:
    """Text safe inside a braced BibTeX value: one line, every LaTeX special escaped."""
    flat = " ".join(strip_controls(text).split())
    return _BIB_RE.sub(lambda m: _BIB[m.group(0)], flat)


def _ascii_word(text: str) -> str:
    return re.sub(
        r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    )


def _year(paper: Paper) -> str:
    when = paper.published or paper.listing_date
    return str(when.year) if when else "nd"


def bibtex_key(paper: Paper) -> str:
    """first author's last name + year + first word of the title: 'vaswani2017attention'."""
    names = paper.author_names
    last = _ascii_word(names[0].split()[-1]) if names and names[0].split() else ""
    words = (_ascii_word(w) for w in re.findall(r"[^\W_]+", _MATH.sub(" ", paper.title)))
    first = next((w for w in words if w and w not in _SKIP_WORDS), "")
    return f"{last or 'anon'}{_year(paper)}{first}"


def _author(name: str) -> str:
    escaped = bib_escape(name)
    # A name containing " and " would split into two authors; braces keep it whole.
    return "{" + escaped + "}" if re.search(r"\band\b", escaped, re.IGNORECASE) else escaped


def bibtex(items: Sequence[Entry]) -> str:
    """A .bib file: one @misc entry per paper (arXiv eprint fields when it has an id); keys made unique."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for entry in items:
        paper = entry.paper
        key = bibtex_key(paper)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n:
            key += chr(ord("a") + n - 1) if n <= 26 else str(n)
        fields: list[tuple[str, str]] = [("title", bib_escape(paper.title))]
        if paper.author_names:
            fields.append(("author", " and ".join(_author(a) for a in paper.author_names)))
        fields.append(("year", _year(paper)))
        if paper.arxiv_id:
            fields += [
                ("eprint", bib_escape(paper.arxiv_id)),
                ("archivePrefix", "arXiv"),
            ]
            if paper.primary_category:
                fields.append(("primaryClass", bib_escape(paper.primary_category)))
            fields.append(("url", bib_escape(f"https://arxiv.org/abs/{paper.arxiv_id}")))
        if paper.doi:
            fields.append(("doi", bib_escape(paper.doi)))
        if paper.journal_ref:
            fields.append(("note", bib_escape(paper.journal_ref)))
        if entry.note:
            fields.append(("annote", bib_escape(entry.note)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(out)


def collection_url(base_url: str, summary: Summary) -> str:
    """The public page of a collection."""
    return f"{base_url.rstrip('/')}/u/{summary.owner}/c/{summary.collection.slug}"


def collection_json(summary: Summary, items: Sequence[Entry], base_url: str) -> dict[str, Any]:
    """The collection and its papers as a JSON-ready dict (field names follow the HF-style API)."""
    c = summary.collection
    base = base_url.rstrip("/")
    return {
        "name": c.name,
        "slug": c.slug,
        "owner": summary.owner,
        "description": c.description,
        "public": c.public,
        "url": collection_url(base, summary),
        "createdAt": iso_utc(c.created_at),
        "papers": [
            {
                "id": e.paper.arxiv_id or e.paper.key,
                "title": e.paper.title,
                "authors": [{"name": n} for n in e.paper.author_names],
                "summary": e.paper.abstract,
                "publishedAt": iso_utc(e.paper.published),
                "url": base + paper_path(e.paper.key),
                "arxivUrl": e.paper.abs_url,
                "note": e.note,
                "addedAt": iso_utc(e.added_at),
            }
            for e in items
        ],
    }


def collection_rss(summary: Summary, items: Sequence[Entry], *, base_url: str, site_name: str) -> str:
    """An RSS 2.0 document of a public collection, newest additions first."""
    c = summary.collection
    base = base_url.rstrip("/")
    page = collection_url(base, summary)
    return rss_document(
        title=f"{c.name} · {summary.owner} · {site_name}",
        link=page,
        # Channel descriptions are read as HTML too.
        description=str(escape(c.description or f"A collection by {summary.owner}")),
        self_url=page + "/rss",
        updated=max((as_utc(e.added_at) for e in items), default=as_utc(c.created_at)),
        items=[
            FeedItem(
                title=e.paper.title,
                link=base + paper_path(e.paper.key),
                published=as_utc(e.added_at),
                updated=as_utc(e.added_at),
                summary=e.paper.abstract if not e.note else f"{e.note}\n\n{e.paper.abstract}",
                authors=e.paper.author_names,
            )
            for e in items
        ],
    )
