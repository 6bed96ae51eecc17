"""Account deletion (password + CSRF): sessions, tokens, votes, collections go; comments stay, anonymised."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from accountkit import FAST_HASH, PASSWORD, client_for, csrf, login, make_user
from paperfeed.accounts.models import ApiToken, User, UserSession
from paperfeed.community.models import Collection, CollectionItem, Comment, Vote
from paperfeed.config import Settings
from paperfeed.db.engine import make_sessionmaker, session_scope
from paperfeed.db.models import Paper

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _paper(key: str) -> Paper:
    return Paper(
        key=key, arxiv_id=key, title=f"Paper {key}", abstract="A.", source="arxiv_api", content_hash="0" * 32,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _community_rows(engine: Engine, ada: int, bob: int) -> tuple[int, int]:
    """Two papers voted by both users, a comment each, a public and a private collection of ada's."""
    with session_scope(make_sessionmaker(engine)) as db:
        p1, p2 = _paper("2611.00001"), _paper("2611.00002")
        db.add_all([p1, p2])
        db.flush()
        for uid in (ada, bob):
            for p in (p1, p2):
                db.add(Vote(user_id=uid, paper_id=p.id, created_at=NOW))
                p.vote_count += 1
        first = Comment(paper_id=p1.id, user_id=ada, body="ada's comment", created_at=NOW)
        db.add(first)
        db.flush()
        db.add(Comment(paper_id=p1.id, user_id=bob, parent_id=first.id, body="bob's reply", created_at=NOW))
        p1.comment_count = 2
        for public in (True, False):
            c = Collection(
                user_id=ada, name=f"list {public}", slug=f"list-{public}", public=public, created_at=NOW
            )
            db.add(c)
            db.flush()
            db.add(CollectionItem(collection_id=c.id, paper_id=p1.id, note="n", added_at=NOW))
        return p1.id, p2.id


def test_delete_account(db_settings: Settings, engine: Engine) -> None:
    s = db_settings.model_copy(update=FAST_HASH)
    ada, bob = make_user(s), make_user(s, "bob@example.org", "bob")
    p1, p2 = _community_rows(engine, ada, bob)
    client = client_for(s)
    login(client)
    other_browser = client_for(s, ip="192.0.2.70")
    login(other_browser)
    token = csrf(client, "/account")
    client.post("/account/tokens", data={"csrf_token": token, "name": "script"})

    # Without CSRF, or with the wrong password: refused, nothing removed.
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 403
    r = client.post("/account/delete", data={"csrf_token": token, "password": "not my password"})
    assert r.status_code == 400 and "not deleted" in r.text
    factory = make_sessionmaker(engine)
    with factory() as db:
        assert db.get(User, ada) is not None

    r = client.post("/account/delete", data={"csrf_token": token, "password": PASSWORD})
    assert r.status_code == 200 and "Account deleted" in r.text and "Log in" in r.text
    assert any(v.startswith('pf_session=""') for v in r.headers.get_list("set-cookie"))
    with factory() as db:
        assert db.get(User, ada) is None
        assert db.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == ada)) == 0
        assert db.scalar(select(func.count()).select_from(ApiToken)) == 0
        assert db.scalars(select(Vote.user_id).distinct()).all() == [bob]
        assert [db.get(Paper, p).vote_count for p in (p1, p2)] == [1, 1]
        assert db.scalar(select(func.count()).select_from(Collection)) == 0
        assert db.scalar(select(func.count()).select_from(CollectionItem)) == 0
        comments = {c.body: c.user_id for c in db.scalars(select(Comment))}
        assert comments == {"ada's comment": None, "bob's reply": bob}  # kept, without a name
        assert db.get(Paper, p1).comment_count == 2
        assert db.get(User, bob) is not None
    assert other_browser.get("/account").status_code == 303
    assert login(client_for(s, ip="192.0.2.71")).status_code == 400
