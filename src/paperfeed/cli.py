"""Command line: `paperfeed demo | serve | db upgrade`, and each capability's group from commands/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperfeed.commands import community as commands_community
from paperfeed.commands import digests as commands_digests
from paperfeed.commands import ingest as commands_ingest
from paperfeed.commands import pipeline as commands_pipeline
from paperfeed.commands import ranking as commands_ranking
from paperfeed.commands import search as commands_search
from paperfeed.commands import sending as commands_sending
from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine
from paperfeed.db.migrate import upgrade

app = typer.Typer(help="paperfeed: a self-hosted hub for trending research papers.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Each capability's commands live in paperfeed/commands/<group>.py and register themselves here.
for _group in (
    commands_ingest,
    commands_search,
    commands_digests,
    commands_sending,
    commands_community,
    commands_ranking,
    commands_pipeline,
):
    _group.register(app)


@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
) -> None:
    """Serve the web UI, JSON API and feeds (migrates the database first)."""
    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = settings_for(db, **overrides)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()  # the app builds its own engine
    _serve(settings)


def served_settings(settings: Settings) -> Settings:
    """Settings for serving: links in feeds and the API follow --host/--port unless base_url was set."""
    if "base_url" in settings.model_fields_set:
        return settings
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    return settings.model_copy(update={"base_url": f"http://{host}:{settings.port}"})


def _serve(settings: Settings) -> None:
    import uvicorn

    from paperfeed.app import create_app

    settings = served_settings(settings)
    if "search_maintainer" not in settings.model_fields_set:
        # A server keeps its search indexes in sync unless told not to (tests build apps without it).
        settings = settings.model_copy(update={"search_maintainer": True})
    from paperfeed.logs import configure_logging

    configure_logging(settings.log_format)
    console.print(f"paperfeed on [bold]{settings.base_url}[/]")
    # Proxy headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default) and
    # hand the app a client address anyone can choose; the app reads the header itself, from
    # PAPERFEED_TRUSTED_PROXIES only (paperfeed.forwarded).
    # log_config=None: uvicorn's loggers go through our handler (JSON when asked); its access log is off
    # because ObserveMiddleware writes one with the request id. On SIGTERM uvicorn stops accepting, lets
    # in-flight requests finish for shutdown_grace_s, then runs the lifespan exit (jobs stop at a safe point).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
    )


@app.command()
def demo(
    db: Annotated[str, typer.Option("--db", help="SQLite file for the demo.")] = "var/demo.db",
    port: Annotated[int, typer.Option(help="Listen port.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the demo data, then exit.")] = False,
) -> None:
    """Create a SQLite database filled with the bundled real papers (first run only) and serve it."""
    from paperfeed.ingest.demo import demo_items, is_empty

    Path(db).parent.mkdir(parents=True, exist_ok=True)
    settings = settings_for(db, demo=True, port=port, data_dir=Path(db).parent.resolve())
    if "trending_default_window" not in settings.model_fields_set:
        # The bundled papers with votes (Hugging Face's) are three weeks older than the newest listing:
        # the demo opens on the month so its landing page shows them.
        settings = settings.model_copy(update={"trending_default_window": "month"})
    factory = ready(settings)
    if is_empty(factory):
        commands_ingest.run_ingest(settings, demo_items(), label="demo papers", factory=factory)
    else:
        console.print(f"demo database {db} already filled; delete it to reload")
    if not no_serve:
        from paperfeed.digests.outbox import start_demo_sink

        # Mail goes to a local SMTP sink; what it catches is listed at /dev/outbox.
        sink, settings = start_demo_sink(settings)
        try:
            _serve(settings)
        finally:
            sink.stop()


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Apply all migrations (idempotent)."""
    settings = settings_for(db)
    upgrade(make_engine(settings))
    console.print("database is up to date")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="A new folder to write the backup into.")],
    db: DbOpt = None,
) -> None:
    """Back up the database consistently while it serves (SQLite backup API or pg_dump), with the key."""
    from datetime import UTC, datetime

    from paperfeed.db.migrate import head_revision
    from paperfeed.ops.backup import backup

    settings = settings_for(db)
    info = backup(
        settings.database_url,
        path,
        secret_path=None if settings.secret_key else Path(settings.data_dir) / "secret.key",
        revision=head_revision(),
        now=datetime.now(UTC),
    )
    console.print(f"backup of {info.dialect} written to {info.path} (secret key: {info.with_secret})")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A folder written by `paperfeed db backup`.")],
    db: DbOpt = None,
    reindex: Annotated[bool, typer.Option(help="Rebuild the search indexes after restoring.")] = True,
) -> None:
    """Restore a backup into an empty database, migrate it, and rebuild the search indexes."""
    from paperfeed.ops.backup import restore

    settings = settings_for(db)
    info = restore(
        path,
        settings.database_url,
        secret_path=None if settings.secret_key else Path(settings.data_dir) / "secret.key",
    )
    upgrade(make_engine(settings))
    console.print(f"restored the {info.dialect} backup of {info.created_at}")
    if reindex:
        commands_search.reindex(db=db, vectors=True)


def main() -> None:
    """Entry point of the `paperfeed` script."""
    app(prog_name="paperfeed")


if __name__ == "__main__":
    main()
