"""Harvest cursors: where an interrupted harvest resumes, one opaque string per (source, query) name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.models import HarvestCursor

__all__ = ["CursorStore", "Cursors"]


class Cursors(Protocol):
    """What a resumable source needs from a cursor store (CursorStore, or a dict-backed fake)."""

    def get(self, name: str) -> str | None:
        """The saved cursor, or None."""
        ...

    def set(self, name: str, cursor: str) -> None:
        """Save the cursor."""
        ...

    def clear(self, name: str) -> None:
        """Forget the cursor."""
        ...


class CursorStore:
    """Reads and writes HarvestCursor rows, each write in its own short transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        """Wrap a session factory; no connection is opened until the first call."""
        self._factory = session_factory

    def get(self, name: str) -> str | None:
        """The saved cursor for name, or None when the harvest has not started (or has finished)."""
        with self._factory() as session:
            return session.scalar(select(HarvestCursor.cursor).where(HarvestCursor.name == name))

    def set(self, name: str, cursor: str) -> None:
        """Save cursor for name (insert or update), committed at once so a crash right after keeps it."""
        now = datetime.now(UTC)
        with self._factory() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert: Any
            if dialect == "postgresql":
                insert = postgresql.insert
            elif dialect == "sqlite":
                insert = sqlite.insert
            else:  # pragma: no cover - only SQLite and PostgreSQL are supported deployments
                self._set_portable(session, name, cursor, now)
                return
            # A native upsert: two workers saving the same cursor cannot collide on the primary key.
            stmt = insert(HarvestCursor).values(name=name, cursor=cursor, updated_at=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=[HarvestCursor.name],
                set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
            )
            session.execute(stmt)

    @staticmethod
    def _set_portable(session: Session, name: str, cursor: str, now: datetime) -> None:
        row = session.get(HarvestCursor, name)
        if row is None:
            session.add(HarvestCursor(name=name, cursor=cursor, updated_at=now))
        else:
            row.cursor = cursor
            row.updated_at = now

    def clear(self, name: str) -> None:
        """Forget the cursor for name (the harvest finished); a missing name is fine."""
        with self._factory() as session, session.begin():
            session.execute(delete(HarvestCursor).where(HarvestCursor.name == name))
