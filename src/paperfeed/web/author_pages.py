"""Author pages, their feeds, following authors, authorship claims and the moderators' claim queue.

Every state change is a form POST with a CSRF token answering 303 back to a page of this site, so all of it
works without JavaScript (as community_pages.py). What a user follows is shown to that user only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from paperfeed.authors import claims, follows, pages
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.http.auth import CurrentUser, RequireModerator, RequireUser, RequireVerifiedUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import DbId, FactoryDep, SessionDep, SettingsDep, find_paper
from paperfeed.paths import author_path, paper_path
from paperfeed.text import feeds
from paperfeed.text.charts import bar_chart
from paperfeed.text.feeds import FeedItem
from paperfeed.timeutil import as_utc
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(min_length=1, max_length=512)]
Short = Annotated[str, Form(max_length=2000)]
PageQ = Annotated[int, Query(ge=0, le=pages.MAX_PAGE)]
FEED_SIZE = 50


def timeline_chart(page: pages.AuthorPage) -> object:
    """The papers-per-month chart of an author page (a <title>, and a <desc> with every month's count)."""
    months = page.timeline
    total = sum(n for _, n in months)
    desc = f"{total} papers from {months[0][0]} to {months[-1][0]}: " if months else ""
    desc += ", ".join(f"{m}: {n}" for m, n in months if n)
    return bar_chart(months, title=f"Papers per month by {page.name}", desc=desc, ident="timeline")


@router.get("/authors/{name:path}", name="author")
def author_page(
    request: Request, name: str, session: SessionDep, settings: SettingsDep, viewer: CurrentUser, p: PageQ = 0
) -> Response:
    """One author name (or a profile's grouped names): papers, co-authors, categories, timeline."""
    limit = min(settings.page_size, 100)
    info = pages.author_page(session, name, page=p, limit=limit)
    uid = viewer.id if viewer else None
    context: dict[str, object] = {
        "author": info,
        "chart": timeline_chart(info),
        "following": follows.is_following(session, uid, info.author_id),
        "variants": claims.variant_choices(session, uid) if uid is not None else [],
        "feed_rss": "/rss" + author_path(info.name),
        "feed_atom": "/atom" + author_path(info.name),
    }
    return render(request, "author.html", context)


def _items(settings: Settings, papers: list[Paper]) -> list[FeedItem]:
    base = settings.base_url.rstrip("/")
    out = []
    for paper in papers:
        when = as_utc(paper.published or paper.created_at)
        out.append(
            FeedItem(
                title=paper.title,
                link=base + paper_path(paper.key),
                published=when,
                updated=as_utc(paper.updated or when),
                summary=paper.abstract,
                authors=paper.author_names,
                categories=paper.category_names,
            )
        )
    return out


def _feed_papers(session: SessionDep, name: str) -> tuple[pages.AuthorPage, list[Paper]]:
    info = pages.author_page(session, name, page=0, limit=FEED_SIZE)
    return info, info.papers


@router.get("/rss/authors/{name:path}", name="author_rss")
def author_rss(name: str, session: SessionDep, settings: SettingsDep) -> Response:
    """RSS 2.0 of an author's newest papers."""
    info, papers = _feed_papers(session, name)
    base = settings.base_url.rstrip("/")
    items = _items(settings, papers)
    doc = feeds.rss_document(
        title=f"{settings.site_name}: papers by {info.name}",
        link=base + author_path(info.name),
        description=f"New papers by {info.name} on {settings.site_name}",
        self_url=base + "/rss" + author_path(info.name),
        updated=max((i.updated for i in items), default=datetime.now(UTC)),
        items=items,
    )
    return Response(doc, media_type="application/rss+xml; charset=utf-8")


@router.get("/atom/authors/{name:path}", name="author_atom")
def author_atom(name: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Atom 1.0 of an author's newest papers."""
    info, papers = _feed_papers(session, name)
    base = settings.base_url.rstrip("/")
    items = _items(settings, papers)
    doc = feeds.atom_document(
        title=f"{settings.site_name}: papers by {info.name}",
        link=base + author_path(info.name),
        self_url=base + "/atom" + author_path(info.name),
        updated=max((i.updated for i in items), default=datetime.now(UTC)),
        author=info.name,
        items=items,
    )
    return Response(doc, media_type="application/atom+xml; charset=utf-8")


# --- following ---


@router.post("/following", name="follow")
def follow(
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    name: Name,
    follow: Annotated[str, Form(max_length=1)] = "1",
    next: Short = "",
) -> Response:
    """Follow ("1") or unfollow ("0") an author: the form says which, so a double click is harmless."""
    follows.follow(factory, user_id=user.id, name=name, on=follow != "0")
    return RedirectResponse(safe_next(next, author_path(name)), status_code=303)


@router.get("/following", name="following")
def following(
    request: Request, session: SessionDep, settings: SettingsDep, user: RequireUser, p: PageQ = 0
) -> Response:
    """The signed-in user's feed: new papers by the authors they follow (private to them)."""
    limit = min(settings.page_size, 100)
    papers, total = follows.following_papers(session, user.id, offset=p * limit, limit=limit)
    context = {
        "names": follows.followed_names(session, user.id),
        "papers": papers,
        "total": total,
        "page": p,
        "has_next": (p + 1) * limit < total,
    }
    return render(request, "following.html", context)


# --- claims ---


@dataclass(frozen=True, slots=True)
class BylineClaims:
    """What the paper page's byline shows: approved claims per position, and the viewer's own claims."""

    approved: dict[int, claims.ApprovedClaim]
    mine: dict[int, str]
    can_claim: bool


def byline_claims(request: Request, session: Session, paper: Paper) -> BylineClaims:
    """Claims on this paper's byline for the paper page (used by web/pages.py)."""
    user = getattr(request.state, "user", None)
    approved = {pos: c for (_, pos), c in claims.approved_for_papers(session, [paper.id]).items()}
    mine = claims.my_claims(session, user.id if user else None, paper.id)
    return BylineClaims(approved=approved, mine=mine, can_claim=bool(user and user.is_verified))


@router.post("/papers/{paper_id:path}/claim", name="claim")
def claim(
    paper_id: str,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireVerifiedUser,
    position: Annotated[int, Form(ge=0, le=100_000)],
) -> Response:
    """ "This is me": claim one byline place of a paper; a moderator decides."""
    paper = find_paper(factory, paper_id)
    claims.claim(factory, user_id=user.id, paper_id=paper.id, position=position)
    return RedirectResponse(paper_path(paper.key) + "#authors", status_code=303)


@router.get("/moderation/claims", name="claims_queue")
def claims_queue(request: Request, session: SessionDep, _mod: RequireModerator) -> Response:
    """The moderators' queue of pending claims, oldest first."""
    return render(request, "moderation_claims.html", {"claims": claims.pending_claims(session)})


@router.post("/moderation/claims/{claim_id}", name="claim_decide")
def claim_decide(
    claim_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    moderator: RequireModerator,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
) -> Response:
    """Approve or reject one claim and go back to the queue."""
    claims.decide(factory, moderator_id=moderator.id, claim_id=claim_id, approve=decision == "approve")
    return RedirectResponse("/moderation/claims", status_code=303)


@router.post("/account/author-names", name="author_names")
def author_names(
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireVerifiedUser,
    names: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies form defaults)
    next: Short = "",
) -> Response:
    """Group the checked names (each with an approved claim of the user) on one profile."""
    grouped = claims.set_variants(factory, user_id=user.id, names=names)
    default = author_path(grouped[0]) if grouped else "/"
    return RedirectResponse(safe_next(next, default), status_code=303)
