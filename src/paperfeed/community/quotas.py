"""Per-user quotas on writes that cost others something: submissions (each may call arXiv) and comments."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts import ratelimit
from paperfeed.config import Settings

__all__ = ["spend"]


def spend(factory: sessionmaker[Session], settings: Settings, *, action: str, user_id: int) -> None:
    """Count one `action` ("submit" or "comment") for the user; RateLimited once the quota is used up."""
    quota = settings.submission_limit_user if action == "submit" else settings.comment_limit_user
    limit = ratelimit.Limit(f"{action}:user:{user_id}", quota, settings.rate_limit_window_s)
    ratelimit.spend_now(factory, [limit])  # counted before the write it pays for: a burst gets `quota`
