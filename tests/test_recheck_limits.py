"""Password re-checks (change password, delete account) are rate-limited like logins, per user and address."""

from __future__ import annotations

from collections import Counter

from accountkit import FAST_HASH, PASSWORD, client_for, csrf, get_user, login, make_user
from burstkit import Browser, burst, served
from paperfeed.config import Settings

ATTACKER = "203.0.113.66"


def test_a_stolen_session_is_not_a_password_oracle(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_account": 3, "login_limit_ip": 100})
    make_user(s)
    thief = client_for(s, ip=ATTACKER)
    assert login(thief).status_code == 303
    token = csrf(thief, "/account")
    change = {"csrf_token": token, "password": "a new password"}
    for i in range(2):
        r = thief.post("/account/password", data={**change, "current": f"guess {i} guess"})
        assert r.status_code == 400
    r = thief.post("/account/delete", data={"csrf_token": token, "password": "guess 3 guess"})
    assert r.status_code == 400  # both forms share the user's counter
    r = thief.post("/account/delete", data={"csrf_token": token, "password": "guess 4 guess"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # Used up: even the right password is refused for the rest of the window.
    assert thief.post("/account/password", data={**change, "current": PASSWORD}).status_code == 429
    assert get_user(s, "ada@example.org") is not None
    # The limit is the user's wherever the guesses come from.
    other = client_for(s, ip="198.51.100.1")
    assert login(other).status_code == 303
    data = {**change, "csrf_token": csrf(other, "/account"), "current": "x"}
    r = other.post("/account/password", data=data)
    assert r.status_code == 429


def test_re_checks_are_limited_per_address(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_account": 100, "login_limit_ip": 2})
    names = ["ann", "bob", "cat"]
    for name in names:
        make_user(s, f"{name}@example.org", name)
    codes = []
    for name in names:
        client = client_for(s, ip=ATTACKER)
        assert login(client, f"{name}@example.org").status_code == 303
        data = {"csrf_token": csrf(client, "/account"), "current": "guess guess", "password": "new password"}
        codes.append(client.post("/account/password", data=data).status_code)
    assert codes == [400, 400, 429]


def test_a_successful_re_check_does_not_count(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_account": 2})
    make_user(s)
    client = client_for(s)
    assert login(client).status_code == 303
    token = csrf(client, "/account")
    password = PASSWORD
    for i in range(4):
        new = f"password number {i}"
        r = client.post("/account/password", data={"csrf_token": token, "current": password, "password": new})
        assert r.status_code == 200, r.text
        password = new


def test_a_burst_of_re_checks_gets_the_limit(db_settings: Settings) -> None:
    s = db_settings.model_copy(update={"login_limit_account": 4, "login_limit_ip": 1000})
    make_user(s)
    with served(s) as url:
        me = Browser(url)
        assert me.login().status_code == 303
        me.csrf = Browser.csrf_of(me.http.get("/account").text)
        codes = burst(12, lambda i: me.post("/account/delete", {"password": f"guess {i} guess"}).status_code)
        me.close()
    assert Counter(codes) == {400: 4, 429: 8}
    assert get_user(s, "ada@example.org") is not None
