"""`paperfeed ingest jsonl | hf | rss | arxiv | oai`: pull papers from a source into the database."""

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

from paperfeed.commands import search as commands_search
from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.config import Settings
from paperfeed.ingest.http import HttpError
from paperfeed.ingest.records import Item, SourceError
from paperfeed.ingest.store import IngestReport, store_records

ingest_app = typer.Typer(help="Pull papers from a source into the database.", no_args_is_help=True)


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
    factory = factory or ready(settings)
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
    commands_search.after_ingest(settings, factory)  # keep the keyword index fresh
    for err in report.errors[:20]:
        console.print(f"[yellow]rejected:[/] {err}", markup=True, highlight=False)
    if report.rejected > 20:
        console.print(f"... and {report.rejected - 20} more rejected records")
    return report


@ingest_app.command("jsonl")
def ingest_jsonl(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .jsonl.gz file")],
    db: DbOpt = None,
) -> None:
    """Ingest a JSONL dump (gzip or plain) in the arxiv-2025-94k format."""
    from paperfeed.ingest.jsonl import JsonlSource

    settings = settings_for(db)
    source = JsonlSource(path, max_line_bytes=settings.jsonl_max_line_bytes)
    _ingest_guarded(settings, source.records, source="jsonl", label=f"jsonl {path.name}")


@ingest_app.command("hf")
def ingest_hf(
    db: DbOpt = None,
    file: Annotated[Path | None, typer.Option(help="A saved daily_papers JSON response.")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Day to fetch (YYYY-MM-DD).")] = None,
) -> None:
    """Ingest Hugging Face daily papers, from a saved response or the live API."""
    from paperfeed.ingest.hf_daily import HfDailySource, hf_daily_url, parse_daily_papers
    from paperfeed.ingest.http import PoliteClient

    settings = settings_for(db)
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

    settings = settings_for(db)

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
    settings = settings_for(db)
    factory = ready(settings)
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

    settings = settings_for(db)
    factory = ready(settings)
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


def register(app: typer.Typer) -> None:
    """Add `paperfeed ingest ...` to the root Typer app."""
    app.add_typer(ingest_app, name="ingest")
