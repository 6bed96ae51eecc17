"""Tables of digests (issue 4): subscriptions and their preferences."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
