"""Tables of digest sending (issue 4): the send ledger and papers already sent."""

from __future__ import annotations

from paperfeed.db.models import Base

__all__ = ["Base"]
