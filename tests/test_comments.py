"""Comments: replies, Markdown, author-only editing, deletion, moderator hiding, exact comment counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

import webdata
from communitydata import PASSWORD, Site, assert_inert, login, make_site
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.community import comments
from paperfeed.community.models import Comment
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import Forbidden, NotFound, UserError


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def counted(site: Site, paper_id: int) -> int:
    with site.factory() as s:
        return int(s.scalar(select(Paper.comment_count).where(Paper.id == paper_id)) or 0)


def body_of(site: Site, comment_id: int) -> str:
    with site.factory() as s:
        row = s.get(Comment, comment_id)
        assert row is not None
        return row.body


def test_comment_lifecycle_keeps_the_count(site: Site) -> None:
    alice, bob, mod = site.user("alice"), site.user("bob"), site.user("mia", role="moderator")
    pid = site.paper_id(webdata.MATH_ID)
    c1 = comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="  First **comment**  ")
    c2 = comments.create_comment(site.factory, user_id=bob, paper_id=pid, body="A reply", parent_id=c1)
    assert counted(site, pid) == 2 and body_of(site, c1) == "First **comment**"

    comments.edit_comment(site.factory, user_id=alice, comment_id=c1, body="First, edited")
    with pytest.raises(Forbidden):
        comments.edit_comment(site.factory, user_id=bob, comment_id=c1, body="hijacked")
    with pytest.raises(Forbidden):
        comments.edit_comment(site.factory, user_id=mod, comment_id=c1, body="moderators do not edit")
    assert body_of(site, c1) == "First, edited"

    with pytest.raises(Forbidden):
        comments.set_hidden(site.factory, user_id=bob, comment_id=c1, hidden=True)
    for _ in range(2):  # hiding twice counts once
        comments.set_hidden(site.factory, user_id=mod, comment_id=c2, hidden=True)
    assert counted(site, pid) == 1
    with pytest.raises(UserError):
        comments.edit_comment(
            site.factory, user_id=bob, comment_id=c2, body="sneaky edit of a hidden comment"
        )
    comments.set_hidden(site.factory, user_id=mod, comment_id=c2, hidden=False)
    assert counted(site, pid) == 2

    with pytest.raises(Forbidden):
        comments.delete_comment(site.factory, user_id=bob, comment_id=c1)
    for _ in range(2):  # deleting twice counts once
        comments.delete_comment(site.factory, user_id=alice, comment_id=c1)
    assert counted(site, pid) == 1 and body_of(site, c1) == ""
    # A moderator deletes a hidden comment: it was not counted, so nothing more comes off.
    comments.set_hidden(site.factory, user_id=mod, comment_id=c2, hidden=True)
    comments.delete_comment(site.factory, user_id=mod, comment_id=c2)
    assert counted(site, pid) == 0

    with site.factory() as s:
        tree = comments.thread(s, pid)
    assert tree == []  # both removed and without live replies


def test_thread_shape_and_placeholders(site: Site) -> None:
    alice, bob, mod = site.user("alice"), site.user("bob"), site.user("mia", role="moderator")
    pid = site.paper_id(webdata.MATH_ID)
    top = comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="top")
    reply = comments.create_comment(site.factory, user_id=bob, paper_id=pid, body="reply", parent_id=top)
    comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="second top")
    comments.set_hidden(site.factory, user_id=mod, comment_id=top, hidden=True)
    with site.factory() as s:
        public = comments.thread(s, pid)
        as_mod = comments.thread(s, pid, moderator=True)
    assert [c.body for c in public] == ["", "second top"]  # hidden, kept for its reply
    assert public[0].hidden and public[0].children[0].id == reply
    assert as_mod[0].body == "top" and as_mod[0].hidden


def test_bad_comments_write_nothing(site: Site) -> None:
    alice = site.user("alice")
    pid, other = site.paper_id(webdata.MATH_ID), site.paper_id(webdata.OLD_ID)
    with pytest.raises(UserError, match="empty"):
        comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="  \n ")
    with pytest.raises(UserError, match="at most 100"):
        comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="x" * 101, max_chars=100)
    with pytest.raises(NotFound):
        comments.create_comment(site.factory, user_id=alice, paper_id=999_999, body="hello")
    elsewhere = comments.create_comment(site.factory, user_id=alice, paper_id=other, body="on another paper")
    with pytest.raises(NotFound):
        comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="x", parent_id=elsewhere)
    comments.delete_comment(site.factory, user_id=alice, comment_id=elsewhere)
    with pytest.raises(UserError, match="deleted"):
        comments.create_comment(site.factory, user_id=alice, paper_id=other, body="x", parent_id=elsewhere)
    assert counted(site, pid) == 0 and site.count(Comment, Comment.paper_id == pid) == 0


def test_replies_nest_to_a_limit(site: Site) -> None:
    alice = site.user("alice")
    pid = site.paper_id(webdata.MATH_ID)
    parent = None
    ids = []
    for i in range(comments.MAX_DEPTH + 3):
        parent = comments.create_comment(
            site.factory, user_id=alice, paper_id=pid, body=f"level {i}", parent_id=parent
        )
        ids.append(parent)
    with site.factory() as s:
        node = comments.thread(s, pid)[0]
    depth = 0
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth == comments.MAX_DEPTH
    assert counted(site, pid) == len(ids)


def test_account_deletion_keeps_comments_anonymously(site: Site) -> None:
    alice = site.user("alice")
    pid = site.paper_id(webdata.MATH_ID)
    cid = comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="I was here")
    with site.factory() as db, db.begin():
        user = db.get(User, alice)
        assert user is not None
        accounts.delete_account(db, site.settings, user, PASSWORD)
    with site.factory() as s:
        row = s.get(Comment, cid)
        assert row is not None and row.user_id is None and row.body == "I was here"
        [view] = comments.thread(s, pid)
    assert view.author is None
    page = site.client().get(f"/papers/{webdata.MATH_ID}").text
    assert "deleted account" in page and "I was here" in page


def test_comment_forms(site: Site) -> None:
    site.user("alice"), site.user("bob"), site.user("mia", role="moderator")
    alice, bob, mod = site.client(), site.client(), site.client()
    ta, tb, tm = login(alice, "alice"), login(bob, "bob"), login(mod, "mia")
    path = f"/papers/{webdata.MATH_ID}"
    r = alice.post(
        f"{path}/comments",
        data={"csrf_token": ta, "body": "Nice bound: $O(n^2)$ and [code](https://example.org)"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("#c", 1)[1])
    assert r.headers["location"] == f"{path}#c{cid}"
    r = bob.post(
        f"{path}/comments",
        data={"csrf_token": tb, "body": "A reply", "parent_id": str(cid)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = bob.get(path).text
    assert_inert(page, must_show=("A reply",))
    assert '<a href="https://example.org" rel="nofollow ugc noopener">code</a>' in page
    assert page.count('class="comment"') == 2 and "<math" in page.split('id="comments"')[1]
    assert "(2)" in page.split('id="comments"')[1][:60]

    # Only the author edits; a moderator hides; everyone else sees the placeholder.
    r = bob.post(f"/comments/{cid}/edit", data={"csrf_token": tb, "body": "hijacked"}, follow_redirects=False)
    assert r.status_code == 403 and "hijacked" not in body_of(site, cid)
    r = alice.post(
        f"/comments/{cid}/edit", data={"csrf_token": ta, "body": "Edited *text*"}, follow_redirects=False
    )
    assert r.status_code == 303 and body_of(site, cid) == "Edited *text*"
    assert (
        bob.post(f"/comments/{cid}/hide", data={"csrf_token": tb}, follow_redirects=False).status_code == 403
    )
    assert (
        mod.post(f"/comments/{cid}/hide", data={"csrf_token": tm}, follow_redirects=False).status_code == 303
    )
    assert "[hidden by a moderator]" in bob.get(path).text and "Edited" not in bob.get(path).text
    assert "Edited <em>text</em>" in mod.get(path).text
    assert (
        bob.post(f"/comments/{cid}/delete", data={"csrf_token": tb}, follow_redirects=False).status_code
        == 403
    )
    assert counted(site, site.paper_id(webdata.MATH_ID)) == 1


def test_comments_api(site: Site) -> None:
    alice_id, bob_id = site.user("alice"), site.user("bob")
    a = {"Authorization": f"Bearer {site.api_token(alice_id)}"}
    b = {"Authorization": f"Bearer {site.api_token(bob_id)}"}
    api = site.client()
    url = f"/api/papers/{webdata.OLD_ID}/comments"
    r = api.post(url, json={"body": "Hello <b>there</b>"}, headers=a)
    assert r.status_code == 201
    first = r.json()
    assert first["author"] == "alice" and first["html"] == "<p>Hello &lt;b&gt;there&lt;/b&gt;</p>\n"
    r = api.post(url, json={"body": "reply", "parentId": first["id"]}, headers=b)
    assert r.status_code == 201 and r.json()["parentId"] == first["id"]
    tree = api.get(url).json()
    assert [c["id"] for c in tree] == [first["id"]] and tree[0]["replies"][0]["body"] == "reply"
    assert api.patch(f"/api/comments/{first['id']}", json={"body": "mine now"}, headers=b).status_code == 403
    assert api.patch(f"/api/comments/{first['id']}", json={"body": "edited"}, headers=a).status_code == 204
    assert api.post(f"/api/comments/{first['id']}/hide", json={"hidden": True}, headers=b).status_code == 403
    assert api.post(url, json={"body": "  "}, headers=a).json() == {"error": "a comment cannot be empty"}
    assert api.post(url, json={"body": "anonymous"}).status_code == 401
    assert body_of(site, first["id"]) == "edited"


def test_comment_quota(settings: Settings) -> None:
    with make_site(settings.model_copy(update={"comment_limit_user": 2})) as site:
        site.user("alice")
        client = site.client()
        token = login(client, "alice")
        url = f"/papers/{webdata.MATH_ID}/comments"
        for i in range(2):
            r = client.post(url, data={"csrf_token": token, "body": f"c{i}"}, follow_redirects=False)
            assert r.status_code == 303
        r = client.post(url, data={"csrf_token": token, "body": "one too many"}, follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert site.count(Comment) == 2
