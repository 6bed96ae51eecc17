"""Migrations: the same revisions run up, down and up again on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from paperfeed.db.migrate import downgrade, include_object_for, upgrade
from paperfeed.db.registry import metadata


def test_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": include_object_for(engine.dialect.name)}
        )
        diff = compare_metadata(ctx, metadata())
    assert diff == []


def test_down_and_up_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    names = set(inspect(engine).get_table_names())
    assert {"papers", "authors", "paper_authors", "paper_categories", "code_links", "submissions"} <= names
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("papers")}
    assert ("ix_papers_rank" in indexes) == (engine.dialect.name == "postgresql")
