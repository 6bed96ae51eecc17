"""RSS 2.0 and Atom 1.0 feeds of the daily list, built by hand with strict XML escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from markupsafe import escape
from starlette.responses import Response

from paperfeed import feed
from paperfeed.api.deps import SessionDep, SettingsDep
from paperfeed.config import Settings
from paperfeed.db.models import Submission
from paperfeed.web.templating import paper_path

router = APIRouter(include_in_schema=False)

# XML 1.0 forbids most C0 controls even as character references, so escaping alone cannot save them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_ESC = re.compile("[&<>\"']")

FEED_SIZE = 50
DateQ = Annotated[str | None, Query()]


def xml_text(value: object) -> str:
    """Text safe inside an XML element or attribute: controls dropped, markup characters escaped."""
    text = _INVALID_XML.sub("", str(value))
    return _ESC.sub(lambda m: _ESCAPES[m.group(0)], text)


def _aware(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    # SQLite returns naive datetimes; paperfeed stores UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _when(entry: Submission) -> datetime:
    return _aware(entry.paper.published or entry.submitted_at)


def _listing(
    session: SessionDep, date: str | None, week: str | None, month: str | None, sort: str
) -> feed.DailyPage:
    return feed.daily(session, day=date, week=week, month=month, sort=sort, limit=FEED_SIZE)


def _self_url(settings: Settings, path: str, page: feed.DailyPage) -> str:
    base = settings.base_url.rstrip("/")
    query = {page.period.query_key: page.period.param} if page.period else {}
    return base + path + ("?" + urlencode(query) if query else "")


def _title(settings: Settings, page: feed.DailyPage) -> str:
    when = page.period.label if page.period else "no papers yet"
    return f"{settings.site_name}: papers of {when}"


def rss_document(settings: Settings, page: feed.DailyPage) -> str:
    """An RSS 2.0 document for one listing page."""
    base = settings.base_url.rstrip("/")
    updated = max((_aware(e.submitted_at) for e in page.entries), default=datetime.now(UTC))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{xml_text(_title(settings, page))}</title>",
        f"<link>{xml_text(base + '/papers')}</link>",
        f"<description>{xml_text('Daily papers on ' + settings.site_name)}</description>",
        f'<atom:link href="{xml_text(_self_url(settings, "/rss", page))}" rel="self" '
        'type="application/rss+xml"/>',
        f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>",
    ]
    for entry in page.entries:
        paper = entry.paper
        link = base + paper_path(paper.key)
        out.append("<item>")
        out.append(f"<title>{xml_text(paper.title)}</title>")
        out.append(f"<link>{xml_text(link)}</link>")
        out.append(f'<guid isPermaLink="true">{xml_text(link)}</guid>')
        out.append(f"<pubDate>{format_datetime(_when(entry))}</pubDate>")
        # Readers treat an RSS description as HTML: escape for HTML first so hostile text stays text.
        out.append(f"<description>{xml_text(escape(paper.abstract))}</description>")
        out.extend(f"<dc:creator>{xml_text(name)}</dc:creator>" for name in paper.author_names)
        out.extend(f"<category>{xml_text(c)}</category>" for c in paper.category_names)
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom_document(settings: Settings, page: feed.DailyPage) -> str:
    """An Atom 1.0 document for one listing page."""
    base = settings.base_url.rstrip("/")
    self_url = _self_url(settings, "/atom", page)
    updated = max((_aware(e.submitted_at) for e in page.entries), default=datetime.now(UTC))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{xml_text(self_url)}</id>",
        f"<title>{xml_text(_title(settings, page))}</title>",
        f"<updated>{updated.isoformat()}</updated>",
        f'<link rel="self" type="application/atom+xml" href="{xml_text(self_url)}"/>',
        f'<link rel="alternate" type="text/html" href="{xml_text(base + "/papers")}"/>',
        f"<author><name>{xml_text(settings.site_name)}</name></author>",
    ]
    for entry in page.entries:
        paper = entry.paper
        link = base + paper_path(paper.key)
        out.append("<entry>")
        out.append(f"<id>{xml_text(link)}</id>")
        out.append(f'<title type="text">{xml_text(paper.title)}</title>')
        out.append(f'<link rel="alternate" type="text/html" href="{xml_text(link)}"/>')
        out.append(f"<published>{_when(entry).isoformat()}</published>")
        out.append(f"<updated>{_aware(paper.updated or _when(entry)).isoformat()}</updated>")
        out.extend(f"<author><name>{xml_text(n)}</name></author>" for n in paper.author_names)
        out.extend(f'<category term="{xml_text(c)}"/>' for c in paper.category_names)
        out.append(f'<summary type="text">{xml_text(paper.abstract)}</summary>')
        out.append("</entry>")
    out += ["</feed>", ""]
    return "\n".join(out)


@router.get("/rss", name="rss")
def rss(
    session: SessionDep,
    settings: SettingsDep,
    date: DateQ = None,
    week: DateQ = None,
    month: DateQ = None,
    sort: Annotated[str, Query()] = "trending",
) -> Response:
    """RSS 2.0 of the daily list (same date/week/month parameters as /papers)."""
    page = _listing(session, date, week, month, sort)
    return Response(rss_document(settings, page), media_type="application/rss+xml; charset=utf-8")


@router.get("/atom", name="atom")
def atom(
    session: SessionDep,
    settings: SettingsDep,
    date: DateQ = None,
    week: DateQ = None,
    month: DateQ = None,
    sort: Annotated[str, Query()] = "trending",
) -> Response:
    """Atom 1.0 of the daily list (same date/week/month parameters as /papers)."""
    page = _listing(session, date, week, month, sort)
    return Response(atom_document(settings, page), media_type="application/atom+xml; charset=utf-8")
