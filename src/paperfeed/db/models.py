"""The data model (typed SQLAlchemy 2). The database is the single source of truth."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Paper(Base):
    """A paper; one row per arXiv id (the newest version wins), or per title when it has no id."""

    __tablename__ = "papers"
    # PostgreSQL only: the listing views sort a month of papers by these columns; a covering index lets it
    # read them without visiting the table (SQLite's rowid lookups are already cheap).
    __table_args__ = (
        Index("ix_papers_rank", "id", postgresql_include=["upvotes", "published", "arxiv_id"]).ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # arXiv id, or "t:<title hash>"
    arxiv_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    primary_category: Mapped[str | None] = mapped_column(String(64), index=True)
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    listing_date: Mapped[date | None] = mapped_column(Date, index=True)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    project_page: Mapped[str | None] = mapped_column(Text)
    upvotes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # from the source (HF)
    vote_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # paperfeed users' votes
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # paperfeed's
    # Comments counted by the source (Hugging Face), owned by it like upvotes; totals add comment_count.
    source_comments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    authors: Mapped[list[PaperAuthor]] = relationship(
        order_by="PaperAuthor.position", cascade="all, delete-orphan", lazy="selectin"
    )
    categories: Mapped[list[PaperCategory]] = relationship(
        order_by="PaperCategory.position", cascade="all, delete-orphan", lazy="selectin"
    )
    code_links: Mapped[list[CodeLinkRow]] = relationship(
        order_by="CodeLinkRow.id", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def abs_url(self) -> str | None:
        """The arXiv abstract page."""
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        """The arXiv PDF (newest version)."""
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def author_names(self) -> list[str]:
        """Author names in paper order (only the first few when a result page preloaded them)."""
        # search.cards.load_papers sets this plain attribute for result cards: two ORM objects per author
        # were most of the cost of a search page.
        preloaded: list[str] | None = self.__dict__.get("preloaded_author_names")
        if preloaded is not None:
            return preloaded
        return [pa.author.name for pa in self.authors]

    @property
    def category_names(self) -> list[str]:
        """Categories, primary first."""
        preloaded: list[str] | None = self.__dict__.get("preloaded_category_names")  # see author_names
        if preloaded is not None:
            return preloaded
        return [c.category for c in self.categories]


class Author(Base):
    """An author name (names are not disambiguated: arXiv has no author ids)."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)


class PaperAuthor(Base):
    """An author's place on a paper's byline."""

    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)

    author: Mapped[Author] = relationship(lazy="joined")


class PaperCategory(Base):
    """A category of a paper; position 0 is the primary one."""

    __tablename__ = "paper_categories"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), index=True)


class CodeLinkRow(Base):
    """A code/artefact link of a paper, normalised (see text/code_links.py)."""

    __tablename__ = "code_links"
    __table_args__ = (UniqueConstraint("paper_id", "url", name="uq_code_links_paper_url"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(32))
    stars: Mapped[int | None] = mapped_column(Integer)


# submissions.source of a paper a user submitted to a day's list (every other source is an ingest).
USER_SOURCE = "user"


class Submission(Base):
    """When (and by whom) a paper entered the daily feed; one per paper and listing day."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("paper_id", "day", name="uq_submissions_paper_day"),
        Index("ix_submissions_day_paper", "day", "paper_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(255))  # HF user, or None for arXiv listings
    submitter_fullname: Mapped[str | None] = mapped_column(String(255))  # display name, as HF sends it
    source: Mapped[str] = mapped_column(String(32))

    paper: Mapped[Paper] = relationship(lazy="joined")


class HarvestCursor(Base):
    """Where an interrupted harvest resumes: one opaque cursor per (source, query)."""

    __tablename__ = "harvest_cursors"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Core tables, for bulk statements that bypass the ORM (ingest).
PAPERS: Table = Paper.__table__  # type: ignore[assignment]
AUTHORS: Table = Author.__table__  # type: ignore[assignment]
PAPER_AUTHORS: Table = PaperAuthor.__table__  # type: ignore[assignment]
PAPER_CATEGORIES: Table = PaperCategory.__table__  # type: ignore[assignment]
CODE_LINKS: Table = CodeLinkRow.__table__  # type: ignore[assignment]
SUBMISSIONS: Table = Submission.__table__  # type: ignore[assignment]
