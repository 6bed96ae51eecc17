"""Ids and dates no row or window can have answer 4xx, never 500 (red-team finding: 14 routes and 3 dates).

A number beyond 64 bits made the drivers raise (SQLite: int too large; PostgreSQL: out of range) instead of
finding nothing; a window ending on 0001-01-01 started before date.min.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import webdata
from communitydata import Site, csrf, login, make_site
from paperfeed.config import Settings

BIG = "99999999999999999999"  # 20 digits: more than a signed 64-bit integer holds


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def _client(site: Site) -> TestClient:
    # A 500 must show as a status here, not as an exception raised into the test.
    return TestClient(site.app, base_url="http://testserver", raise_server_exceptions=False)


def test_big_ids_in_api_routes_are_4xx(site: Site) -> None:
    uid = site.user("ada")
    bearer = {"Authorization": f"Bearer {site.api_token(uid)}"}
    api = _client(site)
    paper = webdata.MATH_ID
    calls = [
        ("GET", f"/api/collections/{BIG}", None),
        ("PATCH", f"/api/collections/{BIG}", {"name": "x"}),
        ("DELETE", f"/api/collections/{BIG}", None),
        ("PUT", f"/api/collections/{BIG}/papers/{paper}", {}),
        ("DELETE", f"/api/collections/{BIG}/papers/{paper}", None),
        ("PATCH", f"/api/comments/{BIG}", {"body": "x"}),
        ("DELETE", f"/api/comments/{BIG}", None),
        ("POST", f"/api/comments/{BIG}/hide", {"hidden": True}),
        ("DELETE", f"/api/tokens/{BIG}", None),
        ("POST", f"/api/papers/{paper}/comments", {"body": "hi", "parentId": int(BIG)}),
    ]
    for method, path, body in calls:
        r = api.request(method, path, json=body, headers=bearer)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
        assert "error" in r.json(), (method, path)


def test_big_ids_in_web_forms_are_4xx(site: Site) -> None:
    site.user("ada")
    browser = _client(site)
    token = login(browser, "ada")
    paper = webdata.MATH_ID
    posts = [
        (f"/comments/{BIG}/edit", {"body": "x"}),
        (f"/comments/{BIG}/delete", {}),
        (f"/comments/{BIG}/hide", {"hidden": "1"}),
        (f"/collections/{BIG}/edit", {"name": "x"}),
        (f"/collections/{BIG}/delete", {}),
        (f"/collections/{BIG}/papers", {"paper": paper}),
        (f"/collections/{BIG}/papers/{BIG}/note", {"note": "x"}),
        (f"/collections/{BIG}/papers/{BIG}/remove", {}),
        (f"/account/tokens/{BIG}/revoke", {}),
        (f"/papers/{paper}/comments", {"body": "hi", "parent_id": BIG}),
    ]
    for path, data in posts:
        r = browser.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert "text/html" in r.headers["content-type"], path


def test_the_smallest_day_is_a_window_end_not_a_crash(site: Site) -> None:
    client = _client(site)
    csrf(client)  # a browser with cookies, as on the site
    for path in (
        "/trending?until=0001-01-01",
        "/trending?window=month&until=0001-01-01",
        "/api/trending?until=0001-01-01&window=month",
        f"/api/papers/{webdata.MATH_ID}/trending?until=0001-01-01&window=month",
    ):
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
    # Nothing was listed before year 2: the window is empty, not an error.
    assert client.get("/api/trending?until=0001-01-01&window=month").json() == []


def test_a_locked_database_is_a_503_with_retry_after_not_a_500(settings: Settings) -> None:
    """SQLite's writer lock held by another connection past busy_timeout: the request can be retried."""
    import sqlite3

    from fastapi.testclient import TestClient

    from paperfeed.app import create_app
    from paperfeed.db.engine import make_engine
    from paperfeed.db.migrate import upgrade

    upgrade(make_engine(settings))
    quick = settings.model_copy(update={"sqlite_busy_timeout_ms": 50, "signup_limit_ip": 1000})
    holder = sqlite3.connect(str(settings.database_url).removeprefix("sqlite:///"))
    with TestClient(create_app(quick)) as client:
        token = csrf(client)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock (readers go on: WAL)
        try:
            # A login attempt writes first (the rate-limit count), so it meets the held lock.
            answer = client.post(
                "/login",
                data={"email": "a@example.org", "password": "wrong-password", "csrf_token": token},
                follow_redirects=False,
            )
        finally:
            holder.rollback()
            holder.close()
        after = client.post(
            "/login",
            data={"email": "a@example.org", "password": "wrong-password", "csrf_token": token},
            follow_redirects=False,
        )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2", answer.text
    assert "try again" in answer.text
    assert after.status_code == 400  # the lock gone, the same request is answered normally
