"""API tokens (shown once, hashed, revocable), /api/whoami, and the request dependencies other routers use."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from accountkit import FAST_HASH, client_for, csrf, get_user, login, make_user, post_form, sign_in_as
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import ApiToken, User
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker
from paperfeed.http.auth import (
    ApiCurrentUser,
    ApiModerator,
    ApiUser,
    ApiVerifiedUser,
    CurrentUser,
    RequireModerator,
    RequireUser,
    RequireVerifiedUser,
)
from paperfeed.http.csrf import CsrfDep


def _probe_routes(client: TestClient) -> None:
    """Routes that only echo who the dependency let through."""
    router = APIRouter()

    @router.get("/probe/current")
    def current(user: CurrentUser) -> dict[str, str | None]:
        return {"user": user.username if user else None}

    @router.get("/probe/user")
    def need_user(user: RequireUser) -> dict[str, str]:
        return {"user": user.username}

    @router.post("/probe/verified")
    def need_verified(_csrf: CsrfDep, user: RequireVerifiedUser) -> dict[str, str]:
        return {"user": user.username}

    @router.get("/probe/moderator")
    def need_moderator(user: RequireModerator) -> dict[str, str]:
        return {"user": user.username}

    @router.post("/api/probe/user")
    def api_user(user: ApiUser) -> dict[str, str]:
        return {"user": user.username}

    @router.post("/api/probe/verified")
    def api_verified(user: ApiVerifiedUser) -> dict[str, str]:
        return {"user": user.username}

    @router.get("/api/probe/optional")
    def api_optional(user: ApiCurrentUser) -> dict[str, str | None]:
        return {"user": user.username if user else None}

    @router.get("/api/probe/moderator")
    def api_moderator(user: ApiModerator) -> dict[str, str]:
        return {"user": user.username}

    client.app.include_router(router)


def test_tokens_are_shown_once_stored_hashed_and_revocable(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    r = client.post("/account/tokens", data={"csrf_token": csrf(client, "/account"), "name": "my script"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = r.text.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert secret.startswith("pf_") and len(secret) > 40
    page = client.get("/account").text
    assert "my script" in page and secret not in page  # listed, never shown again
    with make_sessionmaker(engine)() as db:
        [row] = db.scalars(select(ApiToken)).all()
        assert secret not in (row.token_hash, row.prefix) and len(row.token_hash) == 64

    anonymous = client_for(s, ip="192.0.2.50")
    who = anonymous.get("/api/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert who.status_code == 200
    assert who.json() == {
        "id": row.user_id,
        "username": "ada",
        "email": "ada@example.org",
        "role": "user",
        "emailVerified": True,
    }
    listed = anonymous.get("/api/tokens", headers={"Authorization": f"Bearer {secret}"}).json()
    assert [t["name"] for t in listed] == ["my script"] and secret not in str(listed)
    assert listed[0]["lastUsedAt"] is not None

    r = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf(client, "/account")})
    assert r.status_code == 303
    r = anonymous.get("/api/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.json() == {"error": "invalid or revoked API token"}


def test_token_management_over_the_api(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    token = csrf(client, "/account")
    # From our own JS: the session cookie plus the CSRF header; without the header, refused.
    assert client.post("/api/tokens", json={"name": "ci"}).status_code == 403
    r = client.post("/api/tokens", json={"name": "ci", "scope": "write"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    first = r.json()
    assert first["scope"] == "write"
    bearer = {"Authorization": f"Bearer {first['token']}"}
    api = client_for(s, ip="192.0.2.51")
    second = client.post("/api/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": token})
    assert second.status_code == 201 and second.json()["scope"] == "read"
    again = client.post("/api/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and again.json() == {"error": "you already have a token named 'laptop'"}
    assert client.post("/api/tokens", json={"name": ""}, headers={"X-CSRF-Token": token}).status_code == 400
    # With a bearer token no CSRF header is needed (no cookie rides along).
    assert api.delete(f"/api/tokens/{second.json()['id']}", headers=bearer).status_code == 204
    assert api.delete(f"/api/tokens/{second.json()['id']}", headers=bearer).status_code == 404
    # Someone else's token cannot be revoked.
    make_user(s, "bob@example.org", "bob")
    bob = client_for(s, ip="192.0.2.52")
    login(bob, "bob@example.org")
    bob_token = bob.post(
        "/api/tokens", json={"name": "b"}, headers={"X-CSRF-Token": csrf(bob, "/account")}
    ).json()
    assert api.delete(f"/api/tokens/{bob_token['id']}", headers=bearer).status_code == 404
    assert (
        api.get("/api/whoami", headers={"Authorization": f"Bearer {bob_token['token']}"}).json()["username"]
        == "bob"
    )


def test_api_refuses_missing_and_malformed_credentials(settings: Settings) -> None:
    client = client_for(settings)
    r = client.get("/api/whoami")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    for header in ("Basic YWRhOnB3", "Bearer", "Bearer pf_not-a-real-token", "Bearer " + "x" * 5000):
        r = client.get("/api/whoami", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_dependencies(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s, verified=False)
    make_user(s, "mod@example.org", "mod", role="moderator")
    client = client_for(s)
    _probe_routes(client)
    assert client.get("/probe/current").json() == {"user": None}
    r = client.get("/probe/user?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fprobe%2Fuser%3Fx%3D1"
    # A form POST while logged out goes back to the page the form was on.
    r = client.post(
        "/probe/verified",
        data={"csrf_token": csrf(client)},
        headers={"Referer": "http://testserver/papers/1"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fpapers%2F1"
    assert client.post("/api/probe/user").status_code == 401
    assert client.get("/api/probe/optional").json() == {"user": None}
    assert client.get("/api/probe/optional", headers={"Authorization": "Bearer pf_nope"}).status_code == 401

    assert login(client).status_code == 400  # an unconfirmed address cannot log in
    sign_in_as(client, s)  # a session from before that rule
    token = csrf(client)
    assert client.get("/probe/current").json() == {"user": "ada"}
    assert client.get("/probe/user").json() == {"user": "ada"}
    r = client.post("/probe/verified", data={"csrf_token": token})
    assert r.status_code == 403 and "confirm your email" in r.text
    assert client.get("/probe/moderator").status_code == 403
    assert client.post("/api/probe/user").status_code == 403  # cookie without the CSRF header
    assert client.post("/api/probe/user", headers={"X-CSRF-Token": token}).json() == {"user": "ada"}
    assert client.post("/api/probe/verified", headers={"X-CSRF-Token": token}).status_code == 403
    assert client.get("/api/probe/moderator").status_code == 403
    assert client.get("/api/probe/optional").json() == {"user": "ada"}
    secret = client.post("/api/tokens", json={"name": "t"}, headers={"X-CSRF-Token": token}).json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    script = client_for(s, ip="192.0.2.61")
    _probe_routes(script)
    assert script.get("/api/probe/optional", headers=bearer).json() == {"user": "ada"}

    mod = client_for(s, ip="192.0.2.60")
    _probe_routes(mod)
    login(mod, "mod@example.org")
    assert mod.get("/probe/moderator").json() == {"user": "mod"}
    assert mod.get("/api/probe/moderator").json() == {"user": "mod"}
    assert mod.post("/probe/verified", data={"csrf_token": csrf(mod)}).json() == {"user": "mod"}


def test_unverified_user_cannot_log_in_until_confirmed(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s, verified=False)
    client = client_for(s)
    r = login(client)
    assert r.status_code == 400 and "not confirmed yet" in r.text and "pf_session" not in r.cookies
    user = get_user(s, "ada@example.org")
    assert user is not None
    assert post_form(client, "/verify", {"token": accounts.verify_token(s, user)}).status_code == 200
    assert login(client).status_code == 303
    assert "not confirmed" not in client.get("/account").text
    assert post_form(client, "/logout", {}).status_code == 303


def test_user_model_flags(db_settings: Settings, engine: Engine) -> None:
    make_user(db_settings, verified=False, role="moderator")
    with make_sessionmaker(engine)() as db:
        user = db.scalars(select(User)).one()
    assert user.is_moderator and not user.is_verified
