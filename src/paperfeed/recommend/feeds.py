"""The reader's private For-you feed: RSS 2.0 or Atom 1.0 of their week (built with text/feeds.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.paths import paper_path
from paperfeed.recommend.service import ForYouItem, for_you
from paperfeed.text import feeds
from paperfeed.text.feeds import FeedItem
from paperfeed.timeutil import as_utc

__all__ = ["feed_document", "reason_text"]


def reason_text(item: ForYouItem) -> str:
    """The item's reasons as one plain-text line ('Exploring: ...' for an exploration pick)."""
    if item.exploration:
        return "Exploring: trending, outside your usual topics."
    parts = [f"{r.verb[:1].upper()}{r.verb[1:]} “{r.title}”" for r in item.reasons]
    if item.terms:
        parts.append("shared terms: " + ", ".join(item.terms))
    return "; ".join(parts) + ("." if parts else "")


def _when(item: ForYouItem) -> datetime:
    paper = item.paper
    return as_utc(paper.published or paper.created_at)


def feed_document(
    session: Session,
    *,
    settings: Settings,
    user_id: int,
    fmt: str,
    self_url: str,
    now: datetime | None = None,
) -> str:
    """The reader's week as an RSS ("rss") or Atom ("atom") document; reasons lead each summary."""
    result = for_you(
        session,
        user_id=user_id,
        kind="week",
        until=None,
        now=now or datetime.now(UTC),
        limit=settings.for_you_feed_size,
        settings=settings,
    )
    base = settings.base_url.rstrip("/")
    items = [
        FeedItem(
            title=("[Exploring] " if i.exploration else "") + i.paper.title,
            link=base + paper_path(i.paper.key),
            published=_when(i),
            updated=as_utc(i.paper.updated or _when(i)),
            summary=reason_text(i) + "\n\n" + i.paper.abstract,
            authors=i.paper.author_names,
            categories=i.paper.category_names,
        )
        for i in result.items
    ]
    # Deterministic: the newest paper's date, not the clock (polling an unchanged list sees no change).
    updated = max((it.published for it in items), default=datetime(1970, 1, 1, tzinfo=UTC))
    title = f"{settings.site_name}: for you"
    link = base + "/for-you"
    if fmt == "rss":
        return feeds.rss_document(
            title=title,
            link=link,
            description="Papers ranked for one reader (private feed)",
            self_url=base + self_url,
            updated=updated,
            items=items,
        )
    return feeds.atom_document(
        title=title,
        link=link,
        self_url=base + self_url,
        updated=updated,
        author=settings.site_name,
        items=items,
    )
