"""Helpers for the account tests: an app client on a migrated database, CSRF tokens, links read from mail."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.accounts import sessions
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker, session_scope
from paperfeed.db.migrate import upgrade
from paperfeed.mailsink import SmtpSink

PASSWORD = "correct horse battery staple"
# Cheap argon2id parameters for tests that log in many times; tests about hashing use the defaults.
FAST_HASH = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def client_for(
    settings: Settings, *, ip: str = "198.51.100.7", base_url: str = "http://testserver"
) -> TestClient:
    """A TestClient (from client IP `ip`) on a migrated database; does not follow redirects."""
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    return TestClient(
        create_app(settings), base_url="http://testserver", follow_redirects=False, client=(ip, 50000)
    )


def csrf(client: TestClient, path: str = "/login") -> str:
    """This browser's CSRF token, read from a form page."""
    page = client.get(path)
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def post_form(client: TestClient, path: str, data: dict[str, str], **kw: Any) -> Any:
    """POST a form with this browser's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client), **data}, **kw)


def link_in_mail(sink: SmtpSink, to: str, path: str) -> str:
    """The site path (with query) of the last link to `path` mailed to `to`."""
    for received in reversed(sink.messages):
        if to.lower() in [r.lower() for r in received.rcpt_tos]:
            body = received.message.get_body(preferencelist=("plain",))
            assert body is not None
            for url in re.findall(r"https?://\S+", body.get_content()):
                parts = urlsplit(url)
                if parts.path == path:
                    return parts.path + "?" + parts.query
    raise AssertionError(f"no mail to {to} with a link to {path}")


def make_user(
    settings: Settings,
    email: str = "ada@example.org",
    username: str = "ada",
    *,
    password: str = PASSWORD,
    verified: bool = True,
    role: str = "user",
) -> int:
    """Create an account directly; returns its id."""
    engine = make_engine(settings)
    upgrade(engine)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = accounts.create_user(
                db, settings, email=email, username=username, password=password, verified=verified, role=role
            )
            return user.id
    finally:
        engine.dispose()


def get_user(settings: Settings, email: str) -> User | None:
    """The stored user with this email."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as db:
            return db.scalars(select(User).where(User.email == email)).first()
    finally:
        engine.dispose()


def login(
    client: TestClient, email: str = "ada@example.org", password: str = PASSWORD, next: str = "/"
) -> Any:
    """Log in through the form."""
    return post_form(client, "/login", {"email": email, "password": password, "next": next})


def sign_in_as(client: TestClient, settings: Settings, email: str = "ada@example.org") -> None:
    """Give the browser a session of this account without the login form.

    For an account the form does not let in (an unconfirmed address): such sessions exist from before
    unconfirmed accounts were refused at login, and the checks for them must still hold.
    """
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.scalars(select(User).where(User.email == email)).one()
            raw = sessions.create(db, user)
    finally:
        engine.dispose()
    client.cookies.set(sessions.COOKIE, raw)
