"""Tables of the search service (issue 3): stored embeddings."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
