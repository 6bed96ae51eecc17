"""Server-rendered pages: the daily list and the paper page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from paperfeed import feed
from paperfeed.community.votes import voted_ids
from paperfeed.http.deps import SessionDep, SettingsDep, paper_or_404
from paperfeed.periods import TABS
from paperfeed.recommend.signals import signal_kinds
from paperfeed.web.community_pages import paper_community
from paperfeed.web.search_pages import similar_for
from paperfeed.web.templating import render
from paperfeed.web.trending_pages import paper_trending

router = APIRouter(include_in_schema=False)

DateQ = Annotated[str | None, Query()]


@router.get("/papers", name="daily")
def daily_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date: DateQ = None,
    week: DateQ = None,
    month: DateQ = None,
    p: Annotated[int, Query()] = 0,
    sort: Annotated[str, Query()] = "trending",
) -> Response:
    """The list of papers for a day (default: the latest), an ISO week or a month."""
    limit = min(settings.page_size, feed.MAX_LIMIT)
    result = feed.daily(session, day=date, week=week, month=month, sort=sort, page=p, limit=limit)
    context: dict[str, object] = {"result": result, "prev": None, "next": None, "tabs": []}
    if result.period is not None:
        period = result.period
        context["prev"], context["next"] = feed.neighbours(session, period)
        anchor = feed.anchor_day(session, period)
        context["tabs"] = [
            (label, feed.Period.containing(kind, anchor), kind == period.kind) for label, kind in TABS
        ]
    user = getattr(request.state, "user", None)  # which cards show as upvoted
    context["my_votes"] = voted_ids(session, user.id if user else None, [e.paper.id for e in result.entries])
    if user is not None:  # the reader's private signal buttons' state
        context["my_signals"] = signal_kinds(session, user.id, [e.paper.id for e in result.entries])
    return render(request, "daily.html", context)


@router.get("/papers/{paper_id:path}", name="paper")
def paper_page(request: Request, paper_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """One paper: title, all authors, abstract with math, links, categories and listing."""
    paper = paper_or_404(session, paper_id)
    submission = feed.latest_submission(session, paper)
    trending = paper_trending(session, settings, paper.id)  # "why is this trending"
    community = paper_community(request, session, paper)  # votes, comments, collections
    context: dict[str, object] = {
        "paper": paper,
        "submission": submission,
        "trending": trending,
        "community": community,
    }
    user = getattr(request.state, "user", None)
    if user is not None:  # "more/less like this": the viewer's own, never anyone else's
        context["my_signal"] = signal_kinds(session, user.id, [paper.id]).get(paper.id)
    context["similar"] = similar_for(request, paper)  # similar papers; None hides the block
    return render(request, "paper.html", context)
