"""Collections: a user's named lists of papers with a note per paper, public or private.

Writes check ownership inside their transaction. Reads answer "not found" for a private collection seen by
anyone but its owner, so its existence does not leak. Exports (BibTeX, JSON, RSS 2.0) live in
community/exports.py as pure functions over the entries read here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from paperfeed.accounts.models import User
from paperfeed.community.models import Collection, CollectionItem
from paperfeed.db.models import Paper, PaperAuthor
from paperfeed.errors import Conflict, NotFound, UserError

__all__ = [
    "Entry",
    "Summary",
    "add_paper",
    "containing",
    "create_collection",
    "delete_collection",
    "entries",
    "find_collection",
    "remove_paper",
    "slugify",
    "update_collection",
    "user_collections",
]

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
_SLUG_MAX = 80


@dataclass(frozen=True, slots=True)
class Entry:
    """A paper in a collection, with the owner's note and when it was added."""

    paper: Paper
    note: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Summary:
    """A collection with its owner's name and how many papers it holds."""

    collection: Collection
    owner: str
    size: int


def slugify(name: str) -> str:
    """A URL-safe slug from a name: 'Reading list: LLMs & RAG' -> 'reading-list-llms-rag'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "collection"


def _text(value: str, what: str, limit: int, *, required: bool = False) -> str:
    text = " ".join(value.split()) if what == "name" else value.replace("\r\n", "\n").strip()
    if required and not text:
        raise UserError(f"a collection needs a {what}")
    if len(text) > limit:
        raise UserError(f"the {what} can be at most {limit} characters")
    if not text.replace("\n", "").isprintable():
        raise UserError(f"the {what} contains control characters")
    return text


def _own(session: Session, user_id: int, collection_id: int) -> Collection:
    found = session.get(Collection, collection_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"you have no collection with id {collection_id}")
    return found


def _insert_within_cap(session: Session, values: dict[str, object], cap: int) -> int | None:
    """Insert a collection unless its owner already has `cap`; the new id, or None when they have.

    The count and the insert are one statement: SQLite runs it under its single writer lock, so no
    concurrent create slips in between. PostgreSQL's statements see what was committed when they
    started, so there the owner's user row is locked first and one user's creates take turns.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == values["user_id"]).with_for_update())
    owned = (
        select(func.count())
        .select_from(Collection)
        .where(Collection.user_id == values["user_id"])
        .scalar_subquery()
    )
    columns = Collection.__table__.c
    row = select(*(literal(v, type_=columns[k].type).label(k) for k, v in values.items())).where(owned < cap)
    stmt = insert(Collection).from_select(list(values), row).returning(Collection.id)
    return session.execute(stmt).scalar()


def create_collection(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    name: str,
    description: str = "",
    public: bool = False,
    max_per_user: int = 100,
    now: datetime | None = None,
) -> Collection:
    """Create a collection; its slug comes from the name, made unique among the user's collections.

    A user with `max_per_user` collections already is refused (UserError), even by concurrent creates.
    """
    clean = _text(name, "name", MAX_NAME, required=True)
    about = _text(description, "description", MAX_DESCRIPTION)
    base = slugify(clean)
    for _attempt in range(3):  # a concurrent create may take the slug we picked; pick again
        with factory() as session:
            taken = set(
                session.scalars(
                    select(Collection.slug).where(
                        Collection.user_id == user_id,
                        (Collection.slug == base) | Collection.slug.like(base + "-%"),
                    )
                )
            )
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        values: dict[str, object] = {
            "user_id": user_id,
            "name": clean,
            "slug": slug,
            "public": public,
            "description": about,
            "created_at": now or datetime.now(UTC),
        }
        try:
            with factory() as session, session.begin():
                made = _insert_within_cap(session, values, max_per_user)
                if made is None:
                    raise UserError(
                        f"you have {max_per_user} collections, the most one account can have: "
                        "delete one to make another"
                    )
                row = session.get_one(Collection, made)
            return row
        except IntegrityError:
            continue
    raise Conflict("could not pick a free address for this collection; try another name")


def update_collection(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    collection_id: int,
    name: str | None = None,
    description: str | None = None,
    public: bool | None = None,
) -> Collection:
    """Rename, describe or publish/unpublish a collection (the slug stays, so links keep working)."""
    with factory() as session, session.begin():
        row = _own(session, user_id, collection_id)
        if name is not None:
            row.name = _text(name, "name", MAX_NAME, required=True)
        if description is not None:
            row.description = _text(description, "description", MAX_DESCRIPTION)
        if public is not None:
            row.public = public
        return row


def delete_collection(factory: sessionmaker[Session], *, user_id: int, collection_id: int) -> None:
    """Delete a collection and its entries (not the papers)."""
    with factory() as session, session.begin():
        session.delete(_own(session, user_id, collection_id))


def add_paper(
    factory: sessionmaker[Session],
    *,
    user_id: int,
    collection_id: int,
    paper_id: int,
    note: str | None = None,
    max_items: int = 5000,
    now: datetime | None = None,
) -> bool:
    """Put a paper in a collection (True when newly added); again only updates the note, if one is given."""
    text = _text(note, "note", MAX_NOTE) if note is not None else None
    with factory() as session, session.begin():
        _own(session, user_id, collection_id)
        if session.get(Paper, paper_id) is None:
            raise NotFound(f"no paper with id {paper_id}")
        item = session.get(CollectionItem, (collection_id, paper_id))
        if item is not None:
            if text is not None:
                item.note = text
            return False
        size = session.scalar(
            select(func.count())
            .select_from(CollectionItem)
            .where(CollectionItem.collection_id == collection_id)
        )
        if (size or 0) >= max_items:
            raise UserError(f"a collection can hold at most {max_items} papers")
        session.add(
            CollectionItem(
                collection_id=collection_id,
                paper_id=paper_id,
                note=text or "",
                added_at=now or datetime.now(UTC),
            )
        )
    return True


def remove_paper(factory: sessionmaker[Session], *, user_id: int, collection_id: int, paper_id: int) -> None:
    """Take a paper out of a collection (harmless when it is not in it)."""
    with factory() as session, session.begin():
        _own(session, user_id, collection_id)
        session.execute(
            delete(CollectionItem).where(
                CollectionItem.collection_id == collection_id, CollectionItem.paper_id == paper_id
            )
        )


def _sizes(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    stmt = (
        select(CollectionItem.collection_id, func.count())
        .where(CollectionItem.collection_id.in_(ids))
        .group_by(CollectionItem.collection_id)
    )
    return {cid: int(n) for cid, n in session.execute(stmt)}


def user_collections(session: Session, user_id: int, *, public_only: bool) -> list[Summary]:
    """A user's collections, newest first, with sizes; only the public ones unless public_only is False."""
    stmt = (
        select(Collection, User.username)
        .join(User, User.id == Collection.user_id)
        .where(Collection.user_id == user_id)
        .order_by(Collection.created_at.desc(), Collection.id.desc())
    )
    if public_only:
        stmt = stmt.where(Collection.public.is_(True))
    rows = session.execute(stmt).all()
    sizes = _sizes(session, [c.id for c, _ in rows])
    return [Summary(c, owner, sizes.get(c.id, 0)) for c, owner in rows]


def find_collection(session: Session, username: str, slug: str, *, viewer_id: int | None) -> Summary:
    """The collection at /u/{username}/c/{slug}; a private one is 'not found' to all but its owner."""
    row = session.execute(
        select(Collection, User.username)
        .join(User, User.id == Collection.user_id)
        .where(User.username == username, Collection.slug == slug)
    ).first()
    if row is None or (not row[0].public and row[0].user_id != viewer_id):
        raise NotFound(f"no collection {slug!r} by {username!r}")
    collection, owner = row
    return Summary(collection, owner, _sizes(session, [collection.id]).get(collection.id, 0))


def entries(session: Session, collection_id: int) -> list[Entry]:
    """The papers of a collection, most recently added first, with authors loaded."""
    stmt = (
        select(CollectionItem, Paper)
        .join(Paper, Paper.id == CollectionItem.paper_id)
        .where(CollectionItem.collection_id == collection_id)
        .order_by(CollectionItem.added_at.desc(), Paper.id.desc())
        .options(
            selectinload(Paper.authors).joinedload(PaperAuthor.author),
            selectinload(Paper.categories),
            selectinload(Paper.code_links),
        )
    )
    return [Entry(paper, item.note, item.added_at) for item, paper in session.execute(stmt)]


def containing(session: Session, user_id: int, paper_id: int) -> set[int]:
    """Ids of the user's collections that hold the paper (to mark them on the paper page)."""
    stmt = (
        select(CollectionItem.collection_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id, CollectionItem.paper_id == paper_id)
    )
    return set(session.scalars(stmt))
