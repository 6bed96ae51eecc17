"""`paperfeed user ...` (moderators and accounts)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from paperfeed.accounts import flows
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.commands.common import DbOpt, console, ready, settings_for

user_app = typer.Typer(
    help="Accounts: create moderators, promote users, list accounts.", no_args_is_help=True
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, without its newline: `printf '%s\n' "$PW" | paperfeed user create-moderator ...`.
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create-moderator")
def create_moderator(
    email: Annotated[str, typer.Argument(help="Email address of the new moderator.")],
    username: Annotated[str, typer.Option("--username", help="Public name (3-32 letters, digits, _ or -).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Create a moderator account (email already confirmed)."""
    settings = settings_for(db)
    factory = ready(settings)
    password = _read_password(password_stdin)
    try:
        user = flows.create_account(
            factory,
            settings,
            email=email,
            username=username,
            password=password,
            role="moderator",
            verified=True,
        )
        name = user.username
    except accounts.AccountError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"created moderator [bold]{name}[/bold] <{email.strip().lower()}>")


@user_app.command("promote")
def promote(
    email: Annotated[str, typer.Argument(help="Email address of the account.")],
    demote: Annotated[
        bool, typer.Option("--demote", help="Make a moderator an ordinary user again.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Make an existing account a moderator (or, with --demote, an ordinary user)."""
    factory = ready(settings_for(db))
    role = "user" if demote else "moderator"
    try:
        name = flows.set_role(factory, email, role).username
    except accounts.AccountError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"{name} is now a {role}")


@user_app.command("list")
def list_users(db: DbOpt = None) -> None:
    """List accounts: id, username, email, role, confirmed, created."""
    factory = ready(settings_for(db))
    with factory() as session:
        users = list(session.scalars(select(User).order_by(User.id)))
    table = Table("id", "username", "email", "role", "confirmed", "created")
    for u in users:
        table.add_row(
            str(u.id),
            u.username,
            u.email,
            u.role,
            "yes" if u.email_verified_at else "no",
            u.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    # The list is the command's output: stdout (the shared console writes progress to stderr).
    Console(width=200).print(table)


@user_app.command("purge")
def purge(db: DbOpt = None) -> None:
    """Delete expired login sessions and finished rate-limit windows (safe to run from cron)."""
    settings = settings_for(db)
    factory = ready(settings)
    gone, windows = flows.purge_expired(factory, settings)
    console.print(
        f"deleted {gone} expired session{'s' if gone != 1 else ''} and {windows} rate-limit window(s)"
    )


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
    app.add_typer(user_app, name="user")
