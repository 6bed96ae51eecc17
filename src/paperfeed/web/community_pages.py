"""Community pages: votes, submissions, comments, profiles; collections in collection_pages.py.

Every state change is a form POST with a CSRF token and answers 303 back to a page on this site (`next`
is checked by safe_next), so all of it works without JavaScript. static/app.js upgrades the vote forms:
it sends the same POST with Accept: application/json and updates the button in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperfeed import feed
from paperfeed.accounts.models import User
from paperfeed.community import collections, comments, profiles, quotas, submissions, votes
from paperfeed.db.models import Paper
from paperfeed.errors import UserError
from paperfeed.http.auth import CurrentUser, RequireUser, RequireVerifiedUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import DbId, FactoryDep, FormId, SessionDep, SettingsDep, find_paper, session_factory
from paperfeed.http.errors import wants_json
from paperfeed.paths import paper_path
from paperfeed.web.collection_pages import router as collection_router
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=2000)]


@dataclass(slots=True)
class PaperCommunity:
    """What _paper_community.html shows for one paper and one viewer."""

    user: User | None
    vote: votes.VoteState
    thread: list[comments.CommentView]
    collections: list[collections.Summary] = field(default_factory=list)
    in_collections: set[int] = field(default_factory=set)

    @property
    def moderator(self) -> bool:
        """True when the viewer may hide comments."""
        return self.user is not None and self.user.role == "moderator"


def paper_community(request: Request, session: Session, paper: Paper) -> PaperCommunity:
    """Votes, comments and the viewer's collections for the paper page (used by web/pages.py)."""
    user: User | None = getattr(request.state, "user", None)
    uid = user.id if user is not None else None
    info = PaperCommunity(
        user=user,
        vote=votes.vote_state(session, uid, paper.id),
        thread=comments.thread(session, paper.id, moderator=user is not None and user.role == "moderator"),
    )
    if uid is not None:
        info.collections = collections.user_collections(session, uid, public_only=False)
        info.in_collections = collections.containing(session, uid, paper.id)
    return info


# --- votes ---


@router.post("/papers/{paper_id:path}/vote", name="vote")
def vote(
    request: Request,
    paper_id: str,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireVerifiedUser,
    vote: Annotated[str, Form(max_length=8)] = "1",
    next: Short = "",
) -> Response:
    """Set the viewer's vote ("1" up, "0" withdrawn): the form says which, so a double click is harmless."""
    paper = find_paper(factory, paper_id)
    state = votes.set_vote(factory, user_id=user.id, paper_id=paper.id, voted=vote != "0")
    if wants_json(request):
        return JSONResponse({"voted": state.voted, "count": state.total, "paperId": paper.key})
    return RedirectResponse(safe_next(next, paper_path(paper.key)), status_code=303)


# --- submissions ---


@router.get("/submit", name="submit_form")
def submit_form(
    request: Request, user: RequireUser, done: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    """The form to submit a paper to today's list by arXiv id or link."""
    submitted = None
    if done:
        with session_factory(request)() as session:
            submitted = feed.get_paper(session, done)
    context = {
        "error": None,
        "value": "",
        "submitted": submitted,
        "verified": user.email_verified_at is not None,
    }
    return render(request, "submit.html", context)


@router.post("/submit", name="submit")
def submit(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireVerifiedUser,
    arxiv: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Fetch the paper's metadata from arXiv (never from the given link) and list it today."""
    try:
        submissions.extract_arxiv_id(arxiv)  # refused input costs no quota
        quotas.spend(factory, settings, action="submit", user_id=user.id)
        done = submissions.submit_paper(factory, settings, text=arxiv, username=user.username)
    except UserError as exc:
        if exc.status == 429:
            raise  # the error page with Retry-After, not the form
        context = {"error": str(exc), "value": arxiv, "submitted": None, "verified": True}
        return render(request, "submit.html", context, status_code=exc.status)
    return RedirectResponse("/submit?done=" + done.key, status_code=303)


# --- comments ---


def _to_comment(key: str, comment_id: int | None = None) -> RedirectResponse:
    anchor = f"#c{comment_id}" if comment_id else "#comments"
    return RedirectResponse(paper_path(key) + anchor, status_code=303)


def _comment_key(factory: sessionmaker[Session], comment_id: int) -> str:
    with factory() as session:
        return comments.paper_key_of(session, comment_id)


@router.post("/papers/{paper_id:path}/comments", name="comment")
def comment(
    paper_id: str,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireVerifiedUser,
    body: Text = "",
    parent_id: FormId = None,
) -> Response:
    """Post a comment, or a reply when parent_id is given."""
    posted = comments.post_comment(
        factory, settings, user_id=user.id, paper_ref=paper_id, body=body, parent_id=parent_id
    )
    return _to_comment(posted.paper_key, posted.comment_id)


@router.post("/comments/{comment_id}/edit", name="comment_edit")
def comment_edit(
    comment_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireVerifiedUser,
    body: Text = "",
) -> Response:
    """Replace the text of one's own comment."""
    key = _comment_key(factory, comment_id)
    comments.edit_comment(
        factory, user_id=user.id, comment_id=comment_id, body=body, max_chars=settings.comment_max_chars
    )
    return _to_comment(key, comment_id)


@router.post("/comments/{comment_id}/delete", name="comment_delete")
def comment_delete(comment_id: DbId, _csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Delete a comment (its author, or a moderator)."""
    key = _comment_key(factory, comment_id)
    comments.delete_comment(factory, user_id=user.id, comment_id=comment_id)
    return _to_comment(key)


@router.post("/comments/{comment_id}/hide", name="comment_hide")
def comment_hide(
    comment_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    hidden: Annotated[str, Form(max_length=8)] = "1",
) -> Response:
    """Hide a comment ("1") or show it again ("0"); moderators only (the service checks the role)."""
    key = _comment_key(factory, comment_id)
    comments.set_hidden(factory, user_id=user.id, comment_id=comment_id, hidden=hidden != "0")
    return _to_comment(key, comment_id)


# --- profiles ---


@router.get("/u/{username}", name="profile")
def profile(request: Request, username: str, session: SessionDep, viewer: CurrentUser) -> Response:
    """A user's public page: submissions, upvotes and public collections (all collections for the owner)."""
    info = profiles.profile(session, username, viewer_id=viewer.id if viewer else None)
    return render(request, "profile.html", {"profile": info})


router.include_router(collection_router)
