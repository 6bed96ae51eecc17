"""`paperfeed search` and `paperfeed reindex`, and the keyword sync that follows every ingest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.config import Settings
from paperfeed.feed import FeedError


def after_ingest(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Bring the keyword index up to date after an ingest (papers without vectors match by keyword)."""
    if not settings.search_sync_after_ingest:
        return
    from paperfeed.search.keyword import keyword_dir, search_settings
    from paperfeed.search.keyword_store import sync_keyword_index

    settings = search_settings(settings)
    try:
        n = sync_keyword_index(
            factory,
            keyword_dir(settings),
            title_boost=settings.search_title_boost,
            shard_docs=settings.search_shard_docs,
        )
    except OSError as exc:  # the papers are stored; a broken index directory must not fail the ingest
        console.print(f"[yellow]search index not updated:[/] {escape(str(exc))}", highlight=False)
        return
    console.print(f"search index: {n} paper{'s' if n != 1 else ''} indexed")


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def reindex(
    db: DbOpt = None,
    vectors: Annotated[
        bool,
        typer.Option("--vectors/--no-vectors", help="Also rebuild the HNSW file from stored vectors."),
    ] = True,
) -> None:
    """Rebuild the search indexes from the database (the database is the truth)."""
    from paperfeed.search.keyword import keyword_dir, search_settings
    from paperfeed.search.keyword_store import build_keyword_index

    settings = search_settings(settings_for(db))
    factory = ready(settings)
    with _progress("keyword index") as progress:
        task = progress.add_task("keyword", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        n = build_keyword_index(
            factory,
            keyword_dir(settings),
            progress=step,
            title_boost=settings.search_title_boost,
            shard_docs=settings.search_shard_docs,
        )
    console.print(f"keyword index: {n} papers in {keyword_dir(settings)}")
    if vectors:
        from paperfeed.search.vector_store import rebuild_vector_index

        with _progress("vector index") as progress:
            task = progress.add_task("vectors", total=None)
            index = rebuild_vector_index(
                factory, settings=settings, progress=lambda k: progress.advance(task, k)
            )
        console.print(f"vector index: {len(index)} vectors in {index.path}")


def search(
    query: Annotated[str, typer.Argument(help='Words, "a phrase", -excluded, an arXiv id or a title.')],
    db: DbOpt = None,
    mode: Annotated[str, typer.Option(help="hybrid, keyword or semantic.")] = "hybrid",
    limit: Annotated[int, typer.Option(help="Results to show (1-100).")] = 10,
    page: Annotated[int, typer.Option(help="Page, from 0.")] = 0,
    category: Annotated[str | None, typer.Option(help="Category (cs.CL) or archive (cs).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Listed on or after YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Listed on or before YYYY-MM-DD.")] = None,
    code: Annotated[
        bool | None, typer.Option("--code/--no-code", help="Only papers with/without code.")
    ] = None,
    window: Annotated[str | None, typer.Option(help="day, week or month before the latest listing.")] = None,
) -> None:
    """Search papers from the command line and print a table of results."""
    from paperfeed.search.keyword import keyword_dir, search_settings
    from paperfeed.search.keyword_store import current_generation, sync_keyword_index
    from paperfeed.search.service import create_search_service, request_from_params

    settings = search_settings(settings_for(db))
    factory = ready(settings)
    if current_generation(keyword_dir(settings)) is None:
        console.print("building the keyword index first (once)...")
        sync_keyword_index(
            factory,
            keyword_dir(settings),
            title_boost=settings.search_title_boost,
            shard_docs=settings.search_shard_docs,
        )
    service = create_search_service(settings, factory)
    try:
        req = request_from_params(
            q=query,
            mode=mode,
            category=category,
            date_from=from_,
            date_to=to,
            code=None if code is None else str(int(code)),
            window=window,
            page=page,
            limit=limit,
            count=True,
        )
        result = service.search(req)
    except FeedError as exc:
        console.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    for notice in result.notices:
        console.print(f"[yellow]{escape(notice)}[/]", highlight=False)
    total = "" if result.total is None else f"{result.total} results · "
    table = Table(title=f"{total}{result.mode} search for {query!r}", title_justify="left")
    for col, justify in (("#", "right"), ("score", "right"), ("found by", "left"), ("id", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("title", overflow="fold")
    table.add_column("listed")
    start = page * limit
    for i, entry in enumerate(result.entries, start + 1):
        paper = entry.paper
        table.add_row(
            str(i),
            f"{entry.hit.score:.4f}",
            "+".join(entry.hit.matched_by),
            escape(paper.arxiv_id or paper.key),
            escape(paper.title),
            paper.listing_date.isoformat() if paper.listing_date else "",
        )
    from rich.console import Console

    Console().print(table)  # results on stdout, messages on stderr


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    app.command("reindex")(reindex)
    app.command("search")(search)
