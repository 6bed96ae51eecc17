"""`paperfeed user ...`: create a moderator (password from stdin), promote and demote, list accounts."""

from __future__ import annotations

from typer.testing import CliRunner

from accountkit import client_for, login, make_user
from paperfeed.cli import app as cli
from paperfeed.config import Settings


def test_cli_moderators(settings: Settings) -> None:
    runner = CliRunner()
    db = str(settings.database_url.removeprefix("sqlite:///"))
    r = runner.invoke(
        cli,
        ["user", "create-moderator", "Mod@Example.org", "--username", "mod", "--password-stdin", "--db", db],
        input="a moderator passphrase\n",
    )
    assert r.exit_code == 0, r.output
    create = ["user", "create-moderator", "--password-stdin", "--db", db]
    again = runner.invoke(
        cli, [*create, "mod@example.org", "--username", "mod2"], input="a moderator passphrase\n"
    )
    assert again.exit_code == 1 and "exists" in again.output
    short = runner.invoke(cli, [*create, "m3@example.org", "--username", "mod3"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    make_user(settings, "bob@example.org", "bob")
    assert runner.invoke(cli, ["user", "promote", "bob@example.org", "--db", db]).exit_code == 0
    assert runner.invoke(cli, ["user", "promote", "nobody@example.org", "--db", db]).exit_code == 1
    listed = runner.invoke(cli, ["user", "list", "--db", db])
    assert listed.exit_code == 0
    lines = [line for line in listed.stdout.splitlines() if "example.org" in line]
    assert len(lines) == 2 and all("moderator" in line for line in lines)
    assert runner.invoke(cli, ["user", "promote", "bob@example.org", "--demote", "--db", db]).exit_code == 0
    client = client_for(settings)
    assert login(client, "mod@example.org", "a moderator passphrase").status_code == 303
    assert "moderator" in client.get("/account").text


def test_cli_purge(settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from paperfeed.accounts import ratelimit, sessions
    from paperfeed.accounts.models import RateLimitCounter, User, UserSession
    from paperfeed.db.engine import make_engine, make_sessionmaker, session_scope

    make_user(settings)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with session_scope(factory) as db:
        user = db.scalars(select(User)).one()
        sessions.create(db, user, now=now - timedelta(days=40))
        sessions.create(db, user, now=now)
        ratelimit.hit(db, ratelimit.Limit("old", 5, 60), now=now.timestamp() - 3600)
        ratelimit.hit(db, ratelimit.Limit("new", 5, 60), now=now.timestamp())
    db_path = settings.database_url.removeprefix("sqlite:///")
    r = CliRunner().invoke(cli, ["user", "purge", "--db", db_path])
    assert r.exit_code == 0 and "deleted 1 expired session and 1" in r.output, r.output
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(UserSession)) == 1
        assert db.scalars(select(RateLimitCounter.key)).all() == ["new"]
    engine.dispose()
