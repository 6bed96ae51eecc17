"""Submissions: an arXiv id or arxiv.org link in, metadata from the configured arXiv API, one per day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

import webdata
from communitydata import Site, login, make_site, sign_in_as
from paperfeed.community import submissions
from paperfeed.config import Settings
from paperfeed.db.models import Paper, Submission
from paperfeed.errors import Conflict, NotFound, UpstreamError, UserError
from replay import ReplayServer, Reply, recorded_body_bytes

DATA = Path(__file__).parent / "data" / "arxiv_api"
NOW = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)


def serve(server: ReplayServer, name: str) -> None:
    server.load_arxiv_recording(next(DATA.glob(f"recorded_id_{name}_s0_m100_*.json")))


@pytest.fixture
def site(db_settings: Settings, replay_server: ReplayServer) -> Iterator[Site]:
    settings = db_settings.model_copy(
        update={
            "arxiv_api_url": replay_server.url + "/api/query",
            "http_backoff_base_s": 0.01,
            "arxiv_min_interval_s": 0.0,
            # The recorded arXiv answers are of papers from years ago; the age rule has its own tests.
            "submission_max_age_days": 36500,
        }
    )
    with make_site(settings) as s:
        yield s


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.00001", ("2401.00001", None)),
        (" 2401.00001v3 ", ("2401.00001", 3)),
        ("arXiv:2401.00001", ("2401.00001", None)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("https://arxiv.org/abs/2401.00001", ("2401.00001", None)),
        ("http://arxiv.org/abs/2401.00001v2", ("2401.00001", 2)),
        ("https://arxiv.org/pdf/2401.00001v2", ("2401.00001", 2)),
        ("https://arxiv.org/pdf/2401.00001.pdf", ("2401.00001", None)),
        ("https://www.arxiv.org/abs/2401.00001/", ("2401.00001", None)),
        ("https://export.arxiv.org/abs/2401.00001?context=cs#x", ("2401.00001", None)),
        ("HTTPS://ARXIV.ORG/abs/2401.00001", ("2401.00001", None)),
        ("https://arxiv.org:443/abs/2401.00001", ("2401.00001", None)),
        ("arxiv.org/abs/astro-ph/0601001v2", ("astro-ph/0601001", 2)),
    ],
)
def test_ids_and_links_accepted(text: str, expected: tuple[str, int | None]) -> None:
    assert submissions.extract_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "http://127.0.0.1/abs/2401.00001",
        "http://[::1]/abs/2401.00001",
        "http://2130706433/abs/2401.00001",
        "https://arxiv.org@127.0.0.1/abs/2401.00001",
        "https://user:pw@arxiv.org/abs/2401.00001",
        "https://arxiv.org.evil.example/abs/2401.00001",
        "https://arxiv.org:8080/abs/2401.00001",
        "file:///etc/passwd",
        "gopher://arxiv.org/abs/2401.00001",
        "ftp://arxiv.org/abs/2401.00001",
        "javascript:alert(1)",
        "https://arxiv.org/list/cs.AI/new",
        "https://arxiv.org/abs/not-an-id",
        "https://arxiv.org/abs/2401.00001 http://127.0.0.1/",
        "2401.00001\r\nHost: evil",
    ],
)
def test_everything_else_refused(text: str) -> None:
    with pytest.raises(UserError):
        submissions.extract_arxiv_id(text)


def test_day_follows_the_configured_time_zone(settings: Settings) -> None:
    late = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert submissions.submission_day(settings, late) == date(2026, 6, 1)
    kiribati = settings.model_copy(update={"submission_timezone": "Pacific/Kiritimati"})  # UTC+14
    assert submissions.submission_day(kiribati, late) == date(2026, 6, 2)


def test_submit_fetches_from_the_api_and_lists_today(site: Site, replay_server: ReplayServer) -> None:
    serve(replay_server, "1605.08386")
    done = submissions.submit_paper(
        site.factory, site.settings, text="https://arxiv.org/pdf/1605.08386v1", username="alice", now=NOW
    )
    assert done.key == "1605.08386" and done.fetched and done.day == NOW.date()
    assert done.title == "Heat-bath random walks with Markov bases"
    [req] = replay_server.requests
    assert req.path == "/api/query" and req.param("id_list") == "1605.08386"
    with site.factory() as s:
        sub = s.scalars(select(Submission).join(Paper).where(Paper.key == "1605.08386")).one()
        assert (sub.day, sub.submitted_by, sub.source) == (NOW.date(), "alice", "user")
        assert sub.paper.author_names == ["Caprice Stanley", "Tobias Windisch"]

    # The same paper again, by anyone, the same day: refused, nothing fetched or written.
    with pytest.raises(Conflict, match="already on the list of 2026-06-03 \\(submitted by alice\\)"):
        submissions.submit_paper(site.factory, site.settings, text="1605.08386v2", username="bob", now=NOW)
    assert len(replay_server.requests) == 1
    assert site.count(Submission, Submission.source == "user") == 1
    # The next day it may be submitted again (from the stored paper: no second fetch).
    later = submissions.submit_paper(
        site.factory, site.settings, text="1605.08386", username="bob", now=NOW.replace(day=4)
    )
    assert not later.fetched and len(replay_server.requests) == 1


def test_paper_already_stored_is_not_fetched(site: Site, replay_server: ReplayServer) -> None:
    done = submissions.submit_paper(
        site.factory, site.settings, text=webdata.OLD_ID, username="alice", now=NOW
    )
    assert done.key == webdata.OLD_ID and not done.fetched
    assert replay_server.requests == []
    # Listed by arXiv on 29 May already: a user cannot submit it again for that day.
    may29 = datetime(2026, 5, 29, 9, tzinfo=UTC)
    with pytest.raises(Conflict, match="already on the list of 2026-05-29"):
        submissions.submit_paper(
            site.factory, site.settings, text=webdata.OLD_ID, username="alice", now=may29
        )


def test_unknown_paper_and_arxiv_failures(site: Site, replay_server: ReplayServer) -> None:
    # arXiv's real answer for an id it does not know (recorded for 0808.05394): an empty feed.
    recording = json.loads(next(DATA.glob("recorded_id_0808.05394_s0_m100_*.json")).read_text())
    replay_server.add("/api/query", Reply(200, body=recorded_body_bytes(recording["body"])))
    before = site.count(Paper)
    with pytest.raises(NotFound, match=r"arXiv has no paper 2401\.99999"):
        submissions.submit_paper(site.factory, site.settings, text="2401.99999", username="alice", now=NOW)
    replay_server.add("/api/query", Reply(503, body=b"busy"))
    with pytest.raises(UpstreamError, match="arXiv did not answer"):
        submissions.submit_paper(site.factory, site.settings, text="1605.08386", username="alice", now=NOW)
    assert len(replay_server.requests) == 1 + 2  # one retry (submission_fetch_retries)
    replay_server.add("/api/query", Reply(200, body=b"<html>not atom</html>"))
    with pytest.raises(UpstreamError, match="unreadable"):
        submissions.submit_paper(site.factory, site.settings, text="1605.08386", username="alice", now=NOW)
    assert site.count(Paper) == before and site.count(Submission, Submission.source == "user") == 0


def test_submit_page(site: Site, replay_server: ReplayServer) -> None:
    serve(replay_server, "1605.08386")
    site.user("alice")
    site.user("newbie", verified=False)
    anon = site.client()
    r = anon.get("/submit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsubmit"
    newbie = site.client()
    sign_in_as(site, newbie, "newbie")  # the login form refuses an unconfirmed address
    assert "Confirm your email address first" in newbie.get("/submit").text

    client = site.client()
    token = login(client, "alice")
    page = client.get("/submit")
    assert page.status_code == 200 and 'name="arxiv"' in page.text
    r = client.post("/submit", data={"csrf_token": token, "arxiv": "1605.08386"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/submit?done=1605.08386"
    done = client.get(r.headers["location"]).text
    assert "Heat-bath random walks with Markov bases" in done and "is on today's list" in done
    today = datetime.now(UTC).date().isoformat()
    listing = client.get("/papers", params={"date": today}).text
    assert "Heat-bath random walks with Markov bases" in listing
    paper = client.get("/papers/1605.08386").text
    assert "Submitted by" in paper and "alice" in paper
    profile = client.get("/u/alice").text
    assert "Heat-bath random walks with Markov bases" in profile

    r = client.post("/submit", data={"csrf_token": token, "arxiv": "https://arxiv.org/abs/1605.08386v1"})
    assert r.status_code == 409 and f"already on the list of {today}" in r.text
    assert 'value="https://arxiv.org/abs/1605.08386v1"' in r.text  # the form keeps what was typed
    r = client.post("/submit", data={"csrf_token": token, "arxiv": "not an id"})
    assert r.status_code == 400 and "arXiv id" in r.text
    assert len(replay_server.requests) == 1

    api = site.client()
    with site.factory() as s:
        from paperfeed.accounts.models import User

        uid = s.scalars(select(User.id).where(User.username == "alice")).one()
    auth = {"Authorization": f"Bearer {site.api_token(uid)}"}
    r = api.post("/api/submissions", json={"arxiv": webdata.OLD_ID}, headers=auth)
    assert r.status_code == 201 and r.json() == {
        "paperId": webdata.OLD_ID,
        "title": "An Old-Style Identifier Paper",
        "day": today,
        "fetched": False,
    }
    r = api.post("/api/submissions", json={"arxiv": webdata.OLD_ID}, headers=auth)
    assert r.status_code == 409 and "already on the list" in r.json()["error"]


def test_submission_quota(site: Site) -> None:
    limited = site.settings.model_copy(update={"submission_limit_user": 1})
    site.app.state.settings = limited
    uid = site.user("alice")
    auth = {"Authorization": f"Bearer {site.api_token(uid)}"}
    api = site.client()
    assert api.post("/api/submissions", json={"arxiv": webdata.OLD_ID}, headers=auth).status_code == 201
    r = api.post("/api/submissions", json={"arxiv": webdata.MATH_ID}, headers=auth)
    assert r.status_code == 429 and "too many" in r.json()["error"] and r.headers["retry-after"]
    assert site.count(Submission, Submission.source == "user") == 1
