"""For you over the JSON API: the caller's recommendations, their export, and private signals.

Everything answers about the token's (or session's) own user only: there is no parameter naming another
reader. A read token may fetch recommendations and the export; signals need a write token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from paperfeed.api.convert import paper_out
from paperfeed.api.schemas import ErrorOut, PaperOut
from paperfeed.http.auth import ApiUser
from paperfeed.http.deps import FactoryDep, SessionDep, SettingsDep, find_paper
from paperfeed.periods import check_window, parse_day
from paperfeed.recommend import profiles, signals
from paperfeed.recommend.service import ForYouItem, for_you

router = APIRouter(prefix="/api", tags=["for you"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Invalid input."},
    401: {"model": ErrorOut, "description": "No or invalid API token."},
    403: {"model": ErrorOut, "description": "A read token cannot change signals."},
    404: {"model": ErrorOut, "description": "No such paper."},
}


class ReasonOut(BaseModel):
    """A paper of the reader's a recommendation is close to, and what the reader did with it."""

    paperId: str
    title: str
    kind: str = Field(description="vote, save, more or seed.")
    text: str = Field(description="'because you saved', 'more like', ...")


class RecommendationOut(BaseModel):
    """One recommended paper with its reasons; exploration marks a trending paper outside the profile."""

    rank: int
    paper: PaperOut
    title: str
    score: float
    exploration: bool
    reasons: list[ReasonOut]
    terms: list[str] = Field(description="Terms the paper shares with the reader's paper it is closest to.")


class RecommendationsOut(BaseModel):
    """The caller's list for one window."""

    period: str
    start: str | None
    until: str | None
    items: list[RecommendationOut]


class SignalIn(BaseModel):
    """A private signal: more (like this), less (like this), or dismiss (not interested)."""

    kind: str = Field(examples=["more", "less", "dismiss"])


class SignalOut(BaseModel):
    """The caller's signal about the paper after the change (null: none)."""

    paperId: str
    signal: str | None


def _item_out(rank: int, item: ForYouItem, base_url: str) -> RecommendationOut:
    return RecommendationOut(
        rank=rank,
        paper=paper_out(item.paper, None, base_url),
        title=item.paper.title,
        score=round(item.recommendation.score, 6),
        exploration=item.exploration,
        reasons=[ReasonOut(paperId=r.key, title=r.title, kind=r.kind, text=r.verb) for r in item.reasons],
        terms=list(item.terms),
    )


@router.get("/recommendations", responses=ERRORS, summary="Your For-you list (token: read scope)")
def recommendations(
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    period: Annotated[str, Query(description="day, week or month.")] = "week",
    date: Annotated[str | None, Query(description="Last listing day, YYYY-MM-DD (default: latest).")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> RecommendationsOut:
    """The caller's papers of the window ending on `date`, best first, each with its reasons."""
    kind = check_window(period)
    result = for_you(
        session,
        user_id=user.id,
        kind=kind,
        until=parse_day(date) if date else None,
        now=datetime.now(UTC),
        limit=limit or settings.for_you_page_size,
        settings=settings,
    )
    return RecommendationsOut(
        period=kind,
        start=result.start.isoformat() if result.start else None,
        until=result.until.isoformat() if result.until else None,
        items=[_item_out(n, item, settings.base_url) for n, item in enumerate(result.items, 1)],
    )


@router.get("/recommendations/export", responses=ERRORS, summary="Export your For-you data (JSON)")
def export(session: SessionDep, user: ApiUser) -> JSONResponse:
    """Your profile, private signals, and the votes and saves For you learns from."""
    data: dict[str, Any] = profiles.export_profile(session, user.id)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


def _signal(factory: FactoryDep, paper_id: str, user_id: int, kind: str, on: bool) -> SignalOut:
    paper = find_paper(factory, paper_id)
    state = signals.apply_signal(
        factory, user_id=user_id, paper_id=paper.id, kind=kind, on=on, now=datetime.now(UTC)
    )
    return SignalOut(paperId=paper.key, signal=state)


@router.post("/papers/{paper_id:path}/signal", responses=ERRORS, summary="Set a private signal")
def set_signal(paper_id: str, body: SignalIn, factory: FactoryDep, user: ApiUser) -> SignalOut:
    """Record "more", "less" or "dismiss" about a paper (replaces your earlier signal); only you see it."""
    return _signal(factory, paper_id, user.id, body.kind, True)


@router.delete("/papers/{paper_id:path}/signal", responses=ERRORS, summary="Clear your private signal")
def clear_signal(paper_id: str, factory: FactoryDep, user: ApiUser) -> SignalOut:
    """Forget your explicit signal about a paper (whatever it was)."""
    paper = find_paper(factory, paper_id)
    signals.clear_signal(factory, user_id=user.id, paper_id=paper.id)
    return SignalOut(paperId=paper.key, signal=None)
