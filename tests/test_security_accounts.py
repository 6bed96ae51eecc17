"""Account security: no enumeration, no open redirect, no header injection, no session fixation, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from accountkit import (
    FAST_HASH,
    PASSWORD,
    client_for,
    csrf,
    get_user,
    link_in_mail,
    login,
    make_user,
    post_form,
)
from paperfeed.accounts import sessions
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User, UserSession
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker
from paperfeed.http.auth import safe_next
from paperfeed.mailsink import SmtpSink


def _same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content  # byte-identical (same browser: same token)


# --- account enumeration ---


def test_same_answer_for_known_and_unknown_emails(
    db_settings: Settings, engine: Engine, smtp_sink: SmtpSink
) -> None:
    s = db_settings.model_copy(update={"smtp_port": smtp_sink.port, "signup_limit_ip": 20})
    make_user(s)
    client = client_for(s)
    known, unknown = "ada@example.org", "nobody@example.org"

    a = post_form(client, "/signup", {"email": known, "username": "newname1", "password": PASSWORD})
    b = post_form(client, "/signup", {"email": unknown, "username": "newname2", "password": PASSWORD})
    _same(a, b)
    assert a.status_code == 200

    a = post_form(client, "/login", {"email": known, "password": "wrong password", "next": "/"})
    b = post_form(client, "/login", {"email": unknown, "password": "wrong password", "next": "/"})
    _same(a, b)
    assert a.status_code == 400 and "Wrong email or password" in a.text

    a = post_form(client, "/reset", {"email": known})
    b = post_form(client, "/reset", {"email": unknown})
    _same(a, b)

    a = post_form(client, "/verify/resend", {"email": known})
    b = post_form(client, "/verify/resend", {"email": "someone@example.org"})
    _same(a, b)
    # What differs is only the mail, which only the owner of the address reads.
    subjects = [(m.rcpt_tos[0], m.message["Subject"]) for m in smtp_sink.messages]
    assert (known, "You already have a paperfeed account") in subjects
    assert (unknown, "Confirm your email address for paperfeed") in subjects
    assert (known, "Reset your paperfeed password") in subjects


def test_a_taken_username_answers_alike_for_any_email(settings: Settings) -> None:
    make_user(settings)
    client = client_for(settings)
    a = post_form(client, "/signup", {"email": "ada@example.org", "username": "ada", "password": PASSWORD})
    b = post_form(client, "/signup", {"email": "new@example.org", "username": "ada", "password": PASSWORD})
    assert a.status_code == b.status_code == 400
    assert a.text.replace("ada@example.org", "E") == b.text.replace("new@example.org", "E")


def test_sign_up_leaves_the_same_traces_for_known_and_unknown_emails(
    db_settings: Settings, engine: Engine, smtp_sink: SmtpSink
) -> None:
    # The prober signs up with an address, then looks for what the sign-up left behind.
    s = db_settings.model_copy(update={**FAST_HASH, "smtp_port": smtp_sink.port, "signup_limit_ip": 20})
    make_user(s)
    probe = client_for(s)
    cases = {"ada@example.org": "probe-known", "nobody@example.org": "probe-new"}
    for email, name in cases.items():
        r = post_form(probe, "/signup", {"email": email, "username": name, "password": "prober's password"})
        assert r.status_code == 200
    known, new = cases.values()

    # The names' profile pages (and public collections) are missing alike.
    pages = [probe.get(f"/u/{name}") for name in (known, new)]
    assert [p.status_code for p in pages] == [404, 404]
    assert pages[0].text.replace(known, "N") == pages[1].text.replace(new, "N")
    api = [probe.get(f"/api/users/{name}/collections").status_code for name in (known, new)]
    assert api == [404, 404]

    # Both names are taken: a second sign-up with them gets the same answer.
    other = client_for(s)
    answers = []
    for name in (known, new):
        form = {"email": "third@example.org", "username": name, "password": PASSWORD}
        answers.append(post_form(other, "/signup", form))
    assert [a.status_code for a in answers] == [400, 400] and "taken" in answers[0].text
    assert answers[0].text.replace(known, "N") == answers[1].text.replace(new, "N")

    # The prober's password opens neither: the new account waits for its address to be confirmed.
    a, b = (
        post_form(probe, "/login", {"email": email, "password": "prober's password", "next": "/"})
        for email in cases
    )
    _same(a, b)
    assert a.status_code == 400

    # Once its owner confirms the address, the new account is a normal one.
    link = link_in_mail(smtp_sink, "nobody@example.org", "/verify")
    owner = client_for(s)
    assert post_form(owner, "/verify", {"token": link.split("token=", 1)[1]}).status_code == 200
    assert owner.get(f"/u/{new}").status_code == 200
    assert login(owner, "nobody@example.org", "prober's password").status_code == 303


# --- open redirects and header injection ---

EVIL_NEXT = [
    "//evil.com",
    "//evil.com/path",
    "https://evil.com",
    "http:evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/\t/evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,x",
    " //evil.com",
    "evil.com",
    "/x\r\nSet-Cookie: pwned=1",
    "/x\nLocation: https://evil.com",
    "/x%0d%0aSet-Cookie:%20pwned=1",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_never_redirects_off_site(settings: Settings, target: str) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    r = login(client, next=target)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert "\r" not in location and "\n" not in location
    assert "pwned" not in r.headers.get("set-cookie", "")
    assert len(r.headers.get_list("location")) == 1
    # The login form does not carry an evil target either.
    form = client.get("/login", params={"next": target}).text
    assert 'name="next" value="/"' in form or target.startswith("/x%0d")


@pytest.mark.parametrize(
    "target", ["/", "/papers?date=2026-05-29", "/papers/2605.00101#comments", "/x%0d%0ay"]
)
def test_same_site_paths_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [*EVIL_NEXT[:-1], None, "", "/" + "a" * 3000])
def test_safe_next_refuses(target: str | None) -> None:
    assert safe_next(target) == "/"


def test_redirect_to_login_keeps_only_a_safe_next(settings: Settings) -> None:
    client = client_for(settings)
    r = client.get("/account", params={"a": "b\r\nX-Injected: 1"})
    assert r.status_code == 303
    assert "x-injected" not in {k.lower() for k in r.headers}
    assert "\r" not in r.headers["location"] and "\n" not in r.headers["location"]


def test_crlf_in_fields_that_reach_mail_headers(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    client = client_for(s)
    for data in (
        {"email": "a@example.org\r\nBcc: victim@example.org", "username": "abc", "password": PASSWORD},
        {"email": "b@example.org", "username": "bob\r\nBcc: victim@example.org", "password": PASSWORD},
    ):
        r = post_form(client, "/signup", data)
        assert r.status_code == 400
    r = post_form(client, "/reset", {"email": "a@example.org\r\nBcc: victim@example.org"})
    assert r.status_code == 200
    assert all("victim@example.org" not in m.rcpt_tos for m in smtp_sink.messages)
    assert all(b"\nBcc:" not in m.raw for m in smtp_sink.messages)
    assert get_user(s, "b@example.org") is None


# --- session fixation ---


def test_a_planted_session_id_is_not_the_one_after_login(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    make_user(s, "mallory@example.org", "mallory")
    # 1. An id the server never issued.
    victim = client_for(s)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    victim.cookies.set(sessions.COOKIE, planted, domain="testserver.local")
    login(victim)
    after = victim.cookies.get(sessions.COOKIE)
    assert after and after != planted
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(UserSession).where(UserSession.id_hash == sessions.hash_id(planted))) is None

    # 2. The attacker's own live session, planted in the victim's browser: login replaces it and kills it.
    mallory = client_for(s, ip="203.0.113.5")
    login(mallory, "mallory@example.org")
    mallory_id = mallory.cookies.get(sessions.COOKIE)
    assert mallory_id
    victim2 = client_for(s, ip="198.51.100.8")
    victim2.cookies.set(sessions.COOKIE, mallory_id, domain="testserver.local")
    login(victim2)
    assert victim2.cookies.get(sessions.COOKIE) != mallory_id
    assert 'href="/account">ada<' in victim2.get("/papers").text
    assert mallory.get("/account").status_code == 303  # the fixed id no longer opens anything


# --- CSRF on every account form, and GETs change nothing ---


def _counts(engine: Engine) -> tuple[int, int]:
    with make_sessionmaker(engine)() as db:
        users = db.scalar(select(func.count()).select_from(User))
        live = db.scalar(select(func.count()).select_from(UserSession))
        return int(users or 0), int(live or 0)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/signup", {"email": "new@example.org", "username": "newbie", "password": PASSWORD}),
        ("/login", {"email": "ada@example.org", "password": PASSWORD}),
        ("/logout", {}),
        ("/account/delete", {"password": PASSWORD}),
        ("/account/password", {"current": PASSWORD, "password": "another passphrase"}),
        ("/account/tokens", {"name": "t"}),
        ("/reset", {"email": "ada@example.org"}),
        ("/verify/resend", {"email": "ada@example.org"}),
    ],
)
def test_account_forms_refuse_missing_wrong_or_foreign_csrf(
    settings: Settings, path: str, data: dict[str, str]
) -> None:
    from paperfeed.db.engine import make_engine

    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    login(client)
    engine = make_engine(s)
    before = _counts(engine)
    hash_before = get_user(s, "ada@example.org").password_hash
    good = csrf(client)
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        (data, {}),
        ({**data, "csrf_token": "0" * 64}, {}),
        ({**data, "csrf_token": good}, {"Origin": "https://evil.example"}),
    ]
    for form, headers in attempts:
        r = client.post(path, data=form, headers=headers)
        assert r.status_code == 403, (form, headers)
    assert _counts(engine) == before
    assert get_user(s, "ada@example.org").password_hash == hash_before
    engine.dispose()


def test_get_requests_change_nothing(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s, verified=False)
    user = get_user(s, "ada@example.org")
    assert user is not None
    client = client_for(s)
    verify = accounts.verify_token(s, user)
    reset = accounts.reset_token(s, user)
    assert client.get("/verify", params={"token": verify}).status_code == 200
    assert client.get("/reset/confirm", params={"token": reset}).status_code == 200
    assert client.get("/logout").status_code == 405
    after = get_user(s, "ada@example.org")
    assert after is not None and after.email_verified_at is None and after.password_hash == user.password_hash


def test_tokens_and_secrets_are_escaped(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client: TestClient = client_for(s)
    login(client)
    r = client.post(
        "/account/tokens", data={"csrf_token": csrf(client, "/account"), "name": "<script>x()</script>"}
    )
    assert r.status_code == 200
    assert "<script>x()" not in r.text and "&lt;script&gt;x()&lt;/script&gt;" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
