"""The tantivy keyword index: where it lives, its schema, and the documents and rows it is made of.

Writing it (generations, shards, full build, sync) is search/keyword_store.py; reading it is
search/keyword_index.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session

from paperfeed.db.models import Author, CodeLinkRow, Paper, PaperAuthor, PaperCategory
from paperfeed.search.locations import index_root
from paperfeed.search.query import NAME_TOKENIZER, TEXT_TOKENIZER, name_analyzer, text_analyzer, title_key

if TYPE_CHECKING:
    from paperfeed.config import Settings

__all__ = [
    "CODE_KINDS",
    "IndexRow",
    "build_schema",
    "day_number",
    "ids_query",
    "keyword_dir",
    "load_rows",
    "paper_document",
    "register_tokenizers",
    "rows_after",
    "search_settings",
]


SCHEMA_VERSION = 2  # bump when documents change: an older index is rebuilt on the next sync
F_ID, F_TEXT, F_ARXIV, F_TITLE, F_CATEGORY, F_DAY, F_CODE = (
    "id",
    "text",
    "arxiv",
    "title_key",
    "category",
    "day",
    "has_code",
)
# Links that make a paper count as "has code" (a project page or a Papers with Code page does not).
CODE_KINDS = ("github", "gitlab", "bitbucket", "codeberg", "huggingface", "zenodo")
CHUNK = 2000
EPOCH = date(1970, 1, 1)


def keyword_dir(settings: Settings) -> Path:
    """The index root: search_dir, or this database's index folder (search/locations.py)."""
    if settings.search_dir:
        return Path(settings.search_dir)
    return index_root(settings) / "keyword"


def search_settings(settings: Settings) -> Settings:
    """`settings`, with data_dir next to the SQLite file when it was not set explicitly.

    `paperfeed ingest --db var/x.db` must not drop index files in the current directory: the derived
    indexes live beside the database they derive from, as the design says.
    """
    if "data_dir" in settings.model_fields_set or not settings.is_sqlite:
        return settings
    path = make_url(settings.database_url).database
    if not path or path == ":memory:":
        return settings
    return settings.model_copy(update={"data_dir": Path(path).resolve().parent})


def day_number(day: date) -> int:
    """A date as days since 1970-01-01 (the index stores listing dates this way)."""
    return (day - EPOCH).days


def build_schema() -> tantivy.Schema:
    """One scored text field (title x boost + authors + abstract), and exact/fast fields for filters."""
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field(F_ID, indexed=True, fast=True)
    sb.add_text_field(F_TEXT, tokenizer_name=TEXT_TOKENIZER, index_option="position")
    sb.add_text_field(F_ARXIV, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(F_TITLE, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(F_CATEGORY, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field(F_DAY, indexed=True, fast=True)
    sb.add_boolean_field(F_CODE, indexed=True, fast=True)
    return sb.build()


def ids_query(schema: tantivy.Schema, ids: Sequence[int]) -> tantivy.Query:
    """Documents whose paper id is one of `ids`.

    An OR of term queries, not term_set_query: at 1M papers the set query cost 3 ms for 100 ids (it walks
    the id dictionary), the OR 0.4 ms.
    """
    unique = dict.fromkeys(ids)
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(schema, F_ID, i)) for i in unique]
    )


def register_tokenizers(index: tantivy.Index) -> tantivy.Index:
    index.register_tokenizer(TEXT_TOKENIZER, text_analyzer())
    index.register_tokenizer(NAME_TOKENIZER, name_analyzer())
    return index


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the index stores of one paper."""

    id: int
    arxiv_id: str | None
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    listing_date: date | None
    has_code: bool


def paper_document(row: IndexRow, *, title_boost: int = 2) -> tantivy.Document:
    """The tantivy document of a paper."""
    doc = tantivy.Document()
    doc.add_unsigned(F_ID, row.id)
    # Repeating the title weights its words without a BoostQuery, which would disable block-max WAND.
    for _ in range(title_boost):
        doc.add_text(F_TEXT, row.title)
    if row.authors:
        doc.add_text(F_TEXT, ", ".join(row.authors))  # one value, not one per name: 10x fewer calls
    doc.add_text(F_TEXT, row.abstract)
    if row.arxiv_id:
        doc.add_text(F_ARXIV, row.arxiv_id)
    key = title_key(row.title)
    if key:
        doc.add_text(F_TITLE, key)
    seen: set[str] = set()
    for cat in row.categories:
        # "cs.CL" also files the paper under its archive "cs", so a filter can name either (any case).
        for value in (cat.lower(), cat.split(".", 1)[0].lower()):
            if value not in seen:
                seen.add(value)
                doc.add_text(F_CATEGORY, value)
    if row.listing_date is not None:
        doc.add_integer(F_DAY, day_number(row.listing_date))
    doc.add_boolean(F_CODE, row.has_code)
    return doc


def _rows(session: Session, papers: Sequence[Any], where: Callable[[Any], Any]) -> list[IndexRow]:
    """Attach authors, categories and code flags to paper tuples; `where` restricts child tables."""
    if not papers:
        return []
    authors: dict[int, list[str]] = {}
    stmt = (
        select(PaperAuthor.paper_id, Author.name)
        .join(Author, Author.id == PaperAuthor.author_id)
        .where(where(PaperAuthor.paper_id))
        .order_by(PaperAuthor.paper_id, PaperAuthor.position)
    )
    conn = session.connection()  # Core rows: the ORM's result processing doubled the cost of a build
    for pid, name in conn.execute(stmt).all():
        authors.setdefault(pid, []).append(name)
    cats: dict[int, list[str]] = {}
    stmt_c = (
        select(PaperCategory.paper_id, PaperCategory.category)
        .where(where(PaperCategory.paper_id))
        .order_by(PaperCategory.paper_id, PaperCategory.position)
    )
    for pid, cat in conn.execute(stmt_c).all():
        cats.setdefault(pid, []).append(cat)
    code = set(
        conn.scalars(
            select(CodeLinkRow.paper_id)
            .where(where(CodeLinkRow.paper_id), CodeLinkRow.kind.in_(CODE_KINDS))
            .distinct()
        )
    )
    return [
        IndexRow(
            id=p.id,
            arxiv_id=p.arxiv_id,
            title=p.title,
            abstract=p.abstract,
            authors=tuple(authors.get(p.id, ())),
            categories=tuple(cats.get(p.id, ())),
            listing_date=p.listing_date,
            has_code=p.id in code,
        )
        for p in papers
    ]


_PAPER_COLS = (Paper.id, Paper.arxiv_id, Paper.title, Paper.abstract, Paper.listing_date)


def load_rows(session: Session, ids: Iterable[int]) -> list[IndexRow]:
    """Index rows of the given paper ids (unknown ids are skipped), a few queries per chunk."""
    out: list[IndexRow] = []
    id_list = sorted(set(ids))
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        papers = session.connection().execute(select(*_PAPER_COLS).where(Paper.id.in_(chunk))).all()
        out.extend(_rows(session, papers, lambda col, c=chunk: col.in_(c)))  # type: ignore[misc]
    return out


def rows_after(session: Session, after: int, limit: int) -> list[IndexRow]:
    """The next `limit` papers by id after `after` (keyset paging, ranges instead of IN lists)."""
    papers = (
        session.connection()
        .execute(select(*_PAPER_COLS).where(Paper.id > after).order_by(Paper.id).limit(limit))
        .all()
    )
    if not papers:
        return []
    lo, hi = papers[0].id, papers[-1].id
    return _rows(session, papers, lambda col: col.between(lo, hi))
