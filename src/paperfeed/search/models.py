"""Tables of the search service: stored embeddings, the truth the vector index is derived from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId

__all__ = ["Base", "PaperVector"]


class PaperVector(Base):
    """The embedding of one paper's title + abstract.

    `vector` is little-endian float16 (768 bytes for 384 dimensions): half of float32, and the HNSW index
    stores f16 or i8 anyway; the rounding moves a cosine by ~1e-4 at most, far below what changes a ranking.
    `content_hash` is the hash of the exact text embedded: a changed title or abstract makes the row stale.
    """

    __tablename__ = "paper_vectors"

    paper_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(32))
    # papers.content_hash when this row was checked: a cheap SQL test for "the paper changed since"; the
    # text hash above then decides whether the change touched the embedded text (authors-only edits don't).
    paper_hash: Mapped[str] = mapped_column(String(32))
    # The vector index syncs "rows created after my cursor"; re-embedding a paper refreshes this.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
