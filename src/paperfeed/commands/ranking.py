"""`paperfeed rank` and `paperfeed stars`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.ranking.trending import WINDOWS

WindowOpt = Annotated[
    str | None, typer.Option("--window", help="day, week or month (default: all three).", show_default=False)
]


def rank(
    db: DbOpt = None,
    window: WindowOpt = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Show the N best papers of each window.")] = 10,
) -> None:
    """Recompute and store the trending scores of every paper (see docs/trending.md)."""
    from paperfeed.ranking import service

    if window is not None and window not in WINDOWS:
        raise typer.BadParameter(f"expected one of {', '.join(WINDOWS)}", param_hint="--window")
    settings = settings_for(db)
    factory = ready(settings)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    written = service.recompute(factory, settings=settings, now=now, window=window)
    console.print(f"stored {written:,} trending scores in {time.perf_counter() - t0:.2f} s")
    if top <= 0:
        return
    with factory() as session:
        for win in (window,) if window else WINDOWS:
            page = service.ranked_page(session, settings=settings, window=win, now=now, limit=top)
            if page.until is None:
                console.print("no listed papers yet")
                return
            table = Table(title=f"Trending, {win} ending {page.until} ({page.total:,} papers)")
            for col in ("#", "paper", "score", "votes", "comments", "stars", "★ gained", "title"):
                table.add_column(col, justify="left" if col in ("paper", "title") else "right")
            for item in page.items:
                table.add_row(
                    str(item.rank),
                    item.paper.key,
                    f"{item.score:.3f}",
                    f"{item.votes:.3f}",
                    f"{item.comments:.3f}",
                    f"{item.stars:.3f}",
                    str(item.stars_gained),
                    escape(item.paper.title[:60]),
                )
            console.print(table)


def stars(
    db: DbOpt = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=0, help="Fetch at most N repositories (the stalest first)."),
    ] = None,
) -> None:
    """Refresh GitHub stars of papers' repositories (PAPERFEED_GITHUB_TOKEN raises the rate limit)."""
    from paperfeed.ranking.stars import refresh_stars

    settings = settings_for(db)
    factory = ready(settings)

    def show(repo: str, status: str) -> None:
        console.print(f"  {escape(repo)}: {escape(status)}", highlight=False)

    report = refresh_stars(factory, settings=settings, limit=limit, on_repo=show)
    table = Table(title="GitHub stars refresh")
    table.add_column("result")
    table.add_column("repositories", justify="right")
    table.add_row("fetched (new count)", str(report.fetched))
    table.add_row("not modified (304, free)", str(report.not_modified))
    table.add_row("skipped (fetched recently)", str(report.skipped))
    table.add_row("failed", str(len(report.failed)))
    console.print(table)
    for repo, reason in report.failed[:20]:
        console.print(f"[yellow]failed[/] {escape(repo)}: {escape(reason)}", highlight=False)
    if report.remaining is not None:
        console.print(f"GitHub rate limit remaining: {report.remaining}")
    if report.rate_limited:
        console.print(f"[yellow]stopped early:[/] {escape(report.rate_limited)}; the next run resumes")
        raise typer.Exit(2)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    app.command("rank")(rank)
    app.command("stars")(stars)
