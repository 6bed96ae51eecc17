"""Search page, saved-search feeds (RSS 2.0 / Atom) and the similar-papers block of paper pages."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.http.deps import SearchDep, SessionDep, SettingsDep
from paperfeed.paths import paper_path
from paperfeed.recommend.signals import signal_kinds
from paperfeed.search.service import (
    MODES,
    WINDOWS,
    SearchRequest,
    SearchResult,
    SearchService,
    SimilarResult,
    request_from_params,
)
from paperfeed.text.feeds import FeedItem, atom_document, rss_document
from paperfeed.timeutil import as_utc
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

FEED_SIZE = 50
Text = Annotated[str | None, Query()]


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
    context: dict[str, object] = {
        "req": req,
        "result": result,
        "modes": MODES,
        "windows": tuple(WINDOWS),
        "qs": lambda **changes: _query_string(req, **changes),
    }
    user = getattr(request.state, "user", None)  # the reader's private signal buttons' state
    if user is not None and result is not None:
        context["my_signals"] = signal_kinds(session, user.id, [e.paper.id for e in result.entries])
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
    return as_utc(paper.published or paper.created_at)


def _feed_title(settings: Settings, q: str) -> str:
    return f"{settings.site_name}: search for {q}"


def _feed(
    params: dict[str, object], service: SearchService, settings: Settings, session: Session
) -> tuple[str, str, datetime, list[FeedItem]]:
    """A saved search's query, query string, newest time and items, for both feed formats."""
    result = _results(service, params, session)
    base = settings.base_url.rstrip("/")
    req = result.request if result else request_from_params(**params)  # type: ignore[arg-type]
    papers = _feed_papers(result)
    items = [
        FeedItem(
            title=p.title,
            link=base + paper_path(p.key),
            published=_when(p),
            updated=as_utc(p.updated or _when(p)),
            summary=p.abstract,
            authors=p.author_names,
            categories=p.category_names,
        )
        for p in papers
    ]
    updated = max((_when(p) for p in papers), default=datetime.now(UTC))
    return str(params.get("q") or ""), _query_string(req, page=None), updated, items


@router.get("/search/rss", name="search_rss")
def search_rss(params: ParamsDep, service: SearchDep, settings: SettingsDep, session: SessionDep) -> Response:
    """RSS 2.0 of a saved search (same parameters as /search)."""
    q, qs, updated, items = _feed(params, service, settings, session)
    base = settings.base_url.rstrip("/")
    document = rss_document(
        title=_feed_title(settings, q),
        link=base + "/search?" + qs,
        description="Papers matching " + q,
        self_url=base + "/search/rss?" + qs,
        updated=updated,
        items=items,
    )
    return Response(document, media_type="application/rss+xml; charset=utf-8")


@router.get("/search/atom", name="search_atom")
def search_atom(
    params: ParamsDep, service: SearchDep, settings: SettingsDep, session: SessionDep
) -> Response:
    """Atom 1.0 of a saved search (same parameters as /search)."""
    q, qs, updated, items = _feed(params, service, settings, session)
    base = settings.base_url.rstrip("/")
    document = atom_document(
        title=_feed_title(settings, q),
        link=base + "/search?" + qs,
        self_url=base + "/search/atom?" + qs,
        updated=updated,
        author=settings.site_name,
        items=items,
    )
    return Response(document, media_type="application/atom+xml; charset=utf-8")


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
