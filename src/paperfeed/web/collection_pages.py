"""Collection pages: manage one's collections; public page, BibTeX, JSON and RSS of each.

Included by web/community_pages.py. A private collection answers 404 to everybody but its owner, on the
page and on every export.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperfeed.accounts.models import User
from paperfeed.community import collections, exports
from paperfeed.community.models import Collection
from paperfeed.errors import NotFound
from paperfeed.http.auth import CurrentUser, RequireUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import DbId, FactoryDep, SessionDep, SettingsDep, find_paper
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(max_length=1000)]
Long = Annotated[str, Form(max_length=10_000)]
Flag = Annotated[str, Form(max_length=8)]


def collection_path(owner: str, slug: str) -> str:
    """The site path of a collection page."""
    return f"/u/{owner}/c/{slug}"


def _path_of(factory: sessionmaker[Session], user: User, collection_id: int) -> str:
    with factory() as session:
        row = session.get(Collection, collection_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"You have no collection with id {collection_id}.")
        return collection_path(user.username, row.slug)


def _paper_id(factory: sessionmaker[Session], key: str) -> int:
    return find_paper(factory, key).id


@router.get("/collections", name="collections")
def my_collections(request: Request, session: SessionDep, user: RequireUser) -> Response:
    """The viewer's collections and a form to create one."""
    mine = collections.user_collections(session, user.id, public_only=False)
    return render(request, "collections.html", {"mine": mine, "error": None})


@router.post("/collections", name="collection_create")
def create(
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    name: Name = "",
    description: Long = "",
    public: Flag = "",
    paper: Name = "",
    next: Name = "",
) -> Response:
    """Create a collection; with `paper`, put that paper in it and go back to `next`."""
    paper_id = _paper_id(factory, paper) if paper else None
    made = collections.create_collection(
        factory,
        user_id=user.id,
        name=name,
        description=description,
        public=bool(public),
        max_per_user=settings.collection_max_per_user,
    )
    if paper_id is not None:
        collections.add_paper(
            factory,
            user_id=user.id,
            collection_id=made.id,
            paper_id=paper_id,
            max_items=settings.collection_max_items,
        )
    target = collection_path(user.username, made.slug)
    return RedirectResponse(safe_next(next, target) if paper_id else target, status_code=303)


@router.post("/collections/{collection_id}/edit", name="collection_edit")
def edit(
    collection_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    name: Name = "",
    description: Long = "",
    public: Flag = "",
) -> Response:
    """Rename, describe, publish or unpublish a collection (its address stays)."""
    row = collections.update_collection(
        factory,
        user_id=user.id,
        collection_id=collection_id,
        name=name,
        description=description,
        public=bool(public),
    )
    return RedirectResponse(collection_path(user.username, row.slug), status_code=303)


@router.post("/collections/{collection_id}/delete", name="collection_delete")
def delete(collection_id: DbId, _csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Delete a collection (the papers stay on the site)."""
    collections.delete_collection(factory, user_id=user.id, collection_id=collection_id)
    return RedirectResponse("/collections", status_code=303)


@router.post("/collections/{collection_id}/papers", name="collection_add")
def add(
    collection_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    paper: Name = "",
    note: Long = "",
    next: Name = "",
) -> Response:
    """Put a paper (by id or key) in one's collection, with an optional note."""
    paper_id = _paper_id(factory, paper)
    target = _path_of(factory, user, collection_id)
    collections.add_paper(
        factory,
        user_id=user.id,
        collection_id=collection_id,
        paper_id=paper_id,
        note=note or None,
        max_items=settings.collection_max_items,
    )
    return RedirectResponse(safe_next(next, target), status_code=303)


@router.post("/collections/{collection_id}/papers/{paper_id}/note", name="collection_note")
def note(
    collection_id: DbId,
    paper_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    note: Long = "",
) -> Response:
    """Change the note on a paper in one's collection."""
    target = _path_of(factory, user, collection_id)
    collections.add_paper(
        factory,
        user_id=user.id,
        collection_id=collection_id,
        paper_id=paper_id,
        note=note,
        max_items=settings.collection_max_items,
    )
    return RedirectResponse(f"{target}#p{paper_id}", status_code=303)


@router.post("/collections/{collection_id}/papers/{paper_id}/remove", name="collection_remove")
def remove(
    collection_id: DbId,
    paper_id: DbId,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    next: Name = "",
) -> Response:
    """Take a paper out of one's collection."""
    target = _path_of(factory, user, collection_id)
    collections.remove_paper(factory, user_id=user.id, collection_id=collection_id, paper_id=paper_id)
    return RedirectResponse(safe_next(next, target), status_code=303)


# --- the public side: page and exports (declared before the page: "{slug}" would also match "x.bib") ---


def _find(session: Session, username: str, slug: str, viewer: User | None) -> collections.Summary:
    return collections.find_collection(session, username, slug, viewer_id=viewer.id if viewer else None)


@router.get("/u/{username}/c/{slug}.bib", name="collection_bib")
def bib(username: str, slug: str, session: SessionDep, viewer: CurrentUser) -> Response:
    """The collection as a BibTeX file."""
    found = _find(session, username, slug, viewer)
    text = exports.bibtex(collections.entries(session, found.collection.id))
    headers = {"Content-Disposition": f'attachment; filename="{found.collection.slug}.bib"'}
    return Response(text, media_type="application/x-bibtex; charset=utf-8", headers=headers)


@router.get("/u/{username}/c/{slug}.json", name="collection_json")
def as_json(
    username: str, slug: str, session: SessionDep, settings: SettingsDep, viewer: CurrentUser
) -> Response:
    """The collection and its papers as JSON."""
    found = _find(session, username, slug, viewer)
    data = exports.collection_json(
        found, collections.entries(session, found.collection.id), settings.base_url
    )
    return JSONResponse(data)


@router.get("/u/{username}/c/{slug}/rss", name="collection_rss")
def rss(
    username: str, slug: str, session: SessionDep, settings: SettingsDep, viewer: CurrentUser
) -> Response:
    """RSS 2.0 of a collection: a new item each time a paper is added."""
    found = _find(session, username, slug, viewer)
    text = exports.collection_rss(
        found,
        collections.entries(session, found.collection.id)[:100],
        base_url=settings.base_url,
        site_name=settings.site_name,
    )
    return Response(text, media_type="application/rss+xml; charset=utf-8")


@router.get("/u/{username}/c/{slug}", name="collection")
def page(request: Request, username: str, slug: str, session: SessionDep, viewer: CurrentUser) -> Response:
    """A collection's page: its papers with notes; its owner also gets the editing forms."""
    found = _find(session, username, slug, viewer)
    items = collections.entries(session, found.collection.id)
    own = viewer is not None and viewer.id == found.collection.user_id
    return render(request, "collection.html", {"c": found, "items": items, "own": own})
