"""Accounts end to end over HTTP on SQLite and PostgreSQL: sign up, verify by mail, log in and out, reset."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import Engine, select

from accountkit import (
    PASSWORD,
    client_for,
    csrf,
    get_user,
    link_in_mail,
    login,
    make_user,
    post_form,
    sign_in_as,
)
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User, UserSession
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker
from paperfeed.mailsink import SmtpSink


def _settings(db_settings: Settings, sink: SmtpSink) -> Settings:
    return db_settings.model_copy(update={"smtp_port": sink.port})


def test_sign_up_verify_log_in_log_out(db_settings: Settings, engine: Engine, smtp_sink: SmtpSink) -> None:
    s = _settings(db_settings, smtp_sink)
    client = client_for(s)
    assert "Create account" in client.get("/signup").text
    r = post_form(client, "/signup", {"email": " Ada@Example.org", "username": "ada", "password": PASSWORD})
    assert r.status_code == 200 and "Check your inbox" in r.text
    user = get_user(s, "ada@example.org")
    assert user is not None and user.email_verified_at is None
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == ["ada@example.org"] and "Confirm your email" in mail.message["Subject"]

    link = link_in_mail(smtp_sink, "ada@example.org", "/verify")
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my address" in page.text
    assert get_user(s, "ada@example.org").email_verified_at is None  # GET changes nothing
    token = link.split("token=", 1)[1]
    r = post_form(client, "/verify", {"token": token})
    assert r.status_code == 200 and "Address confirmed" in r.text
    assert get_user(s, "ada@example.org").email_verified_at is not None

    r = login(client, next="/papers?date=2026-05-29")
    assert r.status_code == 303 and r.headers["location"] == "/papers?date=2026-05-29"
    page = client.get("/account")
    assert page.status_code == 200 and "ada@example.org" in page.text
    assert 'class="nav-user" href="/account">ada<' in client.get("/papers").text
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(UserSession.user_id)) == user.id

    r = post_form(client, "/logout", {})
    assert r.status_code == 303
    with make_sessionmaker(engine)() as db:
        assert db.scalars(select(UserSession)).all() == []
    r = client.get("/account")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Faccount"


def test_known_email_gets_a_mail_not_an_account(
    db_settings: Settings, engine: Engine, smtp_sink: SmtpSink
) -> None:
    s = _settings(db_settings, smtp_sink)
    make_user(s)
    client = client_for(s)
    r = post_form(client, "/signup", {"email": "ada@example.org", "username": "ada2", "password": PASSWORD})
    assert r.status_code == 200 and "Check your inbox" in r.text
    [mail] = smtp_sink.messages
    assert "already have" in mail.message["Subject"]
    with make_sessionmaker(engine)() as db:
        assert db.scalars(select(User.username)).all() == ["ada"]


def test_bad_sign_up_input_is_a_400_with_the_reason(db_settings: Settings, engine: Engine) -> None:
    client = client_for(db_settings)
    make_user(db_settings)
    for data, reason in [
        ({"email": "not-an-email", "username": "bob", "password": PASSWORD}, "valid email"),
        ({"email": "bob@example.org", "username": "b", "password": PASSWORD}, "username is 3 to 32"),
        ({"email": "bob@example.org", "username": "bob", "password": "short"}, "at least 8"),
        ({"email": "bob@example.org", "username": "ADA", "password": PASSWORD}, "taken"),
        ({"email": "bob@example.org", "username": "admin", "password": PASSWORD}, "reserved"),
    ]:
        r = post_form(client, "/signup", data)
        assert r.status_code == 400 and reason in r.text, (data, r.text)
    assert get_user(db_settings, "bob@example.org") is None


def test_smtp_failure_still_answers_and_a_new_link_can_be_asked(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    client = client_for(s)
    smtp_sink.fail("eve@example.org", "451 4.3.0 try later")
    r = post_form(client, "/signup", {"email": "eve@example.org", "username": "eve", "password": PASSWORD})
    assert r.status_code == 200 and "Check your inbox" in r.text
    assert smtp_sink.messages == []
    r = post_form(client, "/verify/resend", {"email": "eve@example.org"})
    assert r.status_code == 200
    assert link_in_mail(smtp_sink, "eve@example.org", "/verify")
    # A dead SMTP server: still an answer, not a 500.
    dead = client_for(settings.model_copy(update={"smtp_port": 9, "smtp_timeout_s": 2}))
    r = post_form(dead, "/signup", {"email": "zed@example.org", "username": "zed", "password": PASSWORD})
    assert r.status_code == 200


def test_signed_in_unverified_user_can_resend_from_the_account_page(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    make_user(s, verified=False)
    client = client_for(s)
    sign_in_as(client, s)  # a session from before unconfirmed addresses were refused at login
    assert "not confirmed" in client.get("/account").text
    r = client.post("/verify/resend", data={"csrf_token": csrf(client, "/account")})
    assert r.status_code == 200
    link = link_in_mail(smtp_sink, "ada@example.org", "/verify")
    post_form(client, "/verify", {"token": link.split("token=", 1)[1]})
    assert "confirmed</span>" in client.get("/account").text


def test_verification_link_is_checked(settings: Settings) -> None:
    client = client_for(settings)
    make_user(settings, verified=False)
    r = post_form(client, "/verify", {"token": "forged.token.value"})
    assert r.status_code == 400 and "not valid" in r.text
    user = get_user(settings, "ada@example.org")
    assert user is not None
    other = settings.model_copy(update={"secret_key": "another site"})
    r = post_form(client, "/verify", {"token": accounts.verify_token(other, user)})
    assert r.status_code == 400
    assert get_user(settings, "ada@example.org").email_verified_at is None


def test_password_reset_by_single_use_link(
    db_settings: Settings, engine: Engine, smtp_sink: SmtpSink
) -> None:
    s = _settings(db_settings, smtp_sink)
    make_user(s)
    other_browser = client_for(s)
    assert login(other_browser).status_code == 303
    client = client_for(s)
    r = post_form(client, "/reset", {"email": "ADA@example.org"})
    assert r.status_code == 200 and "on its way" in r.text
    link = link_in_mail(smtp_sink, "ada@example.org", "/reset/confirm")
    page = client.get(link)
    assert page.status_code == 200 and "Set password" in page.text
    token = link.split("token=", 1)[1]
    r = post_form(client, "/reset/confirm", {"token": token, "password": "short"})
    assert r.status_code == 400 and "at least 8" in r.text and 'name="token"' in r.text
    r = post_form(client, "/reset/confirm", {"token": token, "password": "a brand new passphrase"})
    assert r.status_code == 200 and "was changed" in r.text
    # Every session ended, the old password is dead, the new one works, and the link works once.
    assert other_browser.get("/account").status_code == 303
    assert login(client).status_code == 400
    assert login(client, password="a brand new passphrase").status_code == 303
    r = post_form(client, "/reset/confirm", {"token": token, "password": "yet another passphrase"})
    assert r.status_code == 400 and "already used" in r.text
    assert client.get(link).status_code == 400


def _signed_ago(monkeypatch: pytest.MonkeyPatch, seconds: int, sign: Callable[[], str]) -> str:
    """A token signed `seconds` ago: itsdangerous reads the signing time from get_timestamp()."""
    real = TimestampSigner.get_timestamp
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - seconds)
        return sign()


def test_reset_link_expires(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Signed in the past rather than slept past: no wait, and no margin for a slow machine to eat.
    make_user(settings)
    user = get_user(settings, "ada@example.org")
    assert user is not None
    lifetime = int(settings.reset_link_minutes * 60)
    expired = _signed_ago(monkeypatch, lifetime + 60, lambda: accounts.reset_token(settings, user))
    live = _signed_ago(monkeypatch, lifetime - 600, lambda: accounts.reset_token(settings, user))
    client = client_for(settings)
    r = post_form(client, "/reset/confirm", {"token": expired, "password": "a brand new passphrase"})
    assert r.status_code == 400 and "expired" in r.text
    assert login(client).status_code == 303
    page = client.get(f"/reset/confirm?token={live}")  # ten minutes to go: still good
    assert page.status_code == 200 and "Set password" in page.text


def test_change_password_keeps_this_session_ends_the_others(db_settings: Settings, engine: Engine) -> None:
    make_user(db_settings)
    here, there = client_for(db_settings), client_for(db_settings)
    login(here)
    login(there)
    token = csrf(here, "/account")
    r = here.post(
        "/account/password", data={"csrf_token": token, "current": "wrong one", "password": "x" * 12}
    )
    assert r.status_code == 400 and "current password is wrong" in r.text
    r = here.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "password": "x" * 12})
    assert r.status_code == 200 and "Password changed" in r.text
    assert here.get("/account").status_code == 200
    assert there.get("/account").status_code == 303
    assert login(client_for(db_settings), password="x" * 12).status_code == 303


def test_old_argon2_parameters_are_rehashed_at_login(db_settings: Settings, engine: Engine) -> None:
    weak = db_settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})
    make_user(weak)
    before = get_user(db_settings, "ada@example.org")
    assert before is not None and "$m=1024,t=1,p=1$" in before.password_hash
    client = client_for(db_settings)
    assert login(client, password="wrong password").status_code == 400
    assert get_user(db_settings, "ada@example.org").password_hash == before.password_hash
    assert login(client).status_code == 303
    after = get_user(db_settings, "ada@example.org")
    assert after is not None and after.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.check_password(db_settings, after.password_hash, PASSWORD)
    assert login(client_for(db_settings)).status_code == 303


def test_registration_closed(settings: Settings) -> None:
    s = settings.model_copy(update={"registration_open": False})
    client = client_for(s)
    assert "Registration is closed" in client.get("/signup").text
    r = post_form(client, "/signup", {"email": "bob@example.org", "username": "bob", "password": PASSWORD})
    assert r.status_code == 403
    assert get_user(s, "bob@example.org") is None
