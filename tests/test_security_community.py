"""Security of the community features: XSS inert on every page, no SSRF from submissions, CSRF, roles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import select

import webdata
from communitydata import Site, assert_inert, login, make_site
from paperfeed.community import collections, comments, submissions, votes
from paperfeed.community.models import Collection, CollectionItem, Comment, Vote
from paperfeed.config import Settings
from paperfeed.db.models import Paper, Submission
from replay import ReplayServer

DATA = Path(__file__).parent / "data" / "arxiv_api"
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "\\href{javascript:alert(1)}{x} and $\\href{javascript:alert(1)}{x}$",
    '<a href="javascript:alert(1)">x</a>',
]
SSRF = [
    "http://127.0.0.1/abs/2401.00001",
    "http://[::1]/",
    "http://[::1]/abs/2401.00001",
    "http://2130706433/",
    "http://2130706433/abs/2401.00001",
    "http://0x7f000001/abs/2401.00001",
    "https://arxiv.org@127.0.0.1/abs/2401.00001",
    "http://localhost/abs/2401.00001",
    "https://arxiv.org.127.0.0.1.nip.io/abs/2401.00001",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/_GET%20/",
    "dict://127.0.0.1:11211/stat",
]


@pytest.fixture
def site(db_settings: Settings, replay_server: ReplayServer) -> Iterator[Site]:
    settings = db_settings.model_copy(
        update={
            "arxiv_api_url": replay_server.url + "/api/query",
            "arxiv_min_interval_s": 0.0,
            "submission_max_age_days": 36500,  # the recorded arXiv answers are of old papers
        }
    )
    with make_site(settings) as s:
        yield s


def test_xss_is_inert_on_every_page(site: Site) -> None:
    alice = site.user("alice")
    hostile = site.paper_id(webdata.HOSTILE_ID)
    for body in XSS:
        comments.create_comment(site.factory, user_id=alice, paper_id=hostile, body=body)
    votes.set_vote(site.factory, user_id=alice, paper_id=hostile, voted=True)
    submissions.submit_paper(site.factory, site.settings, text=webdata.HOSTILE_ID, username="alice")
    made = collections.create_collection(
        site.factory, user_id=alice, name="<script>alert(1)</script>", description=XSS[1], public=True
    )
    collections.add_paper(site.factory, user_id=alice, collection_id=made.id, paper_id=hostile, note=XSS[2])
    client = site.client()
    login(client, "alice")
    today = datetime.now(UTC).date().isoformat()
    title = "<script>window.__pwned = 1</script> Robust"
    pages = {
        f"/papers/{webdata.HOSTILE_ID}": (title, "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"),
        "/papers?date=2026-05-29": (title,),
        f"/papers?date={today}": (title,),
        "/u/alice": (title, "<script>alert(1)</script>"),
        f"/u/alice/c/{made.slug}": (title, "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"),
        "/collections": ("<script>alert(1)</script>",),
    }
    paths = {ctx.path for ctx in iter_route_contexts(site.app.routes)}
    if "/search" in paths:
        pages["/search?q=Robust+Safe+Quoted"] = ()
    if "/trending" in paths:
        pages["/trending?window=month"] = ()
    for path, shown in pages.items():
        r = client.get(path)
        assert r.status_code == 200, path
        assert_inert(r.text, must_show=shown)
    # The comments' Markdown really went through the renderer (the math became MathML, links were dropped).
    paper_page = lxml_html.document_fromstring(client.get(f"/papers/{webdata.HOSTILE_ID}").text)
    bodies = paper_page.xpath('//div[@class="comment-body"]')
    assert len(bodies) == len(XSS) and paper_page.xpath(
        '//div[@class="comment-body"]//*[local-name()="math"]'
    )
    assert not paper_page.xpath('//div[@class="comment-body"]//a')

    # The collection's RSS: descriptions are escaped HTML, so a reader renders them as text.
    rss = client.get(f"/u/alice/c/{made.slug}/rss")
    root = etree.fromstring(rss.content)
    for desc in root.iter("description"):
        fragment = lxml_html.fragment_fromstring(desc.text or "", create_parent="div")
        assert [el.tag for el in fragment.iter()] == ["div"], desc.text
    assert root.findtext("channel/item/title") == webdata.HOSTILE_TITLE
    # The comments API hands out the same safe HTML.
    for c in client.get(f"/api/papers/{webdata.HOSTILE_ID}/comments").json():
        frag = lxml_html.fragment_fromstring(c["html"], create_parent="div")
        assert not frag.xpath("//script|//img|//a[starts-with(@href,'javascript')]|//*[@onerror]")


def test_ssrf_attempts_are_refused_without_a_connection(site: Site, replay_server: ReplayServer) -> None:
    uid = site.user("alice")
    client = site.client()
    token = login(client, "alice")
    auth = {"Authorization": f"Bearer {site.api_token(uid)}"}
    own = replay_server.url  # the API server itself, by address: still not a link to arxiv.org
    papers = site.count(Paper)
    for text in [*SSRF, f"{own}/abs/2401.00001", f"{own}/api/query?id_list=2401.00001"]:
        r = client.post("/submit", data={"csrf_token": token, "arxiv": text})
        assert r.status_code == 400, text
        assert "arXiv id" in r.text and "arxiv.org" in r.text, text
        r = client.post("/api/submissions", json={"arxiv": text}, headers=auth)
        assert r.status_code == 400 and "arxiv.org" in r.json()["error"], text
    assert replay_server.requests == []
    assert site.count(Paper) == papers and site.count(Submission, Submission.source == "user") == 0
    # Control: a real arXiv link is fetched, from the configured API only, by id.
    replay_server.load_arxiv_recording(next(DATA.glob("recorded_id_1605.08386_*.json")))
    r = client.post("/submit", data={"csrf_token": token, "arxiv": "https://arxiv.org/abs/1605.08386v1"})
    assert r.status_code == 200
    [req] = replay_server.requests
    assert req.path == "/api/query" and req.param("id_list") == "1605.08386"


def _state(site: Site) -> tuple[object, ...]:
    with site.factory() as s:
        return (
            tuple(s.execute(select(Vote.user_id, Vote.paper_id)).all()),
            tuple(s.execute(select(Comment.id, Comment.body, Comment.deleted_at, Comment.hidden_at)).all()),
            tuple(s.execute(select(Collection.id, Collection.name, Collection.public)).all()),
            tuple(s.execute(select(CollectionItem.paper_id, CollectionItem.note)).all()),
            tuple(s.execute(select(Submission.id)).all()),
            tuple(s.execute(select(Paper.vote_count, Paper.comment_count)).all()),
        )


def test_csrf_on_every_community_form(site: Site) -> None:
    uid = site.user("mia", role="moderator")
    pid = site.paper_id(webdata.MATH_ID)
    cid = comments.create_comment(site.factory, user_id=uid, paper_id=pid, body="original")
    col = collections.create_collection(site.factory, user_id=uid, name="Mine")
    collections.add_paper(site.factory, user_id=uid, collection_id=col.id, paper_id=pid, note="n")
    client = site.client()
    token = login(client, "mia")
    forms = [
        (f"/papers/{webdata.MATH_ID}/vote", {"vote": "1"}),
        (f"/papers/{webdata.MATH_ID}/comments", {"body": "new"}),
        (f"/comments/{cid}/edit", {"body": "changed"}),
        (f"/comments/{cid}/delete", {}),
        (f"/comments/{cid}/hide", {"hidden": "1"}),
        ("/submit", {"arxiv": webdata.OLD_ID}),
        ("/collections", {"name": "Other", "paper": webdata.OLD_ID}),
        (f"/collections/{col.id}/edit", {"name": "Renamed", "public": "1"}),
        (f"/collections/{col.id}/delete", {}),
        (f"/collections/{col.id}/papers", {"paper": webdata.OLD_ID}),
        (f"/collections/{col.id}/papers/{pid}/note", {"note": "changed"}),
        (f"/collections/{col.id}/papers/{pid}/remove", {}),
    ]
    # Every community POST route is in this list (a new form must be added here, and be protected).
    # (FastAPI keeps included routers nested: iter_route_contexts walks them with their full paths.)
    posted = {
        ctx.path
        for ctx in iter_route_contexts(site.app.routes)
        if isinstance(ctx.route, APIRoute)
        and "POST" in ctx.route.methods
        and not ctx.path.startswith("/api/")
        and ctx.route.endpoint.__module__.endswith(("community_pages", "collection_pages"))
    }
    assert len(posted) == len(forms)
    before = _state(site)
    for path, data in forms:
        for extra, headers in (
            ({}, {}),
            ({"csrf_token": "0" * 64}, {}),
            ({"csrf_token": token}, {"Origin": "https://evil.example"}),
            ({"csrf_token": token}, {"Referer": "https://evil.example/page"}),
        ):
            r = client.post(path, data={**data, **extra}, headers=headers, follow_redirects=False)
            assert r.status_code == 403, (path, extra, headers)
    assert _state(site) == before
    # The same forms with the token do change things (so the 403s above were the CSRF check).
    r = client.post(forms[0][0], data={**forms[0][1], "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and _state(site) != before


def test_state_changes_need_post(site: Site) -> None:
    site.user("alice")
    client = site.client()
    login(client, "alice")
    before = _state(site)
    for path in (
        f"/papers/{webdata.MATH_ID}/vote?vote=1",
        f"/papers/{webdata.MATH_ID}/comments?body=hi",
        "/submit?arxiv=2605.00101",
        "/comments/1/delete",
    ):
        assert client.get(path).status_code in (404, 405, 200), path
    assert _state(site) == before


def test_only_authors_edit_and_only_moderators_hide(site: Site) -> None:
    alice, bob = site.user("alice"), site.user("bob")
    pid = site.paper_id(webdata.MATH_ID)
    cid = comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="mine")
    b = site.client()
    tb = login(b, "bob")
    assert b.post(f"/comments/{cid}/edit", data={"csrf_token": tb, "body": "x"}).status_code == 403
    assert b.post(f"/comments/{cid}/hide", data={"csrf_token": tb}).status_code == 403
    assert b.post(f"/comments/{cid}/delete", data={"csrf_token": tb}).status_code == 403
    auth = {"Authorization": f"Bearer {site.api_token(bob)}"}
    assert b.patch(f"/api/comments/{cid}", json={"body": "x"}, headers=auth).status_code == 403
    assert b.post(f"/api/comments/{cid}/hide", json={"hidden": True}, headers=auth).status_code == 403
    assert b.delete(f"/api/comments/{cid}", headers=auth).status_code == 403
    with site.factory() as s:
        row = s.get(Comment, cid)
        assert row is not None and row.body == "mine" and row.visible
