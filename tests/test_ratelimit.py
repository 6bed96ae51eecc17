"""Rate limits: counters shared by processes through the database, 429 with Retry-After, no owner lockout."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select

from accountkit import FAST_HASH, PASSWORD, client_for, login, make_user, post_form
from paperfeed.accounts import ratelimit
from paperfeed.accounts.models import RateLimitCounter
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker, session_scope

ATTACKER, OWNER = "203.0.113.66", "198.51.100.20"


def test_counts_are_exact_across_engines_and_threads(db_settings: Settings, engine: Engine) -> None:
    # Two engines stand for two web processes; four threads each hit the same key 25 times.
    engines = [make_engine(db_settings), make_engine(db_settings)]
    factories = [make_sessionmaker(e) for e in engines]
    lim = ratelimit.Limit("login:ip:192.0.2.1", 1000, 3600)
    now = 1_800_000_000.0
    seen: list[int] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for _ in range(25):
            with session_scope(factories[i % 2]) as db:
                value = ratelimit.hit(db, lim, now=now)
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert sorted(seen) == list(range(1, 101))  # every hit saw a distinct count: no lost update
    with make_sessionmaker(engine)() as db:
        assert ratelimit.count(db, lim, now=now) == 100


def test_windows_roll_over_and_old_ones_are_dropped(db_settings: Settings, engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    lim = ratelimit.Limit("k", 2, 60)
    t = 1_800_000_000.0  # a multiple of 60
    with session_scope(factory) as db:
        assert ratelimit.hit(db, lim, now=t) == 1
        assert ratelimit.hit(db, lim, now=t + 10) == 2
        try:
            ratelimit.spend(db, [lim], now=t + 10)
        except ratelimit.RateLimited as exc:
            assert exc.retry_after == 50
        else:
            raise AssertionError("not limited")
        assert ratelimit.count(db, lim, now=t + 10) == 2  # the refused hit was taken back
        ratelimit.spend(db, [lim], now=t + 60)  # a new window
        assert ratelimit.hit(db, lim, now=t + 61) == 2
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(RateLimitCounter)) == 1
    with session_scope(factory) as db:
        ratelimit.reset(db, lim)
        assert ratelimit.count(db, lim, now=t + 61) == 0


def test_attacker_ip_is_limited_and_the_owner_still_logs_in(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update={**FAST_HASH, "login_limit_account": 3, "login_limit_ip": 10})
    make_user(s)
    attacker = client_for(s, ip=ATTACKER)
    for _ in range(3):
        assert login(attacker, password="guess guess").status_code == 400
    r = login(attacker, password="guess guess")
    assert r.status_code == 429
    retry = int(r.headers["retry-after"])
    assert 0 < retry <= s.rate_limit_window_s
    # Even the right password is refused from the limited address: it cannot keep guessing.
    assert login(attacker).status_code == 429
    owner = client_for(s, ip=OWNER)
    assert login(owner).status_code == 303
    assert owner.get("/account").status_code == 200


def test_per_ip_limit_covers_many_accounts(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_ip": 4})
    attacker = client_for(s, ip=ATTACKER)
    codes = [
        login(attacker, email=f"user{i}@example.org", password="guess guess").status_code for i in range(6)
    ]
    assert codes == [400, 400, 400, 400, 429, 429]


def test_success_resets_the_owner_counter(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_account": 3})
    make_user(s)
    owner = client_for(s, ip=OWNER)
    for _ in range(2):
        assert login(owner, password="typo typo").status_code == 400
    assert login(owner).status_code == 303
    for _ in range(2):  # two more typos do not reach the limit of 3: the success reset the count
        assert login(owner, password="typo typo").status_code == 400
    assert login(owner).status_code == 303


def test_sign_up_is_limited_per_ip_and_per_address(settings: Settings) -> None:
    s = settings.model_copy(
        update={**FAST_HASH, "signup_limit_ip": 3, "signup_limit_email": 2, "smtp_port": 9}
    )
    client = client_for(s, ip=ATTACKER)
    codes = [
        post_form(
            client, "/signup", {"email": f"u{i}@example.org", "username": f"user{i}", "password": PASSWORD}
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    other = client_for(s, ip=OWNER)
    data = {"email": "victim@example.org", "username": "victim", "password": PASSWORD}
    assert post_form(other, "/signup", data).status_code == 200
    assert post_form(other, "/reset", {"email": "victim@example.org"}).status_code == 200
    r = post_form(other, "/reset", {"email": "victim@example.org"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_forwarded_for_is_ignored_unless_trusted(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_ip": 2})
    client = client_for(s, ip=ATTACKER)
    for i in range(2):
        login(client, email=f"a{i}@example.org", password="guess guess")
    # A forged header does not buy a fresh address when trust_proxy is off.
    r = post_form(
        client,
        "/login",
        {"email": "b@example.org", "password": "guess guess", "next": "/"},
        headers={"X-Forwarded-For": "192.0.2.99"},
    )
    assert r.status_code == 429

    trusted = s.model_copy(update={"trust_proxy": True})
    proxy = client_for(trusted, ip="127.0.0.1")
    for i in range(2):
        post_form(
            proxy,
            "/login",
            {"email": f"c{i}@example.org", "password": "guess guess", "next": "/"},
            headers={"X-Forwarded-For": f"10.9.9.{i}, {ATTACKER}"},  # the client forged the first entry
        )
    r = post_form(
        proxy,
        "/login",
        {"email": "d@example.org", "password": "guess guess", "next": "/"},
        headers={"X-Forwarded-For": f"10.1.1.1, {OWNER}"},
    )
    assert r.status_code == 400  # a different real client: not limited
    r = post_form(
        proxy,
        "/login",
        {"email": "e@example.org", "password": "guess guess", "next": "/"},
        headers={"X-Forwarded-For": f"10.7.7.7, {ATTACKER}"},
    )
    assert r.status_code == 429  # the attacker, whatever they put in front
