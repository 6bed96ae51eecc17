"""Alembic environment: runs on the engine handed over by paperfeed.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from paperfeed.db.migrate import include_object_for
from paperfeed.db.registry import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `paperfeed db upgrade` (paperfeed.db.migrate)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=engine.dialect.name == "sqlite",  # SQLite needs batch mode for ALTERs
        include_object=include_object_for(engine.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
