"""Tables of community content: votes, comments, collections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId

__all__ = ["Base", "Collection", "CollectionItem", "Comment", "Vote"]


class Vote(Base):
    """One user's upvote of one paper; the primary key makes a second vote impossible."""

    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # The key leads with user_id; "votes of a paper" and the paper-delete cascade need their own index.
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Comment(Base):
    """A comment (or a reply, with parent_id) on a paper; body is Markdown source, rendered on display."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    # NULL after the author deleted their account: the thread keeps its shape, the name goes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def visible(self) -> bool:
        """False once deleted or hidden by a moderator (the row stays so replies keep their place)."""
        return self.deleted_at is None and self.hidden_at is None


class Collection(Base):
    """A user's named list of papers; private unless `public`."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("user_id", "slug", name="uq_collections_user_slug"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectionItem(Base):
    """A paper in a collection, with the owner's note."""

    __tablename__ = "collection_items"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
