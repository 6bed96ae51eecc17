"""scope_cookie: one cookie from a raw ASGI scope, within bounds, never from a header that fails to parse."""

from __future__ import annotations

from accountkit import FAST_HASH, client_for, login, make_user
from paperfeed.config import Settings
from paperfeed.cookies import scope_cookie


def _scope(header: bytes) -> dict[str, object]:
    return {"type": "http", "headers": [(b"host", b"x"), (b"cookie", header)]}


def test_the_named_cookie_within_bounds() -> None:
    scope = _scope(b"other=1; pf_x=" + b"a" * 20)
    assert scope_cookie(scope, "pf_x", min_len=20) == "a" * 20
    assert scope_cookie(scope, "pf_x", min_len=21) is None  # too short
    assert scope_cookie(_scope(b"pf_x=" + b"a" * 129), "pf_x", min_len=1) is None  # too long


def test_absent_or_unparsable_gives_none() -> None:
    assert scope_cookie({"type": "http", "headers": []}, "pf_x", min_len=1) is None
    assert scope_cookie(_scope(b"other=1"), "pf_x", min_len=1) is None
    assert scope_cookie(_scope(b'pf_x="unterminated; \x7f'), "pf_x", min_len=1) is None


def test_a_neighbours_json_or_spaced_cookie_does_not_hide_ours() -> None:
    # SimpleCookie gives up on the whole header at the first value it dislikes; browsers send such values.
    token = "b" * 24
    for neighbour in (b'prefs={"theme":"dark"}', b"greeting=hello world", b"flag", b'q="a\\"b"'):
        scope = _scope(neighbour + b"; pf_x=" + token.encode() + b"; after=1")
        assert scope_cookie(scope, "pf_x", min_len=16) == token, neighbour


def test_split_cookie_headers_are_read_together() -> None:
    scope = {"type": "http", "headers": [(b"cookie", b"a=1"), (b"cookie", b"pf_x=" + b"c" * 20)]}
    assert scope_cookie(scope, "pf_x", min_len=20) == "c" * 20


def test_a_value_outside_our_token_alphabet_is_not_ours() -> None:
    # Every cookie we set is URL-safe base64: anything else was not set by us and is ignored.
    assert scope_cookie(_scope(b"pf_x=" + b"a" * 19 + b"<"), "pf_x", min_len=1) is None
    assert scope_cookie(_scope(b'pf_x="' + b"a" * 20 + b'"'), "pf_x", min_len=1) == "a" * 20


def test_forms_and_the_session_survive_a_json_cookie(settings: Settings) -> None:
    s = settings.model_copy(update=FAST_HASH)
    make_user(s)
    client = client_for(s)
    client.get("/login")  # sets the CSRF cookie
    csrf_cookie = client.cookies["pf_csrf"]
    client.cookies.clear()
    # The neighbour's JSON cookie comes first in the header, as a browser may send it.
    client.headers["cookie"] = f'prefs={{"theme":"dark"}}; pf_csrf={csrf_cookie}'
    r = login(client)
    assert r.status_code == 303, r.text
    session = r.cookies["pf_session"]
    client.headers["cookie"] = f'prefs={{"theme":"dark"}}; pf_csrf={csrf_cookie}; pf_session={session}'
    page = client.get("/account")
    assert page.status_code == 200 and "ada@example.org" in page.text
