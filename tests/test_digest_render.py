"""Rendering: both parts, the list headers, links and tokens, hostile text, sent over real SMTP and parsed."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import UTC, date, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as settings_hyp
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period, parse_period
from paperfeed.digests.render import (
    DigestRenderer,
    encode_header,
    excerpt,
    plain,
    render_confirmation,
    render_digest,
    render_digest_from,
)
from paperfeed.digests.select import CodeLink, DigestPaper, Pick, SelectionContext, select_digest
from paperfeed.mail import send_message
from paperfeed.mailsink import SmtpSink
from paperfeed.signing import load

WEEK = parse_period("2026-W22", "weekly")


@pytest.fixture
def filled(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    webdata.fill(factory)
    return factory


def _subscriber(factory: sessionmaker[Session], **kw: object) -> Subscription:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "email": "reader@example.org",
        "status": "active",
        "frequency": "weekly",
        "categories": [],
        "saved_searches": ["quadratic"],
        "authors": [],
        "max_papers": 10,
        "only_code": False,
        "token_version": 3,
        "created_at": now,
        "updated_at": now,
    }
    values.update(kw)
    with factory() as session, session.begin():
        sub = Subscription(**values)
        session.add(sub)
        session.flush()
        session.expunge(sub)
    return sub


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    # Over SMTP the lines end in CRLF; compare content, not line endings.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_digest_over_smtp_has_both_parts_headers_and_links(
    settings: Settings, filled: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port, "base_url": "https://papers.example.org"})
    sub = _subscriber(filled)
    with filled() as session:
        picks = select_digest(session, subscription=sub, period=WEEK, settings=s)
        msg = render_digest(
            session, subscription=sub, picks=picks, period=WEEK, settings=s, message_id="<d-1@example.org>"
        )
    send_message(s, msg)
    [got] = smtp_sink.messages
    m = got.message
    assert got.rcpt_tos == ["reader@example.org"]
    assert m.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in m.iter_parts()] == ["text/plain", "text/html"]
    assert m["From"] == s.mail_from and m["To"] == "reader@example.org" and m["Date"]
    assert m["Message-ID"] == "<d-1@example.org>"
    assert m["Subject"] == "paperfeed · The week of May 25, 2026: Quadratic Bounds in $O(n^2)$ Time (+8 more)"
    assert m["List-Id"] == "paperfeed digest <digest.localhost>"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsub = re.fullmatch(
        r"<(https://papers\.example\.org/unsubscribe/one-click\?token=[\w.-]+)>", m["List-Unsubscribe"]
    )
    assert unsub, m["List-Unsubscribe"]
    assert load(s, "unsubscribe", _token(unsub.group(1))) == {"s": sub.id, "v": 3}
    assert (
        b"List-Unsubscribe: <https://papers.example.org/unsubscribe/one-click?token=" in got.raw
    )  # not folded

    text, html = _parts(m)
    assert text.index("Quadratic Bounds") < text.index("Robust")  # saved-search match first
    assert 'Matches your saved search "quadratic"' in text and "Trending" in text
    assert "https://papers.example.org/papers/2605.01001" in text
    assert (
        "https://arxiv.org/abs/2605.01001" in text
        and "GitHub ★ 1,234: https://github.com/example/quadratic" in text
    )
    assert "https://papers.example.org/papers/astro-ph/0601001" in text
    for part in (text, html):
        prefs = re.search(r"https://papers\.example\.org/preferences\?token=([\w.-]+)", part)
        stop = re.search(r"https://papers\.example\.org/unsubscribe\?token=([\w.-]+)", part)
        assert prefs and stop
        assert load(s, "preferences", prefs.group(1)) == {"s": sub.id, "v": 3}
        assert load(s, "unsubscribe", stop.group(1)) == {"s": sub.id, "v": 3}
    assert 'href="https://github.com/example/quadratic"' in html and "★ 1,234" in unescape(html)


def test_hostile_text_is_escaped(settings: Settings, filled: sessionmaker[Session]) -> None:
    sub = _subscriber(filled, saved_searches=["robust"])
    with filled() as session:
        picks = select_digest(session, subscription=sub, period=WEEK, settings=settings)
        msg = render_digest(session, subscription=sub, picks=picks, period=WEEK, settings=settings)
    text, html = _parts(msg)
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; Robust &amp; &lt;b&gt;Safe&lt;/b&gt;" in html
    tags = re.findall(r"<[^>]*>", html)
    names = {re.match(r"</?!?(\w+)", t).group(1).lower() for t in tags}  # type: ignore[union-attr]
    # Only layout tags: no script, style, link, img, b, iframe... from the data or anywhere else.
    assert names <= {
        "doctype",
        "html",
        "head",
        "meta",
        "title",
        "body",
        "table",
        "tr",
        "td",
        "p",
        "h1",
        "h2",
        "a",
        "br",
    }
    for tag in tags:  # inline CSS only; no class, src, event handler or javascript: URL
        assert not re.search(r"\s(class|src|on\w+)=", tag) and "javascript:" not in tag, tag
    assert "max-width:600px" in html
    # The text part is plain text: the title verbatim, on one line, no control characters.
    assert "1. " + plain(webdata.HOSTILE_TITLE) in text
    assert "\r" not in text and "\x0b" not in text


def _one(title: str, **kw: object) -> dict[int, DigestPaper]:
    paper = DigestPaper(
        id=1,
        key="2611.00001",
        arxiv_id="2611.00001",
        title=title,
        abstract=str(kw.get("abstract", "First paragraph.\n\nSecond paragraph.")),
        authors=tuple(f"Author {i}" for i in range(7)),
        categories=("cs.LG",),
        code_links=(
            CodeLink("javascript:alert(1)", "github", 5),
            CodeLink("https://gitlab.com/a/b", "gitlab", 25_300),
        ),
        upvotes=0,
        score=0,
    )
    return {1: paper}


def test_subject_cannot_carry_header_injection(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    sub = Subscription(id=9, email="victim@example.org", frequency="daily", token_version=1)
    evil = "Evil\r\nBcc: attacker@example.org\r\n\r\nInjected body \u202e\u00e9\u00e8 日本"
    msg = render_digest_from(
        _one(evil),
        subscription=sub,
        picks=[Pick(1, "Trending\r\nX-Evil: 1")],
        period=Period.day(date(2026, 11, 27)),
        settings=s,
    )
    send_message(s, msg)
    [got] = smtp_sink.messages
    assert got.rcpt_tos == ["victim@example.org"]
    assert got.message["Bcc"] is None and got.message["X-Evil"] is None
    assert b"\nBcc:" not in got.raw and b"\nX-Evil" not in got.raw
    subject = got.message["Subject"]
    assert "\r" not in subject and "\n" not in subject and "\u202e" not in subject
    assert subject == "paperfeed · November 27, 2026: Evil Bcc: attacker@example.org Injected body éè 日本"
    text, html = _parts(got.message)
    assert "1. Evil Bcc: attacker@example.org Injected body éè 日本\n" in text
    assert "   Trending X-Evil: 1\n" in text
    # Seven authors: five and "et al."; the javascript: code link dropped, big star counts shortened.
    assert "Author 0, Author 1, Author 2, Author 3, Author 4 et al." in text
    assert "javascript" not in text + html and "GitLab ★ 25.3k: https://gitlab.com/a/b" in text
    assert "Second paragraph" not in text  # one paragraph of the abstract


def test_fast_flattening_matches_the_email_package(settings: Settings) -> None:
    sub = Subscription(id=2, email="r@example.org", frequency="daily", token_version=1)
    msg = render_digest_from(
        _one("Ünïcödé title ≠ ascii " * 6),
        subscription=sub,
        picks=[Pick(1, "Trending")],
        period=Period.day(date(2026, 11, 27)),
        settings=settings,
    )
    fast = msg.as_bytes()
    buf = io.BytesIO()
    BytesGenerator(buf, mangle_from_=False, policy=msg.policy).flatten(msg)
    assert fast == buf.getvalue()
    assert bytes(msg) == fast
    a = email.message_from_bytes(fast, policy=email.policy.default)
    assert isinstance(a, EmailMessage)
    assert (
        a["Subject"].startswith("paperfeed · November 27, 2026: Ünïcödé title ≠ ascii Ü")
        and len(a["Subject"]) < 130
    )
    assert _parts(a) == _parts(msg)


def test_rendering_rules(settings: Settings) -> None:
    sub = Subscription(id=2, email="r@example.org", frequency="daily", token_version=1)
    day = Period.day(date(2026, 11, 27))
    with pytest.raises(ValueError, match="empty digest"):
        render_digest_from({}, subscription=sub, picks=[], period=day, settings=settings)
    with pytest.raises(ValueError, match="empty digest"):
        render_digest_from(
            _one("x"), subscription=sub, picks=[Pick(99, "Trending")], period=day, settings=settings
        )
    renderer = DigestRenderer(settings)
    a = render_digest_from(
        _one("A"),
        subscription=sub,
        picks=[Pick(1, "Trending")],
        period=day,
        settings=settings,
        renderer=renderer,
    )
    b = render_digest_from(
        _one("A"),
        subscription=sub,
        picks=[Pick(1, "Trending")],
        period=day,
        settings=settings,
        renderer=renderer,
    )
    assert a["Message-ID"] != b["Message-ID"] and a.get_boundary() != b.get_boundary()
    assert excerpt("word " * 200).endswith(" …") and len(excerpt("word " * 200)) <= 425
    assert excerpt("We show $a + b = c$ " * 30, limit=100).count("$") % 2 == 0  # never cut inside math
    assert encode_header("plain ascii") == "plain ascii"
    encoded = encode_header("é" * 100)
    assert encoded.isascii() and all(len(line) <= 78 for line in encoded.split("\n"))


def test_confirmation_mail(settings: Settings) -> None:
    msg = render_confirmation(
        settings, email="a@example.org", kind="confirm", url="https://x.example/subscribe/confirm?token=abc"
    )
    text, html = _parts(msg)
    assert (
        "https://x.example/subscribe/confirm?token=abc" in text
        and 'href="https://x.example/subscribe/confirm?token=abc"' in html
    )
    assert "72 hours" in text and msg["Subject"] == "Confirm your subscription to paperfeed"
    manage = render_confirmation(
        settings, email="a@example.org", kind="manage", url="https://x.example/preferences?token=abc"
    )
    assert "already subscribed" in _parts(manage)[0]


def test_selection_context_papers_render_without_queries(
    settings: Settings, filled: sessionmaker[Session]
) -> None:
    sub = _subscriber(filled, saved_searches=[], max_papers=3)
    with filled() as session:
        ctx = SelectionContext.build(session, WEEK, settings)
    picks = select_digest(None, subscription=sub, period=WEEK, settings=settings, context=ctx)  # type: ignore[arg-type]
    msg = render_digest_from(ctx.papers, subscription=sub, picks=picks, period=WEEK, settings=settings)
    assert _parts(msg)[0].count("\n   Read: ") == 3


@settings_hyp(max_examples=150, deadline=None)
@given(title=st.text(min_size=1, max_size=300), reason=st.text(max_size=80))
def test_any_title_gives_one_clean_subject_line(title: str, reason: str) -> None:
    s = Settings(secret_key="k" * 32)
    sub = Subscription(id=1, email="r@example.org", frequency="daily", token_version=1)
    msg = render_digest_from(
        _one(title),
        subscription=sub,
        picks=[Pick(1, reason)],
        period=Period.day(date(2026, 11, 27)),
        settings=s,
    )
    raw = msg.as_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    subject = str(parsed["Subject"])
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", subject)
    assert subject.startswith("paperfeed · November 27, 2026")
    assert plain(title)[:20] in subject
    # Exactly the headers we set: nothing a title could add.
    assert [k for k, _ in parsed.items()] == [
        "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted",
    ]  # fmt: skip
    text, _ = _parts(parsed)
    assert text.split("\n")[3].startswith("1. ")
