"""User text is stored without NUL bytes or other control characters (comments, collections, tokens)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

import webdata
from communitydata import Site, make_site
from paperfeed.community import collections, comments
from paperfeed.community.models import Comment
from paperfeed.config import Settings
from paperfeed.errors import UserError


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def test_comment_bodies_lose_nul_and_control_characters(site: Site) -> None:
    alice = site.user("alice")
    pid = site.paper_id(webdata.MATH_ID)
    body = "Nice\x00 result\x1b[31m!\n\n\tSee **eq. 2**\x7f."
    made = comments.create_comment(site.factory, user_id=alice, paper_id=pid, body=body)
    comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="\x00 second")
    with pytest.raises(UserError, match="cannot be empty"):
        comments.create_comment(site.factory, user_id=alice, paper_id=pid, body="\x00\x00 \x01")
    comments.edit_comment(site.factory, user_id=alice, comment_id=made, body="edited\x00 again")
    with site.factory() as s:
        bodies = list(s.scalars(select(Comment.body).order_by(Comment.id)))
    assert bodies == ["edited again", "second"]
    assert not any("\x00" in b for b in bodies)


def test_api_comment_with_nul_is_stored_clean(site: Site) -> None:
    alice = site.user("alice")
    auth = {"Authorization": f"Bearer {site.api_token(alice)}"}
    api = site.client()
    r = api.post(f"/api/papers/{webdata.OLD_ID}/comments", json={"body": "a\u0000b"}, headers=auth)
    assert r.status_code == 201 and r.json()["body"] == "ab"


def test_collection_text_with_nul_is_refused(site: Site) -> None:
    alice = site.user("alice")
    with pytest.raises(UserError, match="control characters"):
        collections.create_collection(site.factory, user_id=alice, name="List\x00")
    with pytest.raises(UserError, match="control characters"):
        collections.create_collection(site.factory, user_id=alice, name="List", description="a\x00b")
