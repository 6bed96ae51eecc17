"""What every CLI command group shares: the --db option, settings, a migrated session factory, the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings, load_settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade

console = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL or SQLite file path.")]


def settings_for(db: str | None, **overrides: object) -> Settings:
    """Settings from the environment, with --db (a URL or a SQLite path) on top."""
    if db:
        overrides["database_url"] = db if "://" in db else f"sqlite:///{Path(db).resolve()}"
    return load_settings(**overrides)


def ready(settings: Settings) -> sessionmaker[Session]:
    """Engine + migrations (idempotent) + a session factory."""
    engine = make_engine(settings)
    upgrade(engine)
    return make_sessionmaker(engine)
