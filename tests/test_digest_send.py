"""Sending digests end to end on SQLite and PostgreSQL to a real SMTP server; each message parsed, checked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.digests import ledger
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period
from paperfeed.digests.send import send_due
from paperfeed.mailsink import SmtpSink
from paperfeed.signing import load
from sendkit import DAY1, DAY2, add_papers, add_subscribers, by_recipient, ledger_rows, sink_settings

HREF = re.compile(r'href="([^"]+)"')


def _run(
    factory: sessionmaker[Session], s: Settings, period: Period, wait: float = 0.0
) -> ledger.PrepareReport:
    report = ledger.prepare(factory, settings=s, period=period)
    send_due(factory, settings=s, period=period.label, wait_retries_s=wait)
    return report


def _papers_in(message: object) -> list[str]:
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[attr-defined]
    return sorted({h for h in HREF.findall(html) if "/papers/" in h})


def test_each_subscriber_gets_one_complete_digest(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = sink_settings(db_settings, smtp_sink)
    add_papers(session_factory, DAY1, 5)
    ids = add_subscribers(session_factory, [f"u{i}@example.org" for i in range(4)], max_papers=3)
    report = ledger.prepare(session_factory, settings=s, period=Period.day(DAY1))
    before = datetime.now(UTC).replace(microsecond=0)  # the Date header has whole seconds
    sent = send_due(session_factory, settings=s)
    after = datetime.now(UTC)
    assert (report.prepared, sent.sent, sent.retried, sent.bounced, sent.uncertain) == (4, 4, 0, 0, 0)
    got = by_recipient(smtp_sink.messages)
    rows = {r.subscription_id: r for r in ledger_rows(session_factory)}
    for sub_id, email in zip(ids, [f"u{i}@example.org" for i in range(4)], strict=True):
        [msg] = got[email]
        row = rows[sub_id]
        assert row.status == "sent" and row.smtp_reply and row.smtp_reply.startswith("250")
        assert msg["Message-ID"] == row.message_id
        assert msg["To"] == email and msg["From"] == "paperfeed <digest@papers.example.org>"
        sent_at = parsedate_to_datetime(msg["Date"]).replace(tzinfo=UTC)
        assert before <= sent_at <= after  # dated when it was sent, however long that took
        assert msg["List-Id"] == "paperfeed digest <digest.papers.example.org>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = re.fullmatch(r"<(.+)>", str(msg["List-Unsubscribe"]))
        assert url is not None
        parts = urlsplit(url[1])
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "papers.example.org",
            "/unsubscribe/one-click",
        )
        assert load(s, "unsubscribe", parse_qs(parts.query)["token"][0]) == {"s": sub_id, "v": 1}
        assert msg.get_content_type() == "multipart/alternative"
        plain = msg.get_body(preferencelist=("plain",))
        assert plain is not None
        text = plain.get_content()
        assert _papers_in(msg) == [f"https://papers.example.org/papers/2611.{i:05d}" for i in range(3)]
        for i in range(3):
            assert f"Paper {i} about retrieval models" in text
            assert f"https://papers.example.org/papers/2611.{i:05d}" in text
    # Running again sends nothing twice: no row is prepared again, none is due.
    assert ledger.prepare(session_factory, settings=s, period=Period.day(DAY1)).prepared == 0
    assert send_due(session_factory, settings=s).sent == 0
    assert len(smtp_sink.messages) == 4


def test_451_is_delivered_later_and_550_bounces_without_retry(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = sink_settings(db_settings, smtp_sink, digest_send_bounce_threshold=1)
    add_papers(session_factory, DAY1, 3)
    emails = ["ok@example.org", "later@example.org", "twice@example.org", "gone@example.org"]
    ids = dict(zip(emails, add_subscribers(session_factory, emails), strict=True))
    smtp_sink.fail("later@example.org", "451 4.3.0 try later")
    smtp_sink.fail("twice@example.org", "451 4.3.0 try later", "452 4.2.2 mailbox full")
    smtp_sink.fail("gone@example.org", "550 5.1.1 no such user")
    _run(session_factory, s, Period.day(DAY1), wait=5.0)
    got = by_recipient(smtp_sink.messages)
    assert {e: len(m) for e, m in got.items()} == {
        "ok@example.org": 1,
        "later@example.org": 1,
        "twice@example.org": 1,
    }
    rows = {r.subscription_id: r for r in ledger_rows(session_factory)}
    assert [rows[ids[e]].attempts for e in emails] == [1, 2, 3, 1]  # the 550 was tried once only
    assert rows[ids["gone@example.org"]].status == "bounced"
    assert rows[ids["gone@example.org"]].last_error == "550 5.1.1 no such user"
    with session_factory() as session:
        gone = session.get(Subscription, ids["gone@example.org"])
        assert gone is not None and (gone.status, gone.bounce_count) == ("bounced", 1)
    # A bounced address gets nothing the next day.
    add_papers(session_factory, DAY2, 3, start=10)
    _run(session_factory, s, Period.day(DAY2))
    assert "gone@example.org" not in by_recipient(smtp_sink.messages)


def test_a_second_period_never_repeats_a_paper(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = sink_settings(db_settings, smtp_sink)
    add_papers(session_factory, DAY1, 4)
    add_papers(session_factory, DAY2, 6)  # papers 0-3 are listed again on DAY2, 4-5 are new
    add_subscribers(session_factory, ["a@example.org"], max_papers=3)
    _run(session_factory, s, Period.day(DAY1))
    _run(session_factory, s, Period.day(DAY2))
    first, second = by_recipient(smtp_sink.messages)["a@example.org"]
    assert not set(_papers_in(first)) & set(_papers_in(second))
    assert len(_papers_in(second)) == 3


def test_one_click_unsubscribe_stops_the_next_digest_and_a_tampered_token_does_not(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = sink_settings(db_settings, smtp_sink)
    add_papers(session_factory, DAY1, 3)
    add_subscribers(session_factory, ["leaves@example.org", "stays@example.org"])
    _run(session_factory, s, Period.day(DAY1))
    got = by_recipient(smtp_sink.messages)
    leave_url = str(got["leaves@example.org"][0]["List-Unsubscribe"]).strip("<>")
    stay_url = str(got["stays@example.org"][0]["List-Unsubscribe"]).strip("<>")
    client = TestClient(create_app(s), base_url="https://papers.example.org")
    tampered = stay_url[:-3] + ("aaa" if not stay_url.endswith("aaa") else "bbb")
    bad = client.post(tampered, content=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert bad.status_code == 400
    for _ in range(2):  # idempotent, no cookie, no redirect
        ok = client.post(leave_url, content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert ok.status_code == 200 and not ok.is_redirect
    add_papers(session_factory, DAY2, 3, start=10)
    smtp_sink.clear()
    _run(session_factory, s, Period.day(DAY2))
    assert list(by_recipient(smtp_sink.messages)) == ["stays@example.org"]


def test_unsubscribed_between_prepare_and_send_gets_nothing(
    session_factory: sessionmaker[Session], db_settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = sink_settings(db_settings, smtp_sink)
    add_papers(session_factory, DAY1, 3)
    [sub, _other] = add_subscribers(session_factory, ["a@example.org", "b@example.org"])
    ledger.prepare(session_factory, settings=s, period=Period.day(DAY1))
    with session_factory() as session, session.begin():
        got = session.get(Subscription, sub)
        assert got is not None
        got.status = "unsubscribed"
    report = send_due(session_factory, settings=s)
    assert (report.sent, report.skipped) == (1, 1)
    assert list(by_recipient(smtp_sink.messages)) == ["b@example.org"]
    assert {r.subscription_id: r.status for r in ledger_rows(session_factory)}[sub] == "skipped"
