"""`paperfeed status` (the worker pipeline's jobs and backlogs) and `paperfeed embed` (the bulk backfill)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from paperfeed.commands.common import DbOpt, console, ready, settings_for


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def status(db: DbOpt = None) -> None:
    """Each worker job's last run, duration, result and lag (since its last success), and the backlogs."""
    from paperfeed.ops.status import pipeline_status
    from paperfeed.search.keyword import keyword_dir

    settings = settings_for(db)
    factory = ready(settings)
    now = datetime.now(UTC)
    with factory() as session:
        state = pipeline_status(session, now, keyword_root=keyword_dir(settings))
    table = Table(title=f"paperfeed pipeline ({now:%Y-%m-%d %H:%M} UTC)")
    for col in ("job", "last run (UTC)", "duration", "result", "lag", "counts / message"):
        table.add_column(col, justify="right" if col in ("duration", "lag") else "left")
    for job, row in state["jobs"].items():
        colour = {"ok": "green", "failed": "red", "running": "yellow"}.get(row["result"] or "", "dim")
        duration = "-" if row["duration_s"] is None else f"{row['duration_s']:.1f} s"
        detail = row["message"] if row["result"] == "failed" else _counts(row["counts"])
        table.add_row(
            job,
            (row["last_run"] or "never").replace("T", " ").removesuffix("+00:00"),
            duration,
            f"[{colour}]{row['result'] or '-'}[/]",
            _ago(row["lag_s"]),
            escape(detail[:80]),
        )
    console.print(table)
    backlog = state["backlog"]
    console.print(
        f"backlog: {backlog['embed']:,} papers without a vector, {backlog['digests_unsent']:,} digests "
        f"unsent, keyword index lag {_ago(backlog.get('index_lag_s'))}",
        highlight=False,
    )


def embed(
    db: DbOpt = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Batches embedded side by side (default: embed_threads).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Texts per ONNX Runtime call (default: embed_batch_size).")
    ] = None,
    commit_batch: Annotated[
        int | None,
        typer.Option(min=1, help="Papers per committed transaction, the resume point (embed_commit_batch)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many papers.")] = None,
) -> None:
    """Embed every paper without a current vector, with progress; Ctrl-C or a kill keeps what is committed.

    Rerun to continue: vectors are committed per batch and only papers still missing one are embedded.
    The HNSW index picks the vectors up at the next sync (serve's maintainer, the worker's index job, or
    `paperfeed reindex --vectors`).
    """
    from paperfeed.search.embeddings import EmbedProviderError, load_embedder
    from paperfeed.search.vector_store import count_pending, embed_pending

    overrides: dict[str, object] = {}
    if threads is not None:
        overrides["embed_threads"] = threads
    if batch_size is not None:
        overrides["embed_batch_size"] = batch_size
    if commit_batch is not None:
        overrides["embed_commit_batch"] = commit_batch
    settings = settings_for(db, **overrides)
    factory = ready(settings)
    embedder = load_embedder(settings)
    with factory() as session:
        pending = count_pending(session, model=embedder.name)
    total = min(pending, limit) if limit else pending
    if total == 0:
        console.print("every paper has a current vector")
        return
    columns = (
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} papers/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    t0 = time.perf_counter()
    done = 0
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("embed", total=total, rate="-")

            def step(n: int) -> None:
                nonlocal done
                done += n
                rate = done / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, advance=n, rate=f"{rate:,.1f}")

            embed_pending(factory, settings=settings, embedder=embedder, limit=limit, progress=step)
    except EmbedProviderError as exc:
        console.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print(f"interrupted: {done:,} papers embedded and committed; rerun to continue")
        raise typer.Exit(130) from None
    seconds = time.perf_counter() - t0
    console.print(f"embedded {done:,} papers in {seconds:.1f} s ({done / max(seconds, 1e-9):,.1f} papers/s)")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    app.command("status")(status)
    app.command("embed")(embed)
