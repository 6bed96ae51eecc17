"""Tables of ranking (issue 5): GitHub stars history and stored trending scores."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
