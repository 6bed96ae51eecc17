"""Tables of community content (issue 5): votes, comments, collections."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
