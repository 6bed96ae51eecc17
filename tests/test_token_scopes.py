"""API tokens are not the whole account: scopes, no minting by token, revoked by a password reset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

import webdata
from accountkit import FAST_HASH, PASSWORD, client_for, csrf, login, make_user
from communitydata import make_site
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import ApiToken, User
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker
from paperfeed.db.migrate import downgrade, upgrade


def _browser(s: Settings) -> tuple[TestClient, dict[str, str]]:
    """A signed-in browser and the headers its own script sends to the API."""
    client = client_for(s)
    assert login(client).status_code == 303
    return client, {"X-CSRF-Token": csrf(client, "/account")}


def _mint(client: TestClient, headers: dict[str, str], name: str, scope: str = "read") -> Any:
    r = client.post("/api/tokens", json={"name": name, "scope": scope}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_no_token_can_mint_tokens(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    browser, own = _browser(s)
    write = _mint(browser, own, "ci", "write")
    read = _mint(browser, own, "dashboard")
    script = client_for(s, ip="192.0.2.70")
    for secret in (write["token"], read["token"]):
        r = script.post("/api/tokens", json={"name": "successor", "scope": "write"}, headers=_bearer(secret))
        assert r.status_code == 403 and "browser session" in r.json()["error"]
    names = [t["name"] for t in script.get("/api/tokens", headers=_bearer(read["token"])).json()]
    assert sorted(names) == ["ci", "dashboard"]
    # The session (with its CSRF header) still mints, and the answer, which holds a secret, is not cached.
    r = browser.post("/api/tokens", json={"name": "laptop"}, headers=own)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    assert browser.post("/api/tokens", json={"name": "x", "scope": "admin"}, headers=own).status_code == 400


def test_a_read_token_only_reads(settings: Settings) -> None:
    with make_site(settings.model_copy(update=FAST_HASH)) as site:
        site.user("ada")
        browser = TestClient(site.app, base_url="http://testserver", follow_redirects=False)
        assert login(browser).status_code == 303
        own = {"X-CSRF-Token": csrf(browser, "/account")}
        read, write = _mint(browser, own, "r"), _mint(browser, own, "w", "write")
        api = TestClient(site.app, base_url="http://testserver")
        comments = f"/api/papers/{webdata.OLD_ID}/comments"
        assert api.get("/api/whoami", headers=_bearer(read["token"])).json()["username"] == "ada"
        assert api.get(comments, headers=_bearer(read["token"])).status_code == 200
        refused = [
            api.post(comments, json={"body": "hi"}, headers=_bearer(read["token"])),
            api.post(f"/api/papers/{webdata.OLD_ID}/vote", headers=_bearer(read["token"])),
            api.delete(f"/api/tokens/{read['id']}", headers=_bearer(read["token"])),
        ]
        for r in refused:
            assert r.status_code == 403, r.text
            assert r.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="write"'
        assert api.post(comments, json={"body": "hi"}, headers=_bearer(write["token"])).status_code == 201
        assert api.delete(f"/api/tokens/{read['id']}", headers=_bearer(write["token"])).status_code == 204


def test_the_account_page_makes_read_tokens_unless_asked(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    browser, _ = _browser(s)
    token = csrf(browser, "/account")
    r = browser.post("/account/tokens", data={"csrf_token": token, "name": "plain"})
    assert r.status_code == 200 and "new read token" in r.text
    r = browser.post("/account/tokens", data={"csrf_token": token, "name": "w", "scope": "write"})
    assert r.status_code == 200 and "new write token" in r.text
    listed = {t["name"]: t["scope"] for t in browser.get("/api/tokens").json()}
    assert listed == {"plain": "read", "w": "write"}


def test_a_password_reset_revokes_every_token(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    browser, own = _browser(s)
    secrets = [_mint(browser, own, f"t{i}", scope)["token"] for i, scope in enumerate(("read", "write"))]
    api = client_for(s, ip="192.0.2.71")
    assert all(api.get("/api/whoami", headers=_bearer(t)).status_code == 200 for t in secrets)
    with make_sessionmaker(engine)() as db:
        user = db.scalars(select(User)).one()
        link = accounts.reset_token(s, user)
    form = {"csrf_token": csrf(api, "/reset"), "token": link, "password": "a brand new password"}
    assert api.post("/reset/confirm", data=form).status_code == 200
    assert [api.get("/api/whoami", headers=_bearer(t)).status_code for t in secrets] == [401, 401]
    with make_sessionmaker(engine)() as db:
        assert db.scalars(select(ApiToken)).all() == []


def test_a_password_change_revokes_tokens_when_asked(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    browser, own = _browser(s)
    secret = _mint(browser, own, "ci", "write")["token"]
    api = client_for(s, ip="192.0.2.72")
    form = {"csrf_token": csrf(browser, "/account"), "current": PASSWORD, "password": "second password"}
    assert browser.post("/account/password", data=form).status_code == 200
    assert api.get("/api/whoami", headers=_bearer(secret)).status_code == 200  # not asked: kept
    form = {**form, "current": "second password", "password": "third password", "revoke_tokens": "1"}
    r = browser.post("/account/password", data=form)
    assert r.status_code == 200 and "API tokens revoked" in r.text
    assert api.get("/api/whoami", headers=_bearer(secret)).status_code == 401


def test_tokens_made_before_scopes_become_write_tokens(engine: Engine) -> None:
    downgrade(engine, "0010")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        users, tokens = User.__table__, ApiToken.__table__
        uid = conn.execute(
            insert(users)
            .values(email="a@example.org", username="a", password_hash="x", role="user", created_at=now)
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(
            insert(tokens).values(user_id=uid, name="old", token_hash="h" * 64, prefix="pf_x", created_at=now)
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(ApiToken.__table__.c.scope)).scalars().all() == ["write"]
