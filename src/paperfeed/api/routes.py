"""JSON API compatible with Hugging Face's: /api/daily_papers and /api/papers/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paperfeed import feed
from paperfeed.api.convert import daily_out, paper_out
from paperfeed.api.schemas import DailyPaperOut, ErrorOut, PaperOut
from paperfeed.authors.claims import approved_for_papers
from paperfeed.categories import parse_category
from paperfeed.http.deps import SessionDep, SettingsDep, paper_or_404

router = APIRouter(prefix="/api", tags=["papers"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Bad date, week, month, page, limit, sort or category."},
}


@router.get(
    "/daily_papers",
    response_model=list[DailyPaperOut],
    response_model_exclude_none=True,
    responses=ERRORS,
    summary="Papers listed on a day, ISO week or month",
)
def daily_papers(
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[str | None, Query(description="A day, YYYY-MM-DD (default: the latest day).")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www (e.g. 2026-W22).")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    p: Annotated[int, Query(description="Page number, from 0.")] = 0,
    limit: Annotated[
        int,
        Query(
            description=f"Papers per page, at least 1 (more than {feed.MAX_LIMIT} reads as {feed.MAX_LIMIT})."
        ),
    ] = 50,
    sort: Annotated[
        str, Query(description="publishedAt (default, as on Hugging Face) or trending.")
    ] = "publishedAt",
    submitter: Annotated[str | None, Query(description="Only papers this username submitted.")] = None,
    category: Annotated[
        str | None, Query(description="An arXiv category (cs.CL) or archive (cs: every cs.*).")
    ] = None,
) -> list[DailyPaperOut]:
    """The daily list, in Hugging Face's shape; errors are 400 with {"error": message}."""
    if submitter is not None and (len(submitter) > 255 or not submitter.isprintable()):
        # PostgreSQL refuses a NUL in a query, and no username is this long or holds control characters.
        raise feed.FeedError("invalid submitter: give a username")
    # A limit past the maximum is clamped rather than refused: the hf CLI's --limit is free, and a page
    # shorter than asked is what a client of a paged API must handle anyway (see docs/api.md).
    result = feed.daily(
        session,
        day=date,
        week=week,
        month=month,
        sort=sort,
        page=p,
        limit=min(limit, feed.MAX_LIMIT),
        category=parse_category(session, category),
        submitter=submitter or None,
    )
    claimed = approved_for_papers(session, [entry.paper.id for entry in result.entries])
    return [daily_out(entry, settings.base_url, claimed) for entry in result.entries]


@router.get(
    "/papers/{paper_id:path}",
    response_model=PaperOut,
    response_model_exclude_none=True,
    responses={404: {"model": ErrorOut, "description": "No such paper."}},
    summary="One paper by arXiv id (with or without version) or paperfeed key",
)
def paper(paper_id: str, session: SessionDep, settings: SettingsDep) -> PaperOut:
    """The `paper` object of one paper."""
    found = paper_or_404(session, paper_id)
    claimed = approved_for_papers(session, [found.id])
    return paper_out(
        found, feed.latest_submission(session, found), settings.base_url, claimed, with_comments=True
    )
