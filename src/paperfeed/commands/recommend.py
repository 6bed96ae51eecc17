"""`paperfeed recommend USER`: a reader's For-you list in the terminal (a table, or --json)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from paperfeed.commands.common import DbOpt, console, ready, settings_for
from paperfeed.periods import WINDOWS


def recommend(
    user: Annotated[str, typer.Argument(help="Username or email address of the reader.")],
    db: DbOpt = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month.")] = "week",
    date: Annotated[
        str | None, typer.Option("--date", help="Last listing day, YYYY-MM-DD (default: the latest).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Papers to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show a reader's For-you list for a day, week or month, with each paper's reasons."""
    from sqlalchemy import func, or_, select

    from paperfeed.accounts.models import User
    from paperfeed.periods import check_window, parse_day
    from paperfeed.recommend.feeds import reason_text
    from paperfeed.recommend.service import for_you

    if period not in WINDOWS:
        raise typer.BadParameter(f"expected one of {', '.join(WINDOWS)}", param_hint="--period")
    until = parse_day(date) if date else None
    settings = settings_for(db)
    factory = ready(settings)
    with factory() as session:
        found = session.scalar(
            select(User.id).where(or_(User.username == user, func.lower(User.email) == user.strip().lower()))
        )
        if found is None:
            console.print(f"[red]no such user:[/] {escape(user)}")
            raise typer.Exit(1)
        t0 = time.perf_counter()
        result = for_you(
            session,
            user_id=int(found),
            kind=check_window(period),
            until=until,
            now=datetime.now(UTC),
            limit=limit,
            settings=settings,
        )
        took = time.perf_counter() - t0
    if as_json:
        data: dict[str, Any] = {
            "period": result.kind,
            "start": result.start.isoformat() if result.start else None,
            "until": result.until.isoformat() if result.until else None,
            "items": [
                {
                    "rank": n,
                    "paperId": item.paper.key,
                    "title": item.paper.title,
                    "score": round(item.recommendation.score, 6),
                    "exploration": item.exploration,
                    "reasons": [{"paperId": r.key, "title": r.title, "kind": r.kind} for r in item.reasons],
                    "terms": list(item.terms),
                }
                for n, item in enumerate(result.items, 1)
            ],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if result.until is None:
        console.print("no listed papers yet")
        return
    table = Table(title=f"For {escape(user)}: {period} ending {result.until} ({took * 1000:.0f} ms)")
    for col in ("#", "paper", "title", "why"):
        table.add_column(col, justify="right" if col == "#" else "left")
    for n, item in enumerate(result.items, 1):
        table.add_row(str(n), item.paper.key, escape(item.paper.title[:60]), escape(reason_text(item)))
    console.print(table)
    if not result.items:
        console.print("nothing to recommend yet: the reader has no votes, saves or signals")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    app.command("recommend")(recommend)
