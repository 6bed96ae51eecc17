"""Collections over the JSON API; included by api/community_routes.py under /api."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from paperfeed.accounts.models import User
from paperfeed.api.schemas import ErrorOut
from paperfeed.community import collections, exports
from paperfeed.community.models import Collection
from paperfeed.errors import NotFound
from paperfeed.http.auth import ApiUser, CurrentUser
from paperfeed.http.deps import DbId, FactoryDep, SessionDep, SettingsDep, find_paper

router = APIRouter(tags=["collections"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Invalid input."},
    401: {"model": ErrorOut, "description": "No or invalid API token."},
    404: {"model": ErrorOut, "description": "No such collection (or not yours), or no such paper."},
}


class CollectionIn(BaseModel):
    """A new collection."""

    name: str = Field(max_length=1000)
    description: str = Field("", max_length=10_000)
    public: bool = False


class CollectionPatch(BaseModel):
    """Fields to change; the slug (and so the address) stays."""

    name: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=10_000)
    public: bool | None = None


class ItemIn(BaseModel):
    """A note on a paper in a collection."""

    note: str = Field("", max_length=10_000)


class CollectionOut(BaseModel):
    """A collection without its papers."""

    id: int
    name: str
    slug: str
    owner: str
    description: str
    public: bool
    size: int
    url: str


def _out(summary: collections.Summary, base_url: str) -> CollectionOut:
    c = summary.collection
    return CollectionOut(
        id=c.id,
        name=c.name,
        slug=c.slug,
        owner=summary.owner,
        description=c.description,
        public=c.public,
        size=summary.size,
        url=exports.collection_url(base_url, summary),
    )


def _mine(session: Session, user: User, collection_id: int) -> collections.Summary:
    row = session.get(Collection, collection_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"you have no collection with id {collection_id}")
    return collections.find_collection(session, user.username, row.slug, viewer_id=user.id)


@router.get("/collections", responses=ERRORS, summary="The caller's collections")
def mine(session: SessionDep, settings: SettingsDep, user: ApiUser) -> list[CollectionOut]:
    """Every collection of the caller, private ones included, newest first."""
    rows = collections.user_collections(session, user.id, public_only=False)
    return [_out(s, settings.base_url) for s in rows]


@router.post("/collections", status_code=201, responses=ERRORS, summary="Create a collection")
def create(body: CollectionIn, factory: FactoryDep, settings: SettingsDep, user: ApiUser) -> CollectionOut:
    """Create a collection; its slug is derived from the name."""
    made = collections.create_collection(
        factory,
        user_id=user.id,
        name=body.name,
        description=body.description,
        public=body.public,
        max_per_user=settings.collection_max_per_user,
    )
    return _out(collections.Summary(made, user.username, 0), settings.base_url)


@router.get("/collections/{collection_id}", responses=ERRORS, summary="One of the caller's collections")
def one(collection_id: DbId, session: SessionDep, settings: SettingsDep, user: ApiUser) -> dict[str, Any]:
    """The collection with its papers and notes (the JSON export's shape)."""
    found = _mine(session, user, collection_id)
    return exports.collection_json(found, collections.entries(session, collection_id), settings.base_url)


@router.patch("/collections/{collection_id}", responses=ERRORS, summary="Change a collection")
def patch(
    collection_id: DbId, body: CollectionPatch, factory: FactoryDep, settings: SettingsDep, user: ApiUser
) -> CollectionOut:
    """Rename, describe, publish or unpublish."""
    collections.update_collection(
        factory,
        user_id=user.id,
        collection_id=collection_id,
        name=body.name,
        description=body.description,
        public=body.public,
    )
    with factory() as session:
        return _out(_mine(session, user, collection_id), settings.base_url)


@router.delete(
    "/collections/{collection_id}", status_code=204, responses=ERRORS, summary="Delete a collection"
)
def remove(collection_id: DbId, factory: FactoryDep, user: ApiUser) -> Response:
    """Delete the collection (the papers stay)."""
    collections.delete_collection(factory, user_id=user.id, collection_id=collection_id)
    return Response(status_code=204)


@router.put(
    "/collections/{collection_id}/papers/{paper_id:path}",
    status_code=204,
    responses=ERRORS,
    summary="Put a paper in a collection (or change its note)",
)
def put_paper(
    collection_id: DbId,
    paper_id: str,
    body: ItemIn,
    factory: FactoryDep,
    settings: SettingsDep,
    user: ApiUser,
) -> Response:
    """Idempotent: adding a paper twice keeps one entry, with the latest note."""
    paper = find_paper(factory, paper_id)
    collections.add_paper(
        factory,
        user_id=user.id,
        collection_id=collection_id,
        paper_id=paper.id,
        note=body.note,
        max_items=settings.collection_max_items,
    )
    return Response(status_code=204)


@router.delete(
    "/collections/{collection_id}/papers/{paper_id:path}",
    status_code=204,
    responses=ERRORS,
    summary="Take a paper out of a collection",
)
def delete_paper(collection_id: DbId, paper_id: str, factory: FactoryDep, user: ApiUser) -> Response:
    """Idempotent: removing a paper that is not there is not an error."""
    paper = find_paper(factory, paper_id)
    collections.remove_paper(factory, user_id=user.id, collection_id=collection_id, paper_id=paper.id)
    return Response(status_code=204)


@router.get("/users/{username}/collections", responses=ERRORS, summary="A user's public collections")
def public_of(
    username: str, session: SessionDep, settings: SettingsDep, viewer: CurrentUser
) -> list[CollectionOut]:
    """Public collections of a user (all of them when the caller is that user)."""
    owner = session.scalars(select(User).where(User.username == username)).first()
    if owner is None or owner.email_verified_at is None:  # as on the profile page
        raise NotFound(f"no user called {username!r}")
    own = viewer is not None and viewer.id == owner.id
    return [
        _out(s, settings.base_url)
        for s in collections.user_collections(session, owner.id, public_only=not own)
    ]
