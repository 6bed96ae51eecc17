"""Loading the papers of a result page: lean queries for cards, full ORM objects for the API and feeds."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from paperfeed.db.models import Author, CodeLinkRow, Paper, PaperAuthor, PaperCategory

__all__ = ["load_papers"]

_AUTHOR, _CATEGORY = 0, 1


@cache
def _card_statements() -> tuple[Select[Paper], Select[CodeLinkRow], Any]:
    """The three queries of a result page, built once (`ids` and `max_authors` are bound per call)."""
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    # The model loads every relationship eagerly by default; a card needs the names only, and the links.
    papers = (
        select(Paper)
        .where(Paper.id.in_(ids))
        .options(lazyload(Paper.authors), lazyload(Paper.categories), lazyload(Paper.code_links))
    )
    links = select(CodeLinkRow).where(CodeLinkRow.paper_id.in_(ids)).order_by(CodeLinkRow.id)
    # Author and category names in one round trip: (paper id, kind, position, name).
    names = union_all(
        select(PaperAuthor.paper_id, literal(_AUTHOR).label("kind"), PaperAuthor.position, Author.name)
        .join(Author, Author.id == PaperAuthor.author_id)
        .where(PaperAuthor.paper_id.in_(ids), PaperAuthor.position < bindparam("max_authors")),
        select(
            PaperCategory.paper_id, literal(_CATEGORY), PaperCategory.position, PaperCategory.category
        ).where(PaperCategory.paper_id.in_(ids)),
    ).order_by("paper_id", "kind", "position")
    return papers, links, names


def load_papers(session: Session, ids: Sequence[int], *, max_authors: int | None = None) -> list[Paper]:
    """The papers of `ids` in that order (missing ids skipped), with categories, links and authors.

    With `max_authors` (result cards), only the names of the first authors and the category names are
    loaded, by one Core query, into `Paper.author_names` and `Paper.category_names`: building ORM objects
    for them (two per author) was most of a result page's cost, and the 0.2% of papers with hundreds of
    authors (up to 3,303) dominated the slowest searches. The code links are one plain query too (the
    relationship loader cost 0.3-0.5 ms a page more). `paper.authors` and `paper.categories` still load in
    full on access. Without `max_authors`, everything is loaded as ORM objects (the API, feeds).
    """
    if not ids:
        return []
    id_list = list(ids)
    if max_authors is None:
        stmt = (
            select(Paper)
            .where(Paper.id.in_(id_list))
            .options(
                selectinload(Paper.authors).joinedload(PaperAuthor.author),
                selectinload(Paper.categories),
                selectinload(Paper.code_links),
            )
        )
        found = {p.id: p for p in session.scalars(stmt)}
        return [found[i] for i in id_list if i in found]
    papers_stmt, links_stmt, names_stmt = _card_statements()
    found = {p.id: p for p in session.scalars(papers_stmt, {"ids": id_list})}
    if found:
        keys = list(found)
        links: dict[int, list[CodeLinkRow]] = {pid: [] for pid in keys}
        names: dict[int, tuple[list[str], list[str]]] = {pid: ([], []) for pid in keys}
        for link in session.scalars(links_stmt, {"ids": keys}):
            links[link.paper_id].append(link)
        for pid, kind, _, name in session.execute(names_stmt, {"ids": keys, "max_authors": max_authors}):
            names[pid][kind].append(name)
        for pid, paper in found.items():
            # As if the relationship had loaded them: no query on access, nothing to flush.
            set_committed_value(paper, "code_links", links[pid])
            paper.preloaded_author_names = names[pid][_AUTHOR]  # type: ignore[attr-defined]
            paper.preloaded_category_names = names[pid][_CATEGORY]  # type: ignore[attr-defined]
    return [found[i] for i in id_list if i in found]
