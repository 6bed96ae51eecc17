"""/api/papers/search and /api/papers/{id}/similar, in Hugging Face's item shape plus our fields."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed import feed
from paperfeed.api.convert import num_comments, paper_out, user_out
from paperfeed.api.schemas import DailyPaperOut, ErrorOut
from paperfeed.db.models import Paper, Submission
from paperfeed.errors import UserError
from paperfeed.http.deps import SessionDep, SettingsDep, get_search, paper_or_404
from paperfeed.search.service import MAX_LIMIT, request_from_params

router = APIRouter(prefix="/api", tags=["search"])


class SearchItemOut(DailyPaperOut):
    """One result: a Hugging Face daily_papers item, plus how paperfeed found it."""

    score: float = Field(description="Fused score (reciprocal rank fusion); higher is better.")
    snippet: str | None = Field(
        None, description="The best-matching passage of the abstract: HTML-escaped, matches in <mark>."
    )
    matched_by: list[str] = Field(
        description="How it was found: id or title (pinned exact match), keyword, semantic."
    )
    similarity: float | None = Field(None, description="Cosine similarity to the query (semantic side).")


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Bad query, mode, filter, page or limit."},
}


def _latest_submissions(session: Session, ids: list[int]) -> dict[int, Submission]:
    """The most recent submission of each paper, in one query."""
    if not ids:
        return {}
    out: dict[int, Submission] = {}
    stmt = select(Submission).where(Submission.paper_id.in_(ids)).order_by(Submission.day)
    for sub in session.scalars(stmt):
        out[sub.paper_id] = sub  # later days overwrite earlier ones
    return out


def _item(
    paper: Paper,
    sub: Submission | None,
    base_url: str,
    *,
    score: float,
    matched_by: list[str],
    snippet: str | None = None,
    similarity: float | None = None,
) -> SearchItemOut:
    out = paper_out(paper, sub, base_url)
    return SearchItemOut(
        paper=out,
        publishedAt=out.publishedAt,
        title=out.title,
        summary=out.summary,
        thumbnail=f"{base_url.rstrip('/')}/static/thumbnail.svg",
        numComments=num_comments(paper),
        submittedBy=user_out(sub, base_url),
        score=round(score, 6),
        snippet=snippet,
        matched_by=matched_by,
        similarity=None if similarity is None else round(similarity, 6),
    )


@router.get(
    "/papers/search",
    response_model=list[SearchItemOut],
    response_model_exclude_none=True,
    responses=ERRORS,
    summary="Search papers (hybrid keyword + semantic by default)",
)
def search_papers(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description='Words, "a phrase", -excluded, an arXiv id or a title.')] = "",
    mode: Annotated[str, Query(description="hybrid (default), keyword or semantic.")] = "hybrid",
    category: Annotated[str | None, Query(description="An arXiv category (cs.CL) or archive (cs).")] = None,
    from_: Annotated[str | None, Query(alias="from", description="Listed on or after YYYY-MM-DD.")] = None,
    to: Annotated[str | None, Query(description="Listed on or before YYYY-MM-DD.")] = None,
    code: Annotated[str | None, Query(description="1: only papers with code; 0: only without.")] = None,
    window: Annotated[str | None, Query(description="day, week or month before the latest listing.")] = None,
    p: Annotated[int, Query(description="Page number, from 0.")] = 0,
    limit: Annotated[
        int, Query(description=f"Results per page, at least 1; more than {MAX_LIMIT} is read as {MAX_LIMIT}.")
    ] = 20,
) -> list[SearchItemOut]:
    """Hugging Face's search answer (a list of daily_papers items) plus score, snippet and matched_by.

    Headers say what a list cannot: X-Search-Mode (the mode used), X-Semantic-Coverage (share of papers
    with a vector) and X-Pending-Vectors (papers still being embedded, which match by keyword only).
    """
    # Clamped, not refused, as /api/daily_papers (the hf CLI sends whatever --limit it was given).
    limit = min(limit, MAX_LIMIT)
    if not q.strip():
        # huggingface_hub's list_papers() sends no q: answer with the latest papers, newest first.
        if limit < 1:
            raise UserError(f"invalid limit {limit}: must be at least 1")
        papers = feed.latest_papers(session, page=p, limit=limit)
        subs = _latest_submissions(session, [paper.id for paper in papers])
        response.headers["X-Search-Mode"] = "latest"
        return [
            _item(paper, subs.get(paper.id), settings.base_url, score=0.0, matched_by=["latest"])
            for paper in papers
        ]
    req = request_from_params(
        q=q,
        mode=mode,
        category=category,
        date_from=from_,
        date_to=to,
        code=code,
        window=window,
        page=p,
        limit=limit,
    )
    req = replace(req, max_authors=None)  # Hugging Face lists every author
    result = get_search(request).search(req, session=session)
    response.headers["X-Search-Mode"] = result.mode
    if result.semantic_coverage is not None:
        response.headers["X-Semantic-Coverage"] = f"{result.semantic_coverage:.4f}"
        response.headers["X-Pending-Vectors"] = str(result.pending_vectors)
    subs = _latest_submissions(session, [paper.id for paper in result.papers])
    return [
        _item(
            e.paper,
            subs.get(e.paper.id),
            settings.base_url,
            score=e.hit.score,
            matched_by=list(e.hit.matched_by),
            snippet=str(e.hit.snippet) if e.hit.snippet is not None else None,
            similarity=e.hit.similarity,
        )
        for e in result.entries
    ]


@router.get(
    "/papers/{paper_id:path}/similar",
    response_model=list[SearchItemOut],
    response_model_exclude_none=True,
    responses={404: {"model": ErrorOut, "description": "No such paper."}, **ERRORS},
    summary="Papers similar to one paper (by embedding and shared words; words only until it has a vector)",
)
def similar_papers(
    request: Request,
    paper_id: str,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(description="How many, 1-50.")] = 5,
) -> list[SearchItemOut]:
    """Nearest papers to this one, itself excluded; matched_by says which sides found each."""
    if not 1 <= limit <= 50:
        raise UserError(f"invalid limit {limit}: must be between 1 and 50")
    paper = paper_or_404(session, paper_id)
    found = get_search(request).similar(paper.id, limit=limit, session=session, max_authors=None)
    subs = _latest_submissions(session, [p.id for p in found.papers])
    return [
        _item(p, subs.get(p.id), settings.base_url, score=score, matched_by=list(how))
        for p, score, how in zip(found.papers, found.scores, found.matched_by, strict=True)
    ]
