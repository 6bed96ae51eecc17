"""Upvotes: one per user and paper, counted in the same transaction, idempotent, safe under concurrency."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import webdata
from communitydata import Site, csrf, login, make_site, sign_in_as
from paperfeed.community import votes
from paperfeed.community.models import Vote
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def stored(site: Site, paper_id: int) -> tuple[int, int]:
    """(papers.vote_count, number of vote rows) for a paper."""
    with site.factory() as s:
        count = s.scalar(select(Paper.vote_count).where(Paper.id == paper_id))
        rows = s.scalar(select(func.count()).select_from(Vote).where(Vote.paper_id == paper_id))
    return int(count or 0), int(rows or 0)


def test_vote_is_idempotent_and_counted(site: Site) -> None:
    uid = site.user("alice")
    pid = site.paper_id(webdata.MATH_ID)
    for _ in range(2):
        state = votes.set_vote(site.factory, user_id=uid, paper_id=pid, voted=True)
        assert state.voted and state.vote_count == 1 and state.total == 12 + 1
        assert stored(site, pid) == (1, 1)
    for _ in range(2):
        state = votes.set_vote(site.factory, user_id=uid, paper_id=pid, voted=False)
        assert not state.voted and state.vote_count == 0
        assert stored(site, pid) == (0, 0)
    assert votes.toggle_vote(site.factory, user_id=uid, paper_id=pid).voted
    assert not votes.toggle_vote(site.factory, user_id=uid, paper_id=pid).voted
    with pytest.raises(NotFound):
        votes.set_vote(site.factory, user_id=uid, paper_id=999_999, voted=True)


def test_concurrent_votes_keep_the_counter_exact(site: Site) -> None:
    users = [site.user(f"user{i}") for i in range(4)]
    pid = site.paper_id(webdata.MATH_ID)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def same_vote(uid: int) -> None:
        try:
            barrier.wait()
            votes.set_vote(site.factory, user_id=uid, paper_id=pid, voted=True)
        except BaseException as exc:  # reported below
            errors.append(exc)

    # Eight simultaneous "upvote" requests from one user: one row, one count.
    threads = [threading.Thread(target=same_vote, args=(users[0],)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stored(site, pid) == (1, 1)

    def churn(uid: int, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(15):
                votes.set_vote(site.factory, user_id=uid, paper_id=pid, voted=rng.random() < 0.5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(users[i % 4], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    count, rows = stored(site, pid)
    assert count == rows <= 4


def test_vote_form_without_javascript(site: Site) -> None:
    site.user("alice")
    client = site.client()
    token = login(client, "alice")
    pid = site.paper_id(webdata.MATH_ID)
    back = f"/papers?date=2026-05-29#v{pid}"
    r = client.post(
        f"/papers/{webdata.MATH_ID}/vote",
        data={"csrf_token": token, "vote": "1", "next": back},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == back
    # A double click sends the same form twice: still one vote.
    client.post(
        f"/papers/{webdata.MATH_ID}/vote", data={"csrf_token": token, "vote": "1"}, follow_redirects=False
    )
    assert stored(site, pid) == (1, 1)
    page = client.get("/papers?date=2026-05-29").text
    card = page[page.index(f'id="v{pid}"') :]
    card = card[: card.index("</form>")]
    assert 'aria-pressed="true"' in card and '<span class="count">13</span>' in card
    assert 'name="vote" value="0"' in card  # the next click withdraws
    # Listings elsewhere count it too: the API and the paper page.
    api = client.get("/api/daily_papers", params={"date": "2026-05-29"}).json()
    assert {d["paper"]["id"]: d["paper"]["upvotes"] for d in api}[webdata.MATH_ID] == 13
    assert client.get(f"/api/papers/{webdata.MATH_ID}").json()["upvotes"] == 13
    r = client.post(
        f"/papers/{webdata.MATH_ID}/vote", data={"csrf_token": token, "vote": "0"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{webdata.MATH_ID}"
    assert stored(site, pid) == (0, 0)


def test_vote_with_javascript_gets_json(site: Site) -> None:
    site.user("alice")
    client = site.client()
    token = login(client, "alice")
    r = client.post(
        f"/papers/{webdata.OLD_ID}/vote",
        data={"vote": "1"},
        headers={"Accept": "application/json", "X-CSRF-Token": token, "Origin": "http://testserver"},
    )
    assert r.status_code == 200
    assert r.json() == {"voted": True, "count": 1, "paperId": webdata.OLD_ID}


def test_next_is_a_local_path_only(site: Site) -> None:
    site.user("alice")
    client = site.client()
    token = login(client, "alice")
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/a\r\nX: y",
    ):
        r = client.post(
            f"/papers/{webdata.MATH_ID}/vote",
            data={"csrf_token": token, "vote": "1", "next": target},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == f"/papers/{webdata.MATH_ID}", target


def test_anonymous_and_unverified_cannot_vote(site: Site) -> None:
    site.user("bob", verified=False)
    pid = site.paper_id(webdata.MATH_ID)
    anon = site.client()
    token = csrf(anon)
    r = anon.post(
        f"/papers/{webdata.MATH_ID}/vote", data={"csrf_token": token, "vote": "1"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    bob = site.client()
    token = sign_in_as(site, bob, "bob")  # the login form refuses an unconfirmed address
    r = bob.post(
        f"/papers/{webdata.MATH_ID}/vote", data={"csrf_token": token, "vote": "1"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert stored(site, pid) == (0, 0)


def test_api_votes(site: Site) -> None:
    uid = site.user("alice")
    secret = site.api_token(uid)
    api = site.client()
    auth = {"Authorization": f"Bearer {secret}"}
    pid = site.paper_id(webdata.OLD_ID)
    for _ in range(2):
        r = api.post(f"/api/papers/{webdata.OLD_ID}/vote", headers=auth)
        assert r.status_code == 200
        assert r.json() == {"paperId": webdata.OLD_ID, "voted": True, "upvotes": 1, "voteCount": 1}
    assert stored(site, pid) == (1, 1)
    r = api.delete(f"/api/papers/{webdata.OLD_ID}/vote", headers=auth)
    assert r.json()["voted"] is False and stored(site, pid) == (0, 0)
    assert api.post(f"/api/papers/{webdata.OLD_ID}/vote").status_code == 401
    assert (
        api.post(f"/api/papers/{webdata.OLD_ID}/vote", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    r = api.post("/api/papers/2401.99999/vote", headers=auth)
    assert r.status_code == 404 and "error" in r.json()
    # A logged-in browser's cookie alone does not authorise a write: our script must add the CSRF header.
    browser = site.client()
    login(browser, "alice")
    assert browser.post(f"/api/papers/{webdata.OLD_ID}/vote").status_code == 403
    assert stored(site, pid) == (0, 0)
