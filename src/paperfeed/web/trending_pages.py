"""The trending page with day/week/month tabs; it is also the landing page `/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from paperfeed import feed
from paperfeed.community.votes import voted_ids
from paperfeed.config import Settings
from paperfeed.errors import UserError
from paperfeed.http.deps import SessionDep, SettingsDep
from paperfeed.periods import TABS, check_window
from paperfeed.ranking import service
from paperfeed.ranking.trending import TrendingParams
from paperfeed.recommend.profiles import has_profile
from paperfeed.recommend.signals import signal_kinds
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
@router.get("/trending", name="trending")
def trending_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    window: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    p: Annotated[int, Query()] = 0,
) -> Response:
    """The papers of the last day, week or month, ranked by their trending score (computed live)."""
    user = getattr(request.state, "user", None)
    if request.url.path == "/" and user is not None and has_profile(session, user.id):
        # A signed-in reader with something to learn from lands on their own list; /trending stays.
        return RedirectResponse("/for-you", status_code=303)
    win = check_window(window or settings.trending_default_window)  # PeriodError: 400 with the reason
    period = feed.parse_period(day=until)
    limit = min(settings.page_size, feed.MAX_LIMIT)
    if p < 0 or p * limit > 1_000_000:
        raise UserError(f"invalid page {p}")
    ranked = service.ranked_page(
        session,
        settings=settings,
        window=win,
        until=period.start if period else None,
        now=datetime.now(UTC),
        offset=p * limit,
        limit=limit,
    )
    start = ranked.start
    # Only users' submissions since the last day a source listed: the window reached back (window_span).
    plain = service.window_days(ranked.window, ranked.until)[0] if ranked.until else None
    reached_back = bool(start and plain and start < plain)
    ids = [i.submission.paper.id for i in ranked.items]
    my_votes = voted_ids(session, user.id if user else None, ids)  # which cards show as upvoted
    return render(
        request,
        "trending.html",
        {
            "ranked": ranked,
            "start": start,
            "reached_back": reached_back,
            "tabs": TABS,
            "until_param": until if period else None,
            "page": p,
            "limit": limit,
            "params": TrendingParams.from_settings(settings),
            "my_votes": my_votes,
            "my_signals": signal_kinds(session, user.id, ids) if user is not None else {},
        },
    )


def paper_trending(session: Session, settings: Settings, paper_id: int) -> service.Explanation | None:
    """The paper page's "why is this trending" for the default window (no rank: that scores the window)."""
    return service.explain(
        session,
        paper_id,
        settings=settings,
        window=settings.trending_default_window,
        now=datetime.now(UTC),
        with_rank=False,
    )
