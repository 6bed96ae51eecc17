"""Votes, comments, submissions and collections over the JSON API.

Writes authenticate with `Authorization: Bearer <token>` (or our own page's session cookie plus the
X-CSRF-Token header; see community/deps.py). Errors are {"error": message} with the service's status.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from paperfeed.api.collection_routes import router as collection_router
from paperfeed.api.deps import SessionDep, SettingsDep, paper_or_404, session_factory
from paperfeed.api.schemas import ErrorOut
from paperfeed.community import comments, submissions, votes
from paperfeed.community.deps import ApiModerator, ApiUser, ApiVerifiedUser, CurrentUser
from paperfeed.timeutil import iso_utc
from paperfeed.web.community_pages import spend

router = APIRouter(prefix="/api", tags=["community"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Invalid input."},
    401: {"model": ErrorOut, "description": "No or invalid API token."},
    403: {
        "model": ErrorOut,
        "description": "Not allowed (unverified email, not the author, not a moderator).",
    },
    404: {"model": ErrorOut, "description": "No such paper or comment."},
    429: {"model": ErrorOut, "description": "Too many submissions or comments; see Retry-After."},
}


class VoteOut(BaseModel):
    """A paper's votes after the change, as the caller sees them."""

    paperId: str
    voted: bool
    upvotes: int = Field(description="Total shown on listings: source upvotes + paperfeed votes.")
    voteCount: int = Field(description="Votes cast on paperfeed.")


class CommentIn(BaseModel):
    """A new comment; parentId makes it a reply."""

    body: str = Field(max_length=20_000, description="Markdown (raw HTML is shown as text).")
    parentId: int | None = None


class CommentEdit(BaseModel):
    """New text of one's own comment."""

    body: str = Field(max_length=20_000)


class HideIn(BaseModel):
    """Hide (true) or show again (false)."""

    hidden: bool = True


class CommentOut(BaseModel):
    """A comment with its replies; `html` is the safe rendering of `body`."""

    id: int
    parentId: int | None
    author: str | None
    body: str
    html: str
    createdAt: str
    editedAt: str | None
    deleted: bool
    hidden: bool
    replies: list[CommentOut]


class SubmitIn(BaseModel):
    """An arXiv id or an arxiv.org abs/pdf link."""

    arxiv: str = Field(max_length=2000, examples=["2401.00001", "https://arxiv.org/abs/2401.00001v2"])


class SubmittedOut(BaseModel):
    """The paper now on the list of `day`."""

    paperId: str
    title: str
    day: str
    fetched: bool = Field(description="True when the metadata was fetched from arXiv just now.")


def _comment_out(view: comments.CommentView) -> CommentOut:
    return CommentOut(
        id=view.id,
        parentId=view.parent_id,
        author=view.author,
        body=view.body,
        html=str(view.html),
        createdAt=iso_utc(view.created_at) or "",
        editedAt=iso_utc(view.edited_at),
        deleted=view.deleted,
        hidden=view.hidden,
        replies=[_comment_out(c) for c in view.children],
    )


def _vote(request: Request, session: Session, paper_id: str, user_id: int, voted: bool) -> VoteOut:
    paper = paper_or_404(session, paper_id)
    session.close()
    state = votes.set_vote(session_factory(request), user_id=user_id, paper_id=paper.id, voted=voted)
    return VoteOut(paperId=paper.key, voted=state.voted, upvotes=state.total, voteCount=state.vote_count)


@router.post("/papers/{paper_id:path}/vote", responses=ERRORS, summary="Upvote a paper (idempotent)")
def upvote(request: Request, paper_id: str, session: SessionDep, user: ApiVerifiedUser) -> VoteOut:
    """Add the caller's upvote; doing it again changes nothing."""
    return _vote(request, session, paper_id, user.id, True)


@router.delete("/papers/{paper_id:path}/vote", responses=ERRORS, summary="Withdraw an upvote (idempotent)")
def unvote(request: Request, paper_id: str, session: SessionDep, user: ApiVerifiedUser) -> VoteOut:
    """Remove the caller's upvote; doing it again changes nothing."""
    return _vote(request, session, paper_id, user.id, False)


@router.get("/papers/{paper_id:path}/comments", responses=ERRORS, summary="A paper's comments, as a tree")
def list_comments(paper_id: str, session: SessionDep, viewer: CurrentUser) -> list[CommentOut]:
    """Top-level comments oldest first, each with its replies; removed ones keep their place, empty."""
    paper = paper_or_404(session, paper_id)
    moderator = viewer is not None and viewer.role == "moderator"
    return [_comment_out(c) for c in comments.thread(session, paper.id, moderator=moderator)]


@router.post(
    "/papers/{paper_id:path}/comments", status_code=201, responses=ERRORS, summary="Comment on a paper"
)
def post_comment(
    request: Request,
    paper_id: str,
    body: CommentIn,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiVerifiedUser,
) -> CommentOut:
    """Post a comment (or a reply with parentId); answers the stored comment."""
    paper = paper_or_404(session, paper_id)
    session.close()
    spend(request, settings, "comment", user)
    new_id = comments.create_comment(
        session_factory(request),
        user_id=user.id,
        paper_id=paper.id,
        body=body.body,
        parent_id=body.parentId,
        max_chars=settings.comment_max_chars,
    )
    with session_factory(request)() as fresh:
        return _comment_out(_find(comments.thread(fresh, paper.id), new_id))


def _find(views: list[comments.CommentView], comment_id: int) -> comments.CommentView:
    stack = list(views)
    while stack:
        view = stack.pop()
        if view.id == comment_id:
            return view
        stack.extend(view.children)
    raise HTTPException(404, f"comment {comment_id} not found")


@router.patch("/comments/{comment_id}", status_code=204, responses=ERRORS, summary="Edit one's own comment")
def edit_comment(
    request: Request, comment_id: int, body: CommentEdit, settings: SettingsDep, user: ApiVerifiedUser
) -> Response:
    """Replace the body; only the author may."""
    comments.edit_comment(
        session_factory(request),
        user_id=user.id,
        comment_id=comment_id,
        body=body.body,
        max_chars=settings.comment_max_chars,
    )
    return Response(status_code=204)


@router.delete("/comments/{comment_id}", status_code=204, responses=ERRORS, summary="Delete a comment")
def delete_comment(request: Request, comment_id: int, user: ApiUser) -> Response:
    """Delete a comment: its author or a moderator."""
    comments.delete_comment(session_factory(request), user_id=user.id, comment_id=comment_id)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/hide", status_code=204, responses=ERRORS, summary="Hide a comment")
def hide_comment(request: Request, comment_id: int, body: HideIn, user: ApiModerator) -> Response:
    """Hide a comment or show it again; moderators only."""
    comments.set_hidden(session_factory(request), user_id=user.id, comment_id=comment_id, hidden=body.hidden)
    return Response(status_code=204)


@router.post(
    "/submissions",
    status_code=201,
    responses={**ERRORS, 409: {"model": ErrorOut, "description": "Already on today's list."}},
    summary="Submit a paper to today's list",
)
def submit(request: Request, body: SubmitIn, settings: SettingsDep, user: ApiVerifiedUser) -> SubmittedOut:
    """Fetch the paper from the arXiv API (never from the given link) and put it on today's list."""
    submissions.extract_arxiv_id(body.arxiv)  # refused input costs no quota
    spend(request, settings, "submit", user)
    done = submissions.submit_paper(
        session_factory(request), settings, text=body.arxiv, username=user.username
    )
    return SubmittedOut(paperId=done.key, title=done.title, day=done.day.isoformat(), fetched=done.fetched)


router.include_router(collection_router)
