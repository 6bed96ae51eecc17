"""Trending scores and their explanation over the JSON API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from paperfeed import feed
from paperfeed.api.schemas import ErrorOut
from paperfeed.errors import NotFound
from paperfeed.http.deps import SessionDep, SettingsDep, paper_or_404
from paperfeed.periods import Window, check_window
from paperfeed.ranking import service
from paperfeed.ranking.trending import TrendingParams

router = APIRouter(prefix="/api", tags=["trending"])

WindowQ = Annotated[str, Query(description="day, week or month.")]
UntilQ = Annotated[
    str | None, Query(description="Last listing day of the window, YYYY-MM-DD (default: the latest).")
]


class TermOut(BaseModel):
    """One term: the signal, its weight, its value before the age decay and its share of the score."""

    model_config = ConfigDict(frozen=True)
    name: str
    signal: int
    weight: float
    damped: float
    contribution: float


class TrendingOut(BaseModel):
    """A paper's trending score in a window, with the terms that sum to it."""

    model_config = ConfigDict(frozen=True)
    id: str
    window: str
    until: str
    asOf: str
    eligible: bool
    rank: int | None
    score: float
    ageHours: float
    decay: float
    terms: list[TermOut]
    params: dict[str, float]


class TrendingItemOut(BaseModel):
    """One entry of the trending list."""

    model_config = ConfigDict(frozen=True)
    rank: int
    id: str
    title: str
    score: float
    terms: dict[str, float]
    starsGained: int


def _window(value: str) -> Window:
    return check_window(value)  # PeriodError: 400 with the reason


def _until(value: str | None) -> date | None:
    period = feed.parse_period(day=value)  # PeriodError: 400 with the reason
    return period.start if period else None


def _params(params: TrendingParams) -> dict[str, float]:
    return {
        "w_votes": params.w_votes,
        "w_comments": params.w_comments,
        "w_stars": params.w_stars,
        "gravity": params.gravity,
        "age_scale_hours": params.age_scale_hours,
    }


@router.get(
    "/papers/{paper_id:path}/trending",
    response_model=TrendingOut,
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
    summary="Why a paper is trending: its score in a window and each term's contribution",
)
def paper_trending(
    paper_id: str,
    session: SessionDep,
    settings: SettingsDep,
    window: WindowQ = "week",
    until: UntilQ = None,
) -> TrendingOut:
    """Score, rank (among the window's papers) and terms; computed from the live counts."""
    win = _window(window)
    day = _until(until)
    paper = paper_or_404(session, paper_id)
    why = service.explain(session, paper.id, settings=settings, window=win, now=datetime.now(UTC), until=day)
    if why is None:  # deleted between the two reads
        raise NotFound(f"paper {paper_id!r} not found")
    return TrendingOut(
        id=paper.key,
        window=why.window,
        until=why.until.isoformat(),
        asOf=why.as_of.isoformat(),
        eligible=why.eligible,
        rank=why.rank,
        score=why.result.score,
        ageHours=why.result.age_hours,
        decay=why.result.decay,
        terms=[
            TermOut(
                name=t.name, signal=t.signal, weight=t.weight, damped=t.damped, contribution=t.contribution
            )
            for t in why.result.terms
        ],
        params=_params(TrendingParams.from_settings(settings)),
    )


@router.get(
    "/trending",
    response_model=list[TrendingItemOut],
    responses={400: {"model": ErrorOut}},
    summary="The trending papers of a window, best first, with each score's terms",
)
def trending(
    session: SessionDep,
    settings: SettingsDep,
    window: WindowQ = "week",
    until: UntilQ = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT, description="How many papers.")] = 50,
) -> list[TrendingItemOut]:
    """The window's papers ranked by their live trending score."""
    win = _window(window)
    ranked = service.ranked_page(
        session,
        settings=settings,
        window=win,
        until=_until(until),
        now=datetime.now(UTC),
        offset=0,
        limit=limit,
    )
    return [
        TrendingItemOut(
            rank=item.rank,
            id=item.paper.key,
            title=item.paper.title,
            score=item.score,
            terms={"votes": item.votes, "comments": item.comments, "stars": item.stars},
            starsGained=item.stars_gained,
        )
        for item in ranked.items
    ]
