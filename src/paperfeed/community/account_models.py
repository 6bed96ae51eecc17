"""Tables of accounts (issue 5): users, sessions, API tokens, rate-limit counters."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
