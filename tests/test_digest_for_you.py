"""The digest's For-you section: first, in the ledger (sent once, the same after a crash); rating links."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import recokit
import webdata
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.digests import ledger
from paperfeed.digests.for_you import PREFIX, for_you_picks
from paperfeed.digests.ledger_models import DigestSentPaper
from paperfeed.digests.periods import Period
from paperfeed.digests.send import send_due
from paperfeed.mailsink import SmtpSink
from paperfeed.recommend.mail_links import rating_token
from paperfeed.recommend.models import ReaderSignal
from paperfeed.recommend.onboarding import import_seeds
from paperfeed.recommend.seeds import SeedRef
from paperfeed.recommend.signals import record_signal
from sendkit import add_subscribers, by_recipient, sink_settings

WEEK = Period.week_of(date(2026, 5, 26))  # week 22: webdata's D1-D3
NOW = datetime(2026, 6, 1, 22, tzinfo=UTC)
READER = "reader@example.org"
# The week's papers leaning to theme B (recokit.THEMES), where the reader's seed is.
OTHER = "plain@example.org"
HREF = re.compile(r'href="([^"]+)"')
RATE = re.compile(r"(More|Less) like this: (\S+)")


def _setup(
    factory: sessionmaker[Session], settings: Settings, sink: SmtpSink
) -> tuple[Settings, dict[str, int], int]:
    s = sink_settings(settings, sink, digest_for_you_papers=2)
    keys = recokit.fill(factory)
    user = recokit.reader(factory, s)  # reader@example.org, verified
    # One seed outside the week, on theme B: the week's theme-B papers are the reader's.
    report = import_seeds(factory, [SeedRef(arxiv_id="2606.00002")], user_id=user, settings=s, now=NOW)
    assert report.recorded == 1
    add_subscribers(factory, [READER, OTHER], frequency="weekly", max_papers=4)
    return s, keys, user


def _papers(msg: EmailMessage) -> list[str]:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    seen: list[str] = []
    for href in HREF.findall(part.get_content()):
        key = href.rsplit("/papers/", 1)[1] if "/papers/" in href else None
        if key and key not in seen:
            seen.append(key)
    return seen


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_for_you_comes_first_is_stored_and_sent_once(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s, keys, user = _setup(session_factory, db_settings, smtp_sink)
    with session_factory() as session:
        expected = for_you_picks(
            session, user_id=user, period=WEEK, settings=s, exclude=(), only_code=False, now=NOW
        )
    by_id = {v: k for k, v in keys.items()}
    expected_keys = [by_id[p.paper_id] for p in expected]
    # Which two the model picks is its call (tests/test_recommend_*.py judge that); here: two, not the seed.
    assert len(expected_keys) == 2 and "2606.00002" not in expected_keys
    report = ledger.prepare(session_factory, settings=s, period=WEEK, now=NOW)
    assert report.prepared == 2
    sent = send_due(session_factory, settings=s)
    assert sent.sent == 2
    got = by_recipient(smtp_sink.messages)
    [mine], [plain] = got[READER], got[OTHER]
    papers = _papers(mine)
    # The reader's two For-you papers first, then the trending fill without them.
    assert papers[:2] == expected_keys
    assert len(papers) == 4 and not set(papers[2:]) & set(expected_keys)
    text = _text(mine)
    assert text.index("FOR YOU") < text.index("MORE PAPERS")
    assert "Because you imported “Another June Paper”" in text
    assert len(RATE.findall(text)) == 4  # more and less for each For-you paper
    html = mine.get_body(preferencelist=("html",))
    assert (
        html is not None
        and ">For you</h2>" in html.get_content()
        and "More like this</a>" in html.get_content()
    )
    # A subscriber without an account profile gets the digest as before: trending, no section, no links.
    assert _papers(plain) == [webdata.MATH_ID, webdata.HOSTILE_ID, webdata.MANY_AUTHORS_ID, "2605.00101"]
    assert "FOR YOU" not in _text(plain) and "like this" not in _text(plain)
    # Stored in the ledger with the rest of the selection; a second run prepares and sends nothing.
    with session_factory() as session:
        reasons = session.scalars(select(DigestSentPaper.reason).order_by(DigestSentPaper.position)).all()
    assert sum(r.startswith(PREFIX) for r in reasons) == 2
    assert ledger.prepare(session_factory, settings=s, period=WEEK, now=NOW).prepared == 0
    assert send_due(session_factory, settings=s).sent == 0
    assert len(smtp_sink.messages) == 2


def test_a_resend_after_a_crash_sends_the_prepared_for_you_papers_not_a_new_ranking(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s, keys, user = _setup(session_factory, db_settings, smtp_sink)
    ledger.prepare(session_factory, settings=s, period=WEEK, now=NOW)
    with session_factory() as session:
        stored = session.scalars(
            select(DigestSentPaper.paper_id)
            .where(DigestSentPaper.reason.startswith(PREFIX))
            .order_by(DigestSentPaper.position)
        ).all()
    assert len(stored) == 2
    # The process dies after the prepare; meanwhile the reader turns down the first pick.
    record_signal(session_factory, user_id=user, paper_id=stored[0], kind="less", now=NOW)
    with session_factory() as session:
        again = for_you_picks(
            session, user_id=user, period=WEEK, settings=s, exclude=(), only_code=False, now=NOW
        )
    assert stored[0] not in [p.paper_id for p in again]  # a re-ranking would drop it
    assert send_due(session_factory, settings=s).sent == 2
    [mine] = by_recipient(smtp_sink.messages)[READER]
    by_id = {v: k for k, v in keys.items()}
    assert _papers(mine)[:2] == [by_id[pid] for pid in stored]


def _signals(factory: sessionmaker[Session]) -> list[tuple[int, str]]:
    with factory() as session:
        return [
            (int(p), str(k)) for p, k in session.execute(select(ReaderSignal.paper_id, ReaderSignal.kind))
        ]


def test_rating_links_record_only_on_post_and_refuse_tampered_or_expired_tokens(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s, keys, user = _setup(session_factory, db_settings, smtp_sink)
    ledger.prepare(session_factory, settings=s, period=WEEK, now=NOW)
    send_due(session_factory, settings=s)
    [mine] = by_recipient(smtp_sink.messages)[READER]
    links = {kind: url for kind, url in RATE.findall(_text(mine))}
    less = urlsplit(links["Less"])
    assert (less.scheme, less.netloc, less.path) == ("https", "papers.example.org", "/for-you/rate")
    token = less.query.removeprefix("token=")
    before = _signals(session_factory)
    client = TestClient(create_app(s), base_url="http://testserver")  # a mail scanner: no login, no cookie
    page = client.get(f"/for-you/rate?{less.query}")
    assert page.status_code == 200 and "Less like this?" in page.text
    assert f'name="token" value="{token}"' in page.text and 'action="/for-you/rate"' in page.text
    assert client.get(f"/for-you/rate?{less.query}").status_code == 200
    assert _signals(session_factory) == before  # prefetching the link rated nothing
    # The button: a POST with the token and nothing else (another browser, no session, no CSRF cookie).
    fresh = TestClient(create_app(s), base_url="http://testserver")
    done = fresh.post("/for-you/rate", data={"token": token})
    assert done.status_code == 200 and "Thanks: noted" in done.text
    rated = [pid for pid, kind in _signals(session_factory) if kind == "less"]
    assert len(rated) == 1 and rated[0] in {keys[k] for k in _papers(mine)[:2]}  # one of its For-you papers
    # Tampered: another paper in a hand-edited token, or a token signed with another secret.
    forged = rating_token(
        s.model_copy(update={"secret_key": "not-the-site-secret"}),
        user_id=user,
        paper_id=keys["2605.00101"],
        kind="more",
    )
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, ""):
        assert fresh.get("/for-you/rate", params={"token": bad}).status_code == 400
        assert fresh.post("/for-you/rate", data={"token": bad}).status_code == 400
    # Expired: a token made longer ago than digest_rating_max_age_s.
    real = time.time()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(time, "time", lambda: real - s.digest_rating_max_age_s - 60)
        old = rating_token(s, user_id=user, paper_id=keys["2605.00101"], kind="more")
    r = fresh.post("/for-you/rate", data={"token": old})
    assert r.status_code == 400 and "expired" in r.text
    assert len(_signals(session_factory)) == len(before) + 1  # only the one real click was recorded
