"""Followed authors in digests: merged into the selection, picked once, never sent twice (both databases)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts import users as accounts
from paperfeed.authors import follows
from paperfeed.config import Settings
from paperfeed.digests import ledger
from paperfeed.digests.ledger_models import DigestSentPaper
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period
from paperfeed.digests.select import DigestPaper, SelectionContext, select_digest
from sendkit import DAY1, DAY2, add_papers, add_subscribers

SETTINGS = Settings(secret_key="test-only-secret")


def _user(factory: sessionmaker[Session], settings: Settings, email: str, *, verified: bool) -> int:
    with factory() as db, db.begin():
        user = accounts.create_user(
            db, settings, email=email, username=email.split("@")[0], password="x" * 12, verified=verified
        )
        return int(user.id)


def _sent(factory: sessionmaker[Session], sub_id: int) -> list[tuple[str, str]]:
    from paperfeed.db.models import Paper

    with factory() as s:
        rows = s.execute(
            select(Paper.key, DigestSentPaper.reason)
            .join(Paper, Paper.id == DigestSentPaper.paper_id)
            .where(DigestSentPaper.subscription_id == sub_id)
            .order_by(DigestSentPaper.send_id, DigestSentPaper.position)
        )
        return [(k, r) for k, r in rows]


def test_followed_authors_papers_come_first_and_are_sent_once(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    add_papers(session_factory, DAY1, 5)  # "Author 4" wrote the least voted one
    [sub_id, other_id] = add_subscribers(
        session_factory, ["reader@example.org", "squat@example.org"], max_papers=2
    )
    reader = _user(session_factory, db_settings, "Reader@Example.org", verified=True)
    squatter = _user(session_factory, db_settings, "squat@example.org", verified=False)
    follows.follow(session_factory, user_id=reader, name="Author 4")
    follows.follow(session_factory, user_id=squatter, name="Author 3")

    ledger.prepare(session_factory, settings=db_settings, period=Period.day(DAY1))
    assert _sent(session_factory, sub_id) == [
        ("2611.00004", "By Author 4, whom you follow"),
        ("2611.00000", "Trending"),
    ]
    # An unverified account's follows do not reach the digest of the address it names.
    assert [k for k, _ in _sent(session_factory, other_id)] == ["2611.00000", "2611.00001"]

    # The next day lists the followed paper again: the ledger keeps it from being sent twice.
    add_papers(session_factory, DAY2, 1, start=4)
    add_papers(session_factory, DAY2, 2, start=10)
    ledger.prepare(session_factory, settings=db_settings, period=Period.day(DAY2))
    keys = [k for k, _ in _sent(session_factory, sub_id)]
    assert keys.count("2611.00004") == 1
    assert keys[2:] == ["2611.00010", "2611.00011"]


def _paper(pid: int, authors: tuple[str, ...], score: int) -> DigestPaper:
    return DigestPaper(
        id=pid,
        key=f"k{pid}",
        arxiv_id=None,
        title=f"T{pid}",
        abstract="a",
        authors=authors,
        categories=("cs.LG",),
        code_links=(),
        upvotes=score,
        score=score,
    )


def test_a_name_followed_on_the_site_and_in_the_subscription_counts_once() -> None:
    period = Period.day(DAY1)
    ctx = SelectionContext.from_papers(
        period, {1: _paper(1, ("Other",), 9), 2: _paper(2, ("José García",), 1), 3: _paper(3, ("Ada",), 0)}
    )
    sub = Subscription(
        id=1,
        email="r@example.org",
        categories=[],
        saved_searches=[],
        authors=["jose garcia"],
        max_papers=2,
        only_code=False,
    )
    picks = select_digest(
        None,  # type: ignore[arg-type]
        subscription=sub,
        period=period,
        settings=SETTINGS,
        context=ctx,
        followed=["José García", "Ada"],
    )
    assert [(p.paper_id, p.reason) for p in picks] == [
        (2, "By José García, whom you follow"),
        (3, "By Ada, whom you follow"),
    ]
