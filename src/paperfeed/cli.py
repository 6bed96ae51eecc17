"""Command line: `paperfeed demo | serve | ingest ... | db upgrade`. Thin over the services."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.commands import community as commands_community
from paperfeed.commands import digests as commands_digests
from paperfeed.commands import ranking as commands_ranking
from paperfeed.commands import search as commands_search
from paperfeed.commands import sending as commands_sending
from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.http import HttpError
from paperfeed.ingest.records import Item, SourceError
from paperfeed.ingest.store import IngestReport, store_records

app = typer.Typer(help="paperfeed: a self-hosted hub for trending research papers.", no_args_is_help=True)
ingest_app = typer.Typer(help="Pull papers from a source into the database.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")

# Each capability's commands live in paperfeed/commands/<group>.py and register themselves here.
for _group in (commands_search, commands_digests, commands_sending, commands_community, commands_ranking):
    _group.register(app)

_settings = settings_for
_ready = ready


def _report_table(report: IngestReport, title: str) -> Table:
    table = Table(title=title)
    for col in ("new", "updated", "unchanged", "rejected"):
        table.add_column(col, justify="right")
    table.add_row(str(report.new), str(report.updated), str(report.unchanged), str(report.rejected))
    return table


def run_ingest(
    settings: Settings,
    items: Iterable[Item],
    *,
    label: str,
    total: int | None = None,
    factory: sessionmaker[Session] | None = None,
) -> IngestReport:
    """Store items with a progress bar and print the counts; rejected records are listed."""
    factory = factory or _ready(settings)
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("new {task.fields[new]} · updated {task.fields[upd]} · rejected {task.fields[rej]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total, new=0, upd=0, rej=0)
        running = IngestReport()

        def on_batch(report: IngestReport) -> None:
            running.add(report)
            progress.update(
                task, advance=report.seen, new=running.new, upd=running.updated, rej=running.rejected
            )

        report = store_records(
            factory,
            items,
            batch_size=settings.ingest_batch_size,
            on_batch=on_batch,
            workers=settings.ingest_workers,
        )
    console.print(_report_table(report, label))
    commands_search.after_ingest(settings, factory)  # keep the keyword index fresh (issue 3)
    for err in report.errors[:20]:
        console.print(f"[yellow]rejected:[/] {err}", markup=True, highlight=False)
    if report.rejected > 20:
        console.print(f"... and {report.rejected - 20} more rejected records")
    return report


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
    settings = _settings(db, **overrides)
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
    console.print(f"paperfeed on [bold]{settings.base_url}[/]")
    # Proxy headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default) and
    # hand the app a client address anyone can choose; the app reads the header itself, from
    # PAPERFEED_TRUSTED_PROXIES only (paperfeed.forwarded).
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="info", proxy_headers=False
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
    settings = _settings(db, demo=True, port=port, data_dir=Path(db).parent.resolve())
    if "trending_default_window" not in settings.model_fields_set:
        # The bundled papers with votes (Hugging Face's) are three weeks older than the newest listing:
        # the demo opens on the month so its landing page shows them.
        settings = settings.model_copy(update={"trending_default_window": "month"})
    factory = _ready(settings)
    if is_empty(factory):
        run_ingest(settings, demo_items(), label="demo papers", factory=factory)
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


@ingest_app.command("jsonl")
def ingest_jsonl(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .jsonl.gz file")],
    db: DbOpt = None,
) -> None:
    """Ingest a JSONL dump (gzip or plain) in the arxiv-2025-94k format."""
    from paperfeed.ingest.jsonl import JsonlSource

    settings = _settings(db)
    _ingest_guarded(settings, JsonlSource(path).records, source="jsonl", label=f"jsonl {path.name}")


@ingest_app.command("hf")
def ingest_hf(
    db: DbOpt = None,
    file: Annotated[Path | None, typer.Option(help="A saved daily_papers JSON response.")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Day to fetch (YYYY-MM-DD).")] = None,
) -> None:
    """Ingest Hugging Face daily papers, from a saved response or the live API."""
    from paperfeed.ingest.hf_daily import HfDailySource, hf_daily_url, parse_daily_papers
    from paperfeed.ingest.http import PoliteClient

    settings = _settings(db)
    when = date.fromisoformat(day) if day else None

    def items() -> Iterable[Item]:
        """The saved or fetched response's papers (read inside the guard, so failures are reported)."""
        if file:
            return HfDailySource.from_path(file).records()
        with PoliteClient.from_settings(settings) as client:
            payload = client.get(hf_daily_url(settings.hf_api_url, when)).content
        return parse_daily_papers(payload)

    _ingest_guarded(settings, items, source="hf", label="hf daily papers")


@ingest_app.command("rss")
def ingest_rss(
    db: DbOpt = None,
    file: Annotated[Path | None, typer.Option(help="A saved arXiv RSS file.")] = None,
    category: Annotated[str, typer.Option(help="arXiv category, e.g. cs.AI.")] = "cs.AI",
) -> None:
    """Ingest an arXiv RSS listing, from a saved file or the live feed."""
    from paperfeed.ingest.http import PoliteClient
    from paperfeed.ingest.rss import parse_arxiv_rss

    settings = _settings(db)

    def items() -> Iterable[Item]:
        """The saved or fetched feed's papers (read inside the guard, so failures are reported)."""
        if file:
            payload = file.read_bytes()
        else:
            with PoliteClient.from_settings(settings) as client:
                payload = client.get(f"{settings.arxiv_rss_url.rstrip('/')}/{category}").content
        return parse_arxiv_rss(payload)

    label = f"rss {file.name}" if file else f"rss {category}"
    _ingest_guarded(settings, items, source="rss", label=label)


@ingest_app.command("arxiv")
def ingest_arxiv(
    db: DbOpt = None,
    query: Annotated[
        str | None, typer.Option(help="arXiv search_query, e.g. 'cat:cs.CL AND ti:llm'.")
    ] = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="arXiv id (repeatable).")] = None,
    max_results: Annotated[int, typer.Option(help="Stop after this many results.")] = 1000,
) -> None:
    """Ingest from the arXiv API (Atom), politely paged and resumable."""
    from paperfeed.ingest.arxiv_api import ArxivApiSource
    from paperfeed.ingest.cursors import CursorStore
    from paperfeed.ingest.http import PoliteClient

    if not query and not ids:
        raise typer.BadParameter("give --query or at least one --id")
    settings = _settings(db)
    factory = _ready(settings)
    with PoliteClient.from_settings(settings) as client:
        source = ArxivApiSource(
            client=client,
            base_url=settings.arxiv_api_url,
            search_query=query,
            id_list=ids or None,
            max_results=max_results,
            cursors=CursorStore(factory),
        )
        _ingest_guarded(settings, source.records, source="arxiv", label="arxiv api", factory=factory)


@ingest_app.command("oai")
def ingest_oai(
    db: DbOpt = None,
    from_: Annotated[str | None, typer.Option("--from", help="From datestamp YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Until datestamp YYYY-MM-DD.")] = None,
    set_: Annotated[str | None, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th.")] = None,
) -> None:
    """Harvest arXiv OAI-PMH ListRecords (metadataPrefix=arXiv), resumable."""
    from paperfeed.ingest.cursors import CursorStore
    from paperfeed.ingest.http import PoliteClient
    from paperfeed.ingest.oai_pmh import OaiPmhSource

    settings = _settings(db)
    factory = _ready(settings)
    with PoliteClient.from_settings(settings) as client:
        source = OaiPmhSource(
            client=client,
            base_url=settings.arxiv_oai_url,
            from_date=from_,
            until=until,
            set_spec=set_,
            cursors=CursorStore(factory),
        )
        _ingest_guarded(settings, source.records, source="oai", label="oai-pmh", factory=factory)


# Failures of a whole source: an unusable payload, the network giving up, an unreadable file. Anything
# else is a bug and keeps its traceback.
_SOURCE_FAILURES = (SourceError, HttpError, httpx.HTTPError, OSError)


class _Guard:
    """Runs a source lazily so a source-level failure (malformed feed, network gave up) ends the stream
    cleanly: everything read before it is still stored, then the failure is reported."""

    def __init__(self, make_items: Callable[[], Iterable[Item]], source: str) -> None:
        self.make_items = make_items
        self.source = source
        self.failure: Exception | None = None

    def __iter__(self) -> Iterator[Item]:
        try:
            # Opening the source happens here too: parsers check the whole payload when first called.
            yield from self.make_items()
        except _SOURCE_FAILURES as exc:
            self.failure = exc

    def message(self) -> str | None:
        """The failure naming the source (a SourceError already does), or None."""
        if self.failure is None:
            return None
        if isinstance(self.failure, SourceError):
            return str(self.failure)
        return f"{self.source}: {self.failure}"


def _ingest_guarded(
    settings: Settings,
    make_items: Callable[[], Iterable[Item]],
    *,
    source: str,
    label: str,
    factory: sessionmaker[Session] | None = None,
) -> None:
    guard = _Guard(make_items, source)
    report = run_ingest(settings, guard, label=label, factory=factory)
    message = guard.message()
    if message is not None:
        # Payload text may hold [brackets] that rich would read as markup.
        console.print(f"[red]{escape(message)}[/]", highlight=False)
        console.print("records read before the failure were stored; re-run to resume")
        raise typer.Exit(2)
    _exit(report)


def _exit(report: IngestReport) -> None:
    # Exit 1 when records were rejected so scripts notice; the good records are stored regardless.
    if report.rejected:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Apply all migrations (idempotent)."""
    settings = _settings(db)
    upgrade(make_engine(settings))
    console.print("database is up to date")


def main() -> None:
    """Entry point of the `paperfeed` script."""
    app(prog_name="paperfeed")


if __name__ == "__main__":
    main()
