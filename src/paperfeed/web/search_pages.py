"""Search page, saved-search feeds (RSS 2.0 / Atom) and the similar-papers block of paper pages (issue 3)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import escape
from starlette.responses import Response

from paperfeed.api.deps import SessionDep, SettingsDep
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.search.service import (
    MODES,
    WINDOWS,
    SearchRequest,
    SearchResult,
    SearchService,
    SimilarResult,
    request_from_params,
)
from paperfeed.web.feeds import xml_text
from paperfeed.web.templating import paper_path, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

FEED_SIZE = 50
Text = Annotated[str | None, Query()]


def get_search(request: Request) -> SearchService:
    """The app's search service."""
    service: SearchService = request.app.state.search
    return service


SearchDep = Annotated[SearchService, Depends(get_search)]


def search_params(
    q: Text = None,
    mode: Text = None,
    category: Text = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Text = None,
    code: Text = None,
    window: Text = None,
    page: Annotated[int, Query()] = 0,
) -> dict[str, object]:
    """The query-string values of a search (shared by the page and its feeds)."""
    return {
        "q": q,
        "mode": mode,
        "category": category,
        "date_from": from_,
        "date_to": to,
        "code": code,
        "window": window,
        "page": page,
    }


ParamsDep = Annotated[dict[str, object], Depends(search_params)]


def _query_string(req: SearchRequest, **changes: object) -> str:
    """The query string of this search (for pager links and feed links), with `changes` applied."""
    values: dict[str, object] = {
        "q": req.q,
        "mode": None if req.mode == "hybrid" else req.mode,
        "category": req.category,
        "from": req.date_from.isoformat() if req.date_from else None,
        "to": req.date_to.isoformat() if req.date_to else None,
        "code": None if req.has_code is None else int(req.has_code),
        "window": req.window,
        "page": req.page or None,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@router.get("/search", name="search")
def search_page(
    request: Request, params: ParamsDep, service: SearchDep, settings: SettingsDep, session: SessionDep
) -> Response:
    """Search results as cards, with filters, notices and pages; an empty query shows the form."""
    req = request_from_params(**params, limit=settings.search_page_size, count=True)  # type: ignore[arg-type]
    result = service.search(req, session=session) if req.q.strip() else None
    context = {
        "req": req,
        "result": result,
        "modes": MODES,
        "windows": tuple(WINDOWS),
        "qs": lambda **changes: _query_string(req, **changes),
    }
    return render(request, "search.html", context)


def _results(service: SearchService, params: dict[str, object], session: SessionDep) -> SearchResult | None:
    req = request_from_params(**{**params, "page": 0}, limit=FEED_SIZE)  # type: ignore[arg-type]
    req = replace(req, snippets=False, max_authors=None)  # feeds list every author and no snippets
    return service.search(req, session=session) if req.q.strip() else None


def _feed_papers(result: SearchResult | None) -> list[Paper]:
    # A feed reader shows the newest first: the best matches, newest listed first.
    papers = list(result.papers) if result else []
    papers.sort(key=lambda p: (p.listing_date or datetime.min.date(), p.id), reverse=True)
    return papers


def _when(paper: Paper) -> datetime:
    value = paper.published or paper.created_at
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _feed_title(settings: Settings, q: str) -> str:
    return f"{settings.site_name}: search for {q}"


@router.get("/search/rss", name="search_rss")
def search_rss(params: ParamsDep, service: SearchDep, settings: SettingsDep, session: SessionDep) -> Response:
    """RSS 2.0 of a saved search (same parameters as /search)."""
    result = _results(service, params, session)
    base = settings.base_url.rstrip("/")
    q = str(params.get("q") or "")
    req = result.request if result else request_from_params(**params)  # type: ignore[arg-type]
    qs = _query_string(req, page=None)
    papers = _feed_papers(result)
    updated = max((_when(p) for p in papers), default=datetime.now(UTC))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{xml_text(_feed_title(settings, q))}</title>",
        f"<link>{xml_text(base + '/search?' + qs)}</link>",
        f"<description>{xml_text('Papers matching ' + q)}</description>",
        f'<atom:link href="{xml_text(base + "/search/rss?" + qs)}" rel="self" type="application/rss+xml"/>',
        f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>",
    ]
    for paper in papers:
        link = base + paper_path(paper.key)
        out += [
            "<item>",
            f"<title>{xml_text(paper.title)}</title>",
            f"<link>{xml_text(link)}</link>",
            f'<guid isPermaLink="true">{xml_text(link)}</guid>',
            f"<pubDate>{format_datetime(_when(paper))}</pubDate>",
            # Readers treat an RSS description as HTML: escape for HTML first so hostile text stays text.
            f"<description>{xml_text(escape(paper.abstract))}</description>",
            *(f"<dc:creator>{xml_text(n)}</dc:creator>" for n in paper.author_names),
            *(f"<category>{xml_text(c)}</category>" for c in paper.category_names),
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return Response("\n".join(out), media_type="application/rss+xml; charset=utf-8")


@router.get("/search/atom", name="search_atom")
def search_atom(
    params: ParamsDep, service: SearchDep, settings: SettingsDep, session: SessionDep
) -> Response:
    """Atom 1.0 of a saved search (same parameters as /search)."""
    result = _results(service, params, session)
    base = settings.base_url.rstrip("/")
    q = str(params.get("q") or "")
    req = result.request if result else request_from_params(**params)  # type: ignore[arg-type]
    qs = _query_string(req, page=None)
    self_url = base + "/search/atom?" + qs
    papers = _feed_papers(result)
    updated = max((_when(p) for p in papers), default=datetime.now(UTC))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{xml_text(self_url)}</id>",
        f"<title>{xml_text(_feed_title(settings, q))}</title>",
        f"<updated>{updated.isoformat()}</updated>",
        f'<link rel="self" type="application/atom+xml" href="{xml_text(self_url)}"/>',
        f'<link rel="alternate" type="text/html" href="{xml_text(base + "/search?" + qs)}"/>',
        f"<author><name>{xml_text(settings.site_name)}</name></author>",
    ]
    for paper in papers:
        link = base + paper_path(paper.key)
        when = _when(paper)
        changed = paper.updated or when
        out += [
            "<entry>",
            f"<id>{xml_text(link)}</id>",
            f'<title type="text">{xml_text(paper.title)}</title>',
            f'<link rel="alternate" type="text/html" href="{xml_text(link)}"/>',
            f"<published>{when.isoformat()}</published>",
            f"<updated>{(changed if changed.tzinfo else changed.replace(tzinfo=UTC)).isoformat()}</updated>",
            *(f"<author><name>{xml_text(n)}</name></author>" for n in paper.author_names),
            *(f'<category term="{xml_text(c)}"/>' for c in paper.category_names),
            f'<summary type="text">{xml_text(paper.abstract)}</summary>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return Response("\n".join(out), media_type="application/atom+xml; charset=utf-8")


def similar_for(request: Request, paper: Paper, *, limit: int = 5) -> SimilarResult | None:
    """Similar papers for a paper page; None (the block is hidden) if search is unavailable or fails."""
    service: SearchService | None = getattr(request.app.state, "search", None)
    if service is None:
        return None
    try:
        return service.similar(paper.id, limit=limit)
    except Exception:  # a paper page must render even when the search indexes are broken
        log.exception("similar papers failed for %s", paper.key)
        return None
