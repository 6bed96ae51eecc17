"""For you is private: another reader, an anonymous visitor and another user's token never see a reader's
signals, profile or list; the private feed answers only to its secret; export, delete and account deletion."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import recokit
from communitydata import Site, make_site, sign_in_as
from paperfeed.accounts.models import User
from paperfeed.accounts.users import delete_account
from paperfeed.community import votes
from paperfeed.config import Settings
from paperfeed.recommend import profiles, signals
from paperfeed.recommend.models import ReaderProfile, ReaderSignal


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    """webdata's site with THEMES' vectors."""
    with make_site(settings) as s:
        recokit.theme(s.factory)
        yield s


def _signal(site: Site, uid: int, key: str, kind: str) -> None:
    pid = site.paper_id(key)
    signals.record_signal(site.factory, user_id=uid, paper_id=pid, kind=kind, now=recokit.NOW)


def test_another_reader_and_anonymous_see_no_trace_of_a_more_like_this(site: Site) -> None:
    alice = site.user("alice")
    site.user("bob")
    _signal(site, alice, "2605.00102", "more")
    votes.set_vote(site.factory, user_id=alice, paper_id=site.paper_id("2606.00002"), voted=True)
    bob = site.client()
    sign_in_as(site, bob, "bob")
    anon = site.client()
    for client in (bob, anon):
        page = client.get("/papers/2605.00102").text
        assert 'aria-pressed="true"' not in page.split('class="signals"')[-1][:2000]
        assert "pressed" not in page.replace("aria-pressed", "")
        for path in ("/papers?date=2026-05-26", "/trending?window=month&until=2026-06-01"):
            assert " pressed" not in client.get(path).text, path
    # The public upvote stays public: alice's profile page lists it; the "more" is nowhere on it.
    profile = anon.get("/u/alice").text
    assert "Another June Paper" in profile and "Second Tuesday Paper" not in profile
    # Bob's own list is his (empty): alice's signal does not leak into it.
    assert "Second Tuesday Paper" not in bob.get("/for-you").text
    # Anonymous: every For-you page asks to log in; the export too.
    for path in ("/for-you", "/for-you/settings", "/for-you/export"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


def test_api_answers_about_the_tokens_own_user_only(site: Site) -> None:
    alice = site.user("alice")
    bob = site.user("bob")
    _signal(site, alice, "2605.00101", "seed")
    alice_token, bob_token = site.api_token(alice), site.api_token(bob)
    client = site.client()
    mine = client.get(
        "/api/recommendations?period=month&date=2026-06-01&limit=5",
        headers={"Authorization": f"Bearer {alice_token}"},
    )
    assert mine.status_code == 200 and mine.headers["cache-control"] == "private, no-store"
    body = mine.json()
    assert body["period"] == "month" and body["until"] == "2026-06-01"
    first = body["items"][0]
    assert first["paper"]["id"] == "2605.00102" and first["reasons"][0]["paperId"] == "2605.00101"
    assert first["reasons"][0]["kind"] == "seed" and first["rank"] == 1
    theirs = client.get(
        "/api/recommendations?period=month&date=2026-06-01", headers={"Authorization": f"Bearer {bob_token}"}
    )
    assert theirs.json()["items"] == []
    assert client.get("/api/recommendations").status_code == 401
    export = client.get("/api/recommendations/export", headers={"Authorization": f"Bearer {bob_token}"})
    assert export.json()["signals"] == []
    own = client.get("/api/recommendations/export", headers={"Authorization": f"Bearer {alice_token}"})
    assert [s["paperId"] for s in own.json()["signals"]] == ["2605.00101"]
    assert client.get("/api/recommendations/export").status_code == 401


def test_api_signals_need_a_write_token_and_stay_the_callers(site: Site) -> None:
    from paperfeed.accounts import tokens

    alice = site.user("alice")
    token = site.api_token(alice)
    with site.factory() as db, db.begin():
        user = db.get(User, alice)
        assert user is not None
        reader_token = tokens.create(db, user, "read", scope=tokens.READ).secret
    client = site.client()
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/papers/2605.00102/signal", json={"kind": "less"}, headers=auth)
    assert r.status_code == 200 and r.json() == {"paperId": "2605.00102", "signal": "less"}
    assert site.count(ReaderSignal, ReaderSignal.user_id == alice) == 1
    bad = client.post("/api/papers/2605.00102/signal", json={"kind": "bogus"}, headers=auth)
    assert bad.status_code == 400 and "error" in bad.json()
    read_only = {"Authorization": f"Bearer {reader_token}"}
    assert (
        client.post("/api/papers/2605.00102/signal", json={"kind": "more"}, headers=read_only).status_code
        == 403
    )
    assert client.post("/api/papers/2605.00102/signal", json={"kind": "more"}).status_code == 401
    assert (
        client.post("/api/papers/9999.99999/signal", json={"kind": "more"}, headers=auth).status_code == 404
    )
    gone = client.delete("/api/papers/2605.00102/signal", headers=auth)
    assert gone.json() == {"paperId": "2605.00102", "signal": None}
    assert site.count(ReaderSignal) == 0


def test_private_feed_opens_with_its_secret_only_and_revoking_makes_it_404(site: Site) -> None:
    alice = site.user("alice")
    _signal(site, alice, "2605.00101", "seed")
    browser = site.client()
    token = sign_in_as(site, browser, "alice")
    page = browser.post("/for-you/feed", data={"csrf_token": token})
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    start = page.text.index("/for-you/feed/") + len("/for-you/feed/")
    secret = page.text[start : page.text.index(".rss", start)]
    anon = site.client()
    rss = anon.get(f"/for-you/feed/{secret}.rss")
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    assert "Second Tuesday Paper" in rss.text and "Because you imported" in rss.text
    atom = anon.get(f"/for-you/feed/{secret}.atom")
    assert atom.status_code == 200 and "<feed" in atom.text
    for wrong in (f"{secret}x.rss", f"{secret}.json", "x.rss", secret):
        assert anon.get(f"/for-you/feed/{wrong}").status_code == 404, wrong
    # Only the hash is stored.
    with site.factory() as db:
        stored = db.scalar(select(ReaderProfile.feed_secret_hash))
    assert stored and secret not in stored
    # A new secret replaces the old; revoking deletes it.
    page2 = browser.post("/for-you/feed", data={"csrf_token": token}).text
    start = page2.index("/for-you/feed/") + len("/for-you/feed/")
    secret2 = page2[start : page2.index(".rss", start)]
    assert anon.get(f"/for-you/feed/{secret}.rss").status_code == 404
    assert anon.get(f"/for-you/feed/{secret2}.rss").status_code == 200
    browser.post("/for-you/feed/revoke", data={"csrf_token": token})
    assert anon.get(f"/for-you/feed/{secret2}.rss").status_code == 404
    # Another signed-in reader cannot use the URL either (it is the secret or nothing).
    site.user("bob")
    bob = site.client()
    sign_in_as(site, bob, "bob")
    assert bob.get(f"/for-you/feed/{secret2}.atom").status_code == 404


def test_export_download_and_delete_keep_public_votes(site: Site) -> None:
    alice = site.user("alice")
    _signal(site, alice, "2605.00102", "more")
    votes.set_vote(site.factory, user_id=alice, paper_id=site.paper_id("2606.00002"), voted=True)
    browser = site.client()
    token = sign_in_as(site, browser, "alice")
    saved = browser.post(
        "/for-you/settings",
        data={"csrf_token": token, "exploration": "0.2", "categories": "cs.LG, stat.ML"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    r = browser.get("/for-you/export")
    assert r.headers["content-disposition"].startswith("attachment")
    data = json.loads(r.text)
    assert data["profile"] == {"categories": ["cs.LG", "stat.ML"], "exploration": 0.2, "privateFeed": False}
    assert [s["paperId"] for s in data["signals"]] == ["2605.00102"]
    assert [v["paperId"] for v in data["votes"]] == ["2606.00002"]
    assert "recommendations" in data
    bad = browser.post("/for-you/settings", data={"csrf_token": token, "categories": "not a {category}"})
    assert bad.status_code == 400
    browser.post("/for-you/delete", data={"csrf_token": token})
    assert site.count(ReaderSignal) == 0 and site.count(ReaderProfile) == 0
    assert site.paper("2606.00002").vote_count == 1  # the public vote stays


def test_profile_service_and_account_deletion_cascade(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    ids = recokit.fill(session_factory)
    uid = recokit.reader(session_factory, db_settings)
    other = recokit.reader(session_factory, db_settings, "other")
    profiles.save_profile(
        session_factory, user_id=uid, now=recokit.NOW, categories=["cs.LG"], exploration=0.3
    )
    secret = profiles.make_feed_secret(session_factory, user_id=uid, now=recokit.NOW)
    signals.record_signal(
        session_factory, user_id=uid, paper_id=ids["2605.00101"], kind="more", now=recokit.NOW
    )
    signals.record_signal(
        session_factory, user_id=other, paper_id=ids["2605.00101"], kind="less", now=recokit.NOW
    )
    with session_factory() as session:
        assert profiles.feed_user(session, secret) == uid
        assert profiles.feed_user(session, secret + "x") is None
        view = profiles.get_profile(session, uid)
        assert (view.categories, view.exploration, view.has_feed) == (("cs.LG",), 0.3, True)
        assert profiles.has_profile(session, uid)
    with pytest.raises(profiles.ProfileError):
        profiles.save_profile(session_factory, user_id=uid, now=recokit.NOW, exploration=0.9)
    with session_factory() as db, db.begin():
        user = db.get(User, uid)
        assert user is not None
        delete_account(db, db_settings, user, "a-long-password")
    with session_factory() as session:
        assert session.scalar(select(ReaderProfile.user_id)) is None
        assert session.scalars(select(ReaderSignal.user_id)).all() == [other]
        assert profiles.feed_user(session, secret) is None
