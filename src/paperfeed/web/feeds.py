"""RSS 2.0 and Atom 1.0 feeds of the daily list (documents built by paperfeed.text.feeds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.responses import Response

from paperfeed import feed
from paperfeed.categories import parse_category
from paperfeed.config import Settings
from paperfeed.db.models import Submission
from paperfeed.http.deps import SessionDep, SettingsDep
from paperfeed.paths import paper_path
from paperfeed.text import feeds
from paperfeed.text.feeds import FeedItem
from paperfeed.timeutil import as_utc

router = APIRouter(include_in_schema=False)

FEED_SIZE = 50
DateQ = Annotated[str | None, Query()]


def _when(entry: Submission) -> datetime:
    return as_utc(entry.paper.published or entry.submitted_at)


def _listing(
    session: SessionDep,
    date: str | None,
    week: str | None,
    month: str | None,
    sort: str,
    category: str | None,
) -> feed.DailyPage:
    scope = parse_category(session, category)  # CategoryError: 400 with the reason
    return feed.daily(session, day=date, week=week, month=month, sort=sort, limit=FEED_SIZE, category=scope)


def _self_url(settings: Settings, path: str, page: feed.DailyPage) -> str:
    base = settings.base_url.rstrip("/")
    query = {page.period.query_key: page.period.param} if page.period else {}
    if page.category is not None:
        query["category"] = page.category.code
    return base + path + ("?" + urlencode(query) if query else "")


def _title(settings: Settings, page: feed.DailyPage) -> str:
    when = page.period.label if page.period else "no papers yet"
    where = f" in {page.category.label}" if page.category is not None else ""
    return f"{settings.site_name}: papers of {when}{where}"


def _items(settings: Settings, page: feed.DailyPage) -> list[FeedItem]:
    base = settings.base_url.rstrip("/")
    return [
        FeedItem(
            title=entry.paper.title,
            link=base + paper_path(entry.paper.key),
            published=_when(entry),
            updated=as_utc(entry.paper.updated or _when(entry)),
            summary=entry.paper.abstract,
            authors=entry.paper.author_names,
            categories=entry.paper.category_names,
        )
        for entry in page.entries
    ]


def _updated(page: feed.DailyPage) -> datetime:
    return max((as_utc(e.submitted_at) for e in page.entries), default=datetime.now(UTC))


def rss_document(settings: Settings, page: feed.DailyPage) -> str:
    """An RSS 2.0 document for one listing page."""
    return feeds.rss_document(
        title=_title(settings, page),
        link=settings.base_url.rstrip("/") + "/papers",
        description="Daily papers on " + settings.site_name,
        self_url=_self_url(settings, "/rss", page),
        updated=_updated(page),
        items=_items(settings, page),
    )


def atom_document(settings: Settings, page: feed.DailyPage) -> str:
    """An Atom 1.0 document for one listing page."""
    return feeds.atom_document(
        title=_title(settings, page),
        link=settings.base_url.rstrip("/") + "/papers",
        self_url=_self_url(settings, "/atom", page),
        updated=_updated(page),
        author=settings.site_name,
        items=_items(settings, page),
    )


@router.get("/rss", name="rss")
def rss(
    session: SessionDep,
    settings: SettingsDep,
    date: DateQ = None,
    week: DateQ = None,
    month: DateQ = None,
    sort: Annotated[str, Query()] = "trending",
    category: Annotated[str | None, Query()] = None,
) -> Response:
    """RSS 2.0 of the daily list (same date/week/month parameters as /papers)."""
    page = _listing(session, date, week, month, sort, category)
    return Response(rss_document(settings, page), media_type="application/rss+xml; charset=utf-8")


@router.get("/atom", name="atom")
def atom(
    session: SessionDep,
    settings: SettingsDep,
    date: DateQ = None,
    week: DateQ = None,
    month: DateQ = None,
    sort: Annotated[str, Query()] = "trending",
    category: Annotated[str | None, Query()] = None,
) -> Response:
    """Atom 1.0 of the daily list (same date/week/month parameters as /papers)."""
    page = _listing(session, date, week, month, sort, category)
    return Response(atom_document(settings, page), media_type="application/atom+xml; charset=utf-8")
