"""`paperfeed digest send|status` and `paperfeed worker`: the send ledger and the job consumer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.digests.ledger import LedgerRow
from paperfeed.digests.periods import Period, PeriodError, parse_period

FrequencyOpt = Annotated[
    str | None,
    typer.Option(help="daily or weekly (default: weekly for a week like 2026-W48, else daily)."),
]


def _digest_group(app: typer.Typer) -> typer.Typer:
    """The `digest` sub-app, shared with commands/digests.py (created here when that one has none)."""
    for info in app.registered_groups:
        if info.name == "digest" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Email digests: preview, send, status.", no_args_is_help=True)
    app.add_typer(group, name="digest")
    return group


def _period(text: str, frequency: str | None) -> Period:
    freq = frequency or ("weekly" if "W" in text.upper() else "daily")
    try:
        return parse_period(text, freq)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from None


def _print_uncertain(rows: list[LedgerRow], title: str) -> None:
    """One line per uncertain digest (whole, never wrapped, so it can be grepped and copied)."""
    console.print(f"[yellow]{escape(title)}[/] ({len(rows)})")
    for r in rows:
        claimed_at = r.claimed_at.strftime("%Y-%m-%d %H:%M:%S") if r.claimed_at else "?"
        console.print(
            f"  uncertain #{r.id} {r.email} period {r.period} {r.message_id} "
            f"(claimed by {r.claimed_by or '?'} at {claimed_at})",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )


def _summary(title: str, rows: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("digests")
    table.add_column("count", justify="right")
    for name, value in rows.items():
        table.add_row(name, str(value))
    return table


def send(
    period: Annotated[str, typer.Option(help="The period: a day (2026-11-27) or an ISO week (2026-W48).")],
    frequency: FrequencyOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Select and count only: store nothing, send nothing.")
    ] = False,
    wait_retries: Annotated[
        float, typer.Option(help="Also wait for retries falling due within this many seconds.")
    ] = 0.0,
    db: DbOpt = None,
) -> None:
    """Prepare the digests of one period (once per subscriber) and send every one that is due."""
    from paperfeed.digests import ledger
    from paperfeed.digests.send import send_due

    chosen = _period(period, frequency)
    settings = settings_for(db)
    factory = ready(settings)
    if dry_run:
        would = ledger.prepare(factory, settings=settings, period=chosen, dry_run=True)
        counts = ledger.counts(factory, period=chosen.label)
        rows = {
            "would prepare": would.prepared,
            "empty (not sent)": would.skipped,
            "papers": would.papers,
            "already in the ledger": sum(counts.values()),
            "due now": counts.get("prepared", 0) + counts.get("retry", 0),
        }
        console.print(_summary(f"{chosen.frequency} {chosen.label}: dry run, nothing stored or sent", rows))
        return
    prepared = ledger.prepare(factory, settings=settings, period=chosen)
    report = send_due(factory, settings=settings, period=chosen.label, wait_retries_s=wait_retries)
    rows = {
        "prepared": prepared.prepared,
        "empty (not sent)": prepared.skipped,
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failed,
        "bounced": report.bounced,
        "uncertain": report.uncertain + len(report.recovered),
        "skipped (unsubscribed)": report.skipped,
        "waiting for a retry": report.waiting,
    }
    console.print(_summary(f"digest send {chosen.frequency} {chosen.label}", rows))
    console.print(f"{report.seconds:.2f} s, {report.connections} SMTP connection(s)")
    if report.recovered:
        _print_uncertain(report.recovered, "a previous run died while sending these digests")
        console.print("[yellow]uncertain digests are not resent; look them up in the mail server's log[/]")


def status(
    period: Annotated[str | None, typer.Option(help="Only this period (2026-11-27 or 2026-W48).")] = None,
    frequency: FrequencyOpt = None,
    db: DbOpt = None,
) -> None:
    """Ledger rows per status, and the uncertain digests (maybe delivered, never resent)."""
    from paperfeed.digests import ledger

    label = _period(period, frequency).label if period else None
    settings = settings_for(db)
    factory = ready(settings)
    counts = ledger.counts(factory, period=label)
    table = Table(title=f"digest ledger {label or '(all periods)'}")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for name in ("prepared", "sending", "retry", "sent", "failed", "bounced", "uncertain", "skipped"):
        table.add_row(name, str(counts.get(name, 0)))
    console.print(table)
    uncertain = ledger.rows_with_status(factory, "uncertain", period=label)
    if uncertain:
        _print_uncertain(uncertain, "uncertain digests (maybe delivered; never resent)")


def worker(
    db: DbOpt = None,
    workers: Annotated[int | None, typer.Option(help="Worker threads (default: jobs_workers).")] = None,
    keep_locks: Annotated[
        bool,
        typer.Option(
            "--keep-locks",
            help="Do not clear the job locks at start (clearing them lets a job a killed worker held run "
            "again; keep them when another worker of this queue is running a job right now).",
        ),
    ] = False,
) -> None:
    """Run the pipeline: harvest, embed, index, stars, rank and digests on their schedules (Ctrl-C stops)."""
    from huey.consumer import Consumer

    from paperfeed.db.engine import make_engine
    from paperfeed.db.migrate import upgrade
    from paperfeed.jobs.pipeline import JOBS
    from paperfeed.jobs.queue import make_huey
    from paperfeed.jobs.tasks import register_tasks

    settings = settings_for(db)
    engine = make_engine(settings)
    upgrade(engine)  # once, before the workers start
    engine.dispose()
    huey = make_huey(settings)
    tasks = register_tasks(huey, settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not keep_locks:
        # huey's locks have no expiry on SQLite: a worker killed inside a job would block it for good.
        # Every job resumes from its cursors, so clearing a live worker's lock costs a duplicate run at worst.
        flushed = huey.flush_locks(*(f"paperfeed.{job}" for job in JOBS))
        if flushed:
            console.print(f"cleared stale job locks: {', '.join(sorted(flushed))}")
    where = settings.redis_url or f"{settings.data_dir}/jobs.db"
    console.print(f"paperfeed worker on [bold]{escape(str(where))}[/] ({datetime.now(UTC):%H:%M} UTC)")
    try:
        Consumer(huey, workers=workers or settings.jobs_workers, worker_type="thread").run()
    finally:
        tasks.pipeline.close()


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    group = _digest_group(app)
    group.command("send")(send)
    group.command("status")(status)
    app.command("worker")(worker)
