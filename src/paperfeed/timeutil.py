"""Timezone helpers shared by every layer (no paperfeed imports)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """The same moment as a UTC-aware datetime (a naive value is taken to be UTC)."""
    # SQLite hands timezone-aware columns back as naive datetimes; paperfeed stores every timestamp in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (a naive value is taken to be UTC), or None."""
    return None if moment is None else as_utc(moment).isoformat()
