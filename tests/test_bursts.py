"""Rate limits and quotas under real concurrency: a burst gets exactly the limit, on SQLite and PostgreSQL.

Each test fires its requests from threads released together at a real uvicorn. Limits used to be checked
before the work and counted after it, so every request of a burst passed the check.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select

import webdata
from accountkit import FAST_HASH, PASSWORD, make_user
from burstkit import Browser, burst, served
from communitydata import make_site
from paperfeed.accounts import ratelimit
from paperfeed.accounts.models import ApiToken
from paperfeed.community.models import Comment
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.mailsink import SmtpSink


def test_spend_gives_exactly_the_limit_across_engines(db_settings: Settings, engine: Engine) -> None:
    # Two engines stand for two web processes.
    engines = [make_engine(db_settings), make_engine(db_settings)]
    factories = [make_sessionmaker(e) for e in engines]
    lim = ratelimit.Limit("comment:user:1", 7, 3600)

    def spend(i: int) -> bool:
        try:
            ratelimit.spend_now(factories[i % 2], [lim], now=1_800_000_000.0)
        except ratelimit.RateLimited:
            return False
        return True

    outcomes = burst(24, spend)
    for e in engines:
        e.dispose()
    assert outcomes.count(True) == 7
    with make_sessionmaker(engine)() as db:  # refused requests took their hits back
        assert ratelimit.count(db, lim, now=1_800_000_000.0) == 7


def test_a_refused_request_does_not_count_on_later_limits(db_settings: Settings, engine: Engine) -> None:
    # A client blocked on its own key must not run up a shared one (an account's total, for its owner).
    own, shared = ratelimit.Limit("own", 2, 3600), ratelimit.Limit("shared", 100, 3600)
    factory = make_sessionmaker(engine)
    refused = 0
    for _ in range(10):
        try:
            ratelimit.spend_now(factory, [own, shared], now=1_800_000_000.0)
        except ratelimit.RateLimited as exc:
            refused += 1
            assert exc.retry_after > 0
    with factory() as db:
        assert refused == 8
        assert ratelimit.count(db, shared, now=1_800_000_000.0) == 2


def test_a_burst_of_wrong_passwords_gets_the_limit_and_no_more(db_settings: Settings) -> None:
    # Real argon2 cost (tens of ms a check): the window in which a burst slipped through is wide.
    s = db_settings.model_copy(update={"login_limit_account": 5, "login_limit_ip": 1000})
    make_user(s)
    with served(s) as url:
        browsers = [Browser(url) for _ in range(30)]
        codes = burst(30, lambda i: browsers[i].login(password=f"wrong guess {i}").status_code)
        # The window is used up: the right password is refused from this address too.
        assert browsers[0].login().status_code == 429
        for b in browsers:
            b.close()
    assert Counter(codes) == {400: 5, 429: 25}


def test_a_burst_of_sign_ups_sends_the_mail_limit(db_settings: Settings, smtp_sink: SmtpSink) -> None:
    s = db_settings.model_copy(
        update={**FAST_HASH, "smtp_port": smtp_sink.port, "signup_limit_email": 3, "signup_limit_ip": 1000}
    )
    with served(s) as url:
        browsers = [Browser(url, "/signup") for _ in range(20)]

        def sign_up(i: int) -> int:
            form = {"email": "target@example.org", "username": f"name{i}", "password": PASSWORD}
            return browsers[i].post("/signup", form).status_code

        codes = burst(20, sign_up)
        for b in browsers:
            b.close()
    # The server has stopped: every mail it was going to send is in the sink.
    assert Counter(codes) == {200: 3, 429: 17}
    assert len([m for m in smtp_sink.messages if "target@example.org" in m.rcpt_tos]) == 3


def test_a_burst_of_comments_gets_the_quota(db_settings: Settings) -> None:
    with make_site(db_settings.model_copy(update={"comment_limit_user": 6})) as site:
        token = site.api_token(site.user("alice"))
        url = f"/api/papers/{webdata.OLD_ID}/comments"
        with served(site.settings) as base:
            clients = [Browser(base, "/login") for _ in range(16)]
            bearer = {"Authorization": f"Bearer {token}"}
            codes = burst(
                16, lambda i: clients[i].http.post(url, json={"body": f"c{i}"}, headers=bearer).status_code
            )
            for c in clients:
                c.close()
        assert Counter(codes) == {201: 6, 429: 10}
        assert site.count(Comment) == 6


def test_a_burst_of_token_creations_stops_at_the_cap(db_settings: Settings) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    make_user(s)
    with served(s) as url:
        me = Browser(url)
        assert me.login().status_code == 303
        me.csrf = Browser.csrf_of(me.http.get("/account").text)
        headers = {"X-CSRF-Token": me.csrf, "Origin": url}
        post = me.http.post
        # One new name, many times at once: one is created, the others hear it exists (never a 500).
        same = burst(6, lambda i: post("/api/tokens", json={"name": "twin"}, headers=headers).status_code)
        codes = burst(27, lambda i: post("/api/tokens", json={"name": f"t{i}"}, headers=headers).status_code)
        me.close()
    assert Counter(same) == {201: 1, 409: 5}
    assert Counter(codes) == {201: 19, 400: 8}
    engine = make_engine(s)
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(func.count()).select_from(ApiToken)) == 20
    engine.dispose()
