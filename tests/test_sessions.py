"""Server-side sessions: a hash stored, cookie flags, idle and absolute expiry, logout deletes the row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from starlette.responses import Response

from accountkit import FAST_HASH, client_for, login, make_user, post_form
from paperfeed.accounts import sessions
from paperfeed.accounts.models import User, UserSession
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker, session_scope
from paperfeed.http import session as http_session


def test_only_the_hash_of_the_id_is_stored(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    raw = client.cookies.get(sessions.COOKIE)
    assert raw and len(raw) >= 40
    with make_sessionmaker(engine)() as db:
        [row] = db.scalars(select(UserSession)).all()
    assert row.id_hash == sessions.hash_id(raw) and raw not in row.id_hash


def test_cookie_flags(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    r = login(client_for(s))
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("pf_session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= flags and "samesite=lax" in cookie.lower()
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    # Behind https the cookie is Secure (set_cookie is what the login route calls).
    response = Response()
    http_session.set_cookie(
        response, s.model_copy(update={"base_url": "https://papers.example.org"}), "x" * 43
    )
    cookie = response.headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    assert f"Max-Age={int(s.session_absolute_hours * 3600)}" in cookie


def test_idle_and_absolute_expiry(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update={"session_idle_hours": 2.0, "session_absolute_hours": 10.0})
    make_user(s)
    factory = make_sessionmaker(engine)
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    with session_scope(factory) as db:
        user = db.scalars(select(User)).one()
        raw = sessions.create(db, user, now=t0)
    # Active every 90 minutes: the idle limit never bites, the absolute one does after 10 hours.
    moment = t0
    for _ in range(6):
        moment += timedelta(minutes=90)
        with session_scope(factory) as db:
            assert sessions.lookup(db, s, raw, now=moment) is not None, moment
    with session_scope(factory) as db:
        assert sessions.lookup(db, s, raw, now=t0 + timedelta(hours=10, minutes=1)) is None
    with factory() as db:
        assert db.scalars(select(UserSession)).all() == []  # an expired session is deleted when seen

    with session_scope(factory) as db:
        user = db.scalars(select(User)).one()
        raw = sessions.create(db, user, now=t0)
    with session_scope(factory) as db:
        assert sessions.lookup(db, s, raw, now=t0 + timedelta(hours=2, minutes=1)) is None  # idle


def test_purge_expired(db_settings: Settings, engine: Engine) -> None:
    make_user(db_settings)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with session_scope(factory) as db:
        user = db.scalars(select(User)).one()
        sessions.create(db, user, now=now - timedelta(days=60))
        sessions.create(db, user, now=now)
    with session_scope(factory) as db:
        assert sessions.purge_expired(db, db_settings, now=now) == 1
    with factory() as db:
        assert len(db.scalars(select(UserSession)).all()) == 1


def test_expired_session_is_anonymous_over_http(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    assert client.get("/account").status_code == 200
    from paperfeed.db.engine import make_engine

    engine = make_engine(s)
    with session_scope(make_sessionmaker(engine)) as db:
        for row in db.scalars(select(UserSession)):
            row.last_seen_at = datetime.now(UTC) - timedelta(days=30)
    engine.dispose()
    assert client.get("/account").status_code == 303


def test_logout_deletes_the_row_so_a_copied_cookie_dies(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    stolen = client.cookies.get(sessions.COOKIE)
    assert stolen
    r = post_form(client, "/logout", {})
    assert r.status_code == 303
    assert any(v.startswith('pf_session=""') or "Max-Age=0" in v for v in r.headers.get_list("set-cookie"))
    thief = client_for(s, ip="203.0.113.9")
    thief.cookies.set(sessions.COOKIE, stolen)
    assert thief.get("/account").status_code == 303


def test_current_user_is_known_on_every_page(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    assert "Log in" in client.get("/papers").text
    login(client)
    for path in ("/papers", "/no/such/page", "/login"):
        page = client.get(path)
        assert 'href="/account">ada</a>' in page.text and 'action="/logout"' in page.text, path


def test_login_creates_a_new_id_each_time(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    first = client.cookies.get(sessions.COOKIE)
    login(client)
    second = client.cookies.get(sessions.COOKIE)
    assert first and second and first != second
    from paperfeed.db.engine import make_engine

    engine = make_engine(s)
    with make_sessionmaker(engine)() as db:
        hashes = set(db.scalars(select(UserSession.id_hash)))
    engine.dispose()
    assert hashes == {sessions.hash_id(second)}  # logging in again retired the previous session
