"""Helpers for the community tests: a filled site, real accounts (H6's services), logins, HTML checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.accounts import sessions, tokens
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    """A migrated, filled database, the app over it and a session factory for checks."""

    settings: Settings
    app: FastAPI
    factory: sessionmaker[Session]

    def client(self) -> TestClient:
        """A fresh browser (its own cookies)."""
        return TestClient(self.app, base_url="http://testserver")

    def paper_id(self, key: str) -> int:
        """The internal id of a paper by key."""
        with self.factory() as s:
            pid = s.scalar(select(Paper.id).where(Paper.key == key))
        assert pid is not None, key
        return int(pid)

    def paper(self, key: str) -> Paper:
        """A fresh copy of a paper row."""
        with self.factory() as s:
            paper = s.scalars(select(Paper).where(Paper.key == key)).one()
            s.expunge(paper)
            return paper

    def count(self, model: type, *where: object) -> int:
        """Rows of a table (optionally filtered)."""
        with self.factory() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]

    def user(self, name: str, *, verified: bool = True, role: str = "user") -> int:
        """Create an account through the accounts service; returns its id."""
        with self.factory() as db, db.begin():
            user = accounts.create_user(
                db,
                self.settings,
                email=f"{name}@example.org",
                username=name,
                password=PASSWORD,
                role=role,
                verified=verified,
            )
            return int(user.id)

    def api_token(self, user_id: int) -> str:
        """A bearer token for the user (tokens service)."""
        with self.factory() as db, db.begin():
            user = db.get(User, user_id)
            assert user is not None
            return tokens.create(db, user, "tests", scope=tokens.WRITE).secret


@contextmanager
def make_site(settings: Settings) -> Iterator[Site]:
    """Migrate, fill with tests/webdata.py's papers and build the app."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        webdata.fill(factory)
        yield Site(settings, create_app(settings), factory)
    finally:
        engine.dispose()


def csrf(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page gives this browser (read from a real form)."""
    page = client.get(path)
    m = _TOKEN.search(page.text)
    assert m, f"no csrf token on {path}"
    return m.group(1)


def sign_in_as(site: Site, client: TestClient, name: str) -> str:
    """A session for the account without the login form (which refuses an unconfirmed address)."""
    with site.factory() as db, db.begin():
        user = db.scalars(select(User).where(User.username == name)).one()
        client.cookies.set(sessions.COOKIE, sessions.create(db, user))
    return csrf(client, "/papers")


def login(client: TestClient, name: str) -> str:
    """Log in through the real login form; returns a CSRF token for later posts."""
    token = csrf(client)
    r = client.post(
        "/login",
        data={"email": f"{name}@example.org", "password": PASSWORD, "csrf_token": token, "next": "/papers"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf(client, "/papers")


_BAD_SCHEME = re.compile(r"^\s*(javascript|data|vbscript)\s*:", re.IGNORECASE)
_URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background")


def assert_inert(document: str, *, must_show: tuple[str, ...] = ()) -> None:
    """No executable element or attribute in an HTML page; `must_show` strings appear as plain text."""
    tree = lxml_html.document_fromstring(document)
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower().rsplit("}", 1)[-1]
        if tag == "script":
            assert el.get("src") == "/static/app.js" and not (el.text or "").strip(), lxml_html.tostring(el)
        if tag == "svg":  # only our own charts (text/charts.py), made of shapes and text, nothing else
            assert (el.get("class") or "").split()[:1] == ["chart"], lxml_html.tostring(el)
            kids = {k.tag.lower().rsplit("}", 1)[-1] for k in el.iterdescendants() if isinstance(k.tag, str)}
            assert kids <= {"title", "desc", "line", "rect", "polyline", "circle"}, kids
        assert tag not in {"iframe", "object", "embed", "style", "base", "frame"}, tag
        if tag == "img":
            assert (el.get("src") or "").startswith("/static/"), lxml_html.tostring(el)
        if tag == "meta":
            assert (el.get("http-equiv") or "").lower() != "refresh"
        for name, value in el.attrib.items():
            lname = name.lower().rsplit("}", 1)[-1]
            assert not lname.startswith("on"), f"<{tag} {name}={value!r}>"
            if lname in _URL_ATTRS or name.lower() in _URL_ATTRS:
                clean = re.sub(r"[\x00-\x20]", "", value)
                assert not _BAD_SCHEME.match(clean), f"<{tag} {name}={value!r}>"
    text = tree.text_content()
    for needle in must_show:
        assert needle in text, f"{needle!r} is not shown as text"
