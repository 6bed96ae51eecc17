"""`paperfeed digest preview`; `digest send` and `worker` are in commands/sending.py."""

from __future__ import annotations

import webbrowser
from email.header import decode_header, make_header
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from paperfeed.commands.common import DbOpt, console, ready, settings_for

GROUP = "digest"


def digest_group(app: typer.Typer) -> typer.Typer:
    """The shared `paperfeed digest ...` group (created on first use), so several modules add commands."""
    for info in app.registered_groups:
        if info.name == GROUP and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Email digests: preview one, send a period's.", no_args_is_help=True)
    app.add_typer(group, name=GROUP)
    return group


def preview(
    email: Annotated[str, typer.Argument(help="The subscriber's address.")],
    db: DbOpt = None,
    period: Annotated[
        str | None,
        typer.Option(help="A day (2026-11-27) or ISO week (2026-W48); default: the latest with papers."),
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML part with the system viewer.")] = False,
) -> None:
    """Render a subscriber's digest to an .eml and an .html file under data_dir/previews (sends nothing)."""
    from paperfeed.authors.follows import followed_by_email
    from paperfeed.db.models import Submission
    from paperfeed.digests.for_you import add_for_you
    from paperfeed.digests.ledger_models import DigestSentPaper
    from paperfeed.digests.models import Subscription
    from paperfeed.digests.periods import Period, PeriodError, parse_period
    from paperfeed.digests.prepare import utcnow
    from paperfeed.digests.render import render_digest
    from paperfeed.digests.select import select_digest
    from paperfeed.digests.subscriptions import normalise_email

    settings = settings_for(db)
    factory = ready(settings)
    with factory() as session:
        sub = session.scalar(select(Subscription).where(Subscription.email == email.strip().lower()))
        if sub is None:
            try:
                normalise_email(email)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
            console.print(f"no subscription for {email}")
            raise typer.Exit(1)
        if sub.status != "active":
            console.print(
                f"note: this subscription is {sub.status}; nothing is sent to it until it is active"
            )
        if period:
            try:
                chosen = parse_period(period, sub.frequency)
            except PeriodError as exc:
                raise typer.BadParameter(str(exc)) from None
        else:
            latest = session.scalar(select(func.max(Submission.day)))
            if latest is None:
                console.print("no papers in the database yet")
                raise typer.Exit(1)
            chosen = Period.day(latest) if sub.frequency == "daily" else Period.week_of(latest)
        sent = set(
            session.scalars(select(DigestSentPaper.paper_id).where(DigestSentPaper.subscription_id == sub.id))
        )
        followed = followed_by_email(session, [sub.email]).get(sub.email.lower(), [])
        picks = select_digest(
            session, subscription=sub, period=chosen, settings=settings, exclude=sent, followed=followed
        )
        # The For-you section as the send would prepare it (without rating links: a preview rates nothing).
        picks = add_for_you(
            session,
            [sub],
            {sub.id: picks},
            period=chosen,
            settings=settings,
            sent={sub.id: sent},
            now=utcnow(),
        )[sub.id]
        if not picks:
            console.print(f"the digest of {chosen.label} would be empty: nothing would be sent")
            raise typer.Exit(1)
        message = render_digest(session, subscription=sub, picks=picks, period=chosen, settings=settings)
    out = Path(settings.data_dir) / "previews"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{sub.id}-{chosen.label}"
    eml, html = out / f"{stem}.eml", out / f"{stem}.html"
    eml.write_bytes(message.as_bytes())
    part = message.get_body(preferencelist=("html",))
    html.write_text(part.get_content() if part is not None else "", encoding="utf-8")
    subject = str(make_header(decode_header(str(message["Subject"]))))
    console.print(f"{len(picks)} papers for {chosen.label}: {subject}", markup=False, highlight=False)
    typer.echo(str(eml))
    typer.echo(str(html))
    if open_ and not webbrowser.open(html.resolve().as_uri()):
        console.print("no system viewer found; open the file above yourself")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    digest_group(app).command("preview")(preview)
