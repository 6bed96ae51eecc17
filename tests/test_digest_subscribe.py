"""Subscribing over real HTTP and SMTP: double opt-in, no enumeration, tokens, preferences, unsubscribe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.config import Settings
from paperfeed.digests import subscriptions as subs
from paperfeed.digests.models import Subscription
from paperfeed.mailsink import Received, SmtpSink
from paperfeed.mailsink import free_port as closed_port

BASE = "http://testserver"


@pytest.fixture
def site(db_settings: Settings, smtp_sink: SmtpSink) -> Iterator[TestClient]:
    """The app over a filled database (SQLite and PostgreSQL), mailing to the loopback SMTP sink."""
    s = db_settings.model_copy(update={"smtp_port": smtp_sink.port, "base_url": BASE})
    with TestClient(webdata.filled_app(s), base_url=BASE) as client:
        yield client


def _factory(client: TestClient) -> sessionmaker[Session]:
    return client.app.state.sessionmaker  # type: ignore[attr-defined,no-any-return]


def _settings(client: TestClient) -> Settings:
    return client.app.state.settings  # type: ignore[attr-defined,no-any-return]


def _csrf(client: TestClient, path: str = "/papers") -> str:
    page = client.get(path).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def _sub(client: TestClient, email: str) -> Subscription | None:
    with _factory(client)() as session:
        return session.scalar(select(Subscription).where(Subscription.email == email))


def _link(received: Received, path: str) -> str:
    """The link to `path` in the text part of a received mail (parsed with the email package)."""
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.findall(r"https?://\S+", body.get_content())
    links = [u for u in found if urlsplit(u).path == path]
    assert len(links) == 1, found
    html = received.message.get_body(preferencelist=("html",))
    assert html is not None and links[0].replace("&", "&amp;") in html.get_content()
    return links[0]


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _confirm(client: TestClient, token: str) -> Response:
    """Press the button of the page a confirmation link opens."""
    csrf = _csrf(client, f"/subscribe/confirm?token={token}")
    return client.post("/subscribe/confirm", data={"token": token, "csrf_token": csrf})


def test_a_link_scanner_does_not_confirm(site: TestClient, smtp_sink: SmtpSink) -> None:
    site.post("/subscribe", data={"email": "scanned@example.org", "csrf_token": _csrf(site)})
    link = _link(smtp_sink.messages[-1], "/subscribe/confirm")
    # A mail provider's scanner fetches every link, with no cookies, maybe more than once.
    scanner = TestClient(site.app, base_url=BASE)
    for _ in range(2):
        assert scanner.get(link.removeprefix(BASE)).status_code == 200
        assert scanner.head(link.removeprefix(BASE)).status_code in (200, 405)
    assert _sub(site, "scanned@example.org").status == "pending"  # type: ignore[union-attr]
    # A cross-site POST (no CSRF token) cannot confirm either.
    assert scanner.post("/subscribe/confirm", data={"token": _token(link)}).status_code == 403
    assert _sub(site, "scanned@example.org").status == "pending"  # type: ignore[union-attr]
    # The reader's button does.
    assert "You are subscribed" in _confirm(site, _token(link)).text
    assert _sub(site, "scanned@example.org").status == "active"  # type: ignore[union-attr]


def test_double_opt_in_from_mail_to_active(site: TestClient, smtp_sink: SmtpSink) -> None:
    r = site.post("/subscribe", data={"email": "  Reader@Example.ORG ", "csrf_token": _csrf(site)})
    assert r.status_code == 200 and "Check your inbox" in r.text
    sub = _sub(site, "reader@example.org")
    assert sub is not None and sub.status == "pending" and sub.confirmed_at is None

    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == ["reader@example.org"]
    assert mail.message["Subject"] == "Confirm your subscription to paperfeed"
    assert mail.message["Message-ID"] and mail.message["Date"]
    link = _link(mail, "/subscribe/confirm")
    assert link.startswith(BASE)

    landing = site.get(link.removeprefix(BASE))
    assert landing.status_code == 200 and "Confirm my subscription" in landing.text
    page = _confirm(site, _token(link))
    assert page.status_code == 200 and "You are subscribed" in page.text
    sub = _sub(site, "reader@example.org")
    assert sub is not None and sub.status == "active" and sub.confirmed_at is not None
    # Idempotent: the same link again changes nothing and still answers 200.
    again = site.get(link.removeprefix(BASE))
    assert again.status_code == 200 and "You are subscribed" in again.text
    assert _confirm(site, _token(link)).status_code == 200
    later = _sub(site, "reader@example.org")
    assert later is not None and later.confirmed_at == sub.confirmed_at
    # The confirmed page links to the preferences, and that link works.
    prefs = re.search(r'href="(/preferences\?token=[^"]+)"', page.text)
    assert prefs and site.get(prefs.group(1).replace("&amp;", "&")).status_code == 200


def test_same_answer_for_every_address_state(site: TestClient, smtp_sink: SmtpSink) -> None:
    token = _csrf(site)
    factory, settings = _factory(site), _settings(site)
    # An active address, a pending one and an unsubscribed one, made through the services.
    for email in ("active@example.org", "pending@example.org", "gone@example.org"):
        mailing = subs.subscribe(factory, settings, email)
        assert mailing is not None
    with factory() as session, session.begin():
        for email, status in (("active@example.org", "active"), ("gone@example.org", "unsubscribed")):
            row = session.scalar(select(Subscription).where(Subscription.email == email))
            assert row is not None
            row.status, row.notice_sent_at = status, None
    answers = []
    for email in ("new@example.org", "active@example.org", "pending@example.org", "gone@example.org"):
        r = site.post("/subscribe", data={"email": email, "csrf_token": token})
        answers.append((r.status_code, r.content, sorted(r.headers.keys())))
    # Rate-limited (pending@ was just mailed by the service above): still the same answer.
    assert len({a[1] for a in answers}) == 1, "responses differ between address states"
    assert {a[0] for a in answers} == {200}
    assert len({tuple(a[2]) for a in answers}) == 1
    # Mail went to the new, the active (a preferences link) and the re-subscribed address, not to the
    # pending one mailed a moment ago.
    got = {m.rcpt_tos[0]: m for m in smtp_sink.messages}
    assert set(got) == {"new@example.org", "active@example.org", "gone@example.org"}
    assert "/preferences" in str(got["active@example.org"].message.get_body(preferencelist=("plain",)))
    assert _link(got["gone@example.org"], "/subscribe/confirm")
    gone = _sub(site, "gone@example.org")
    assert gone is not None and gone.status == "pending" and gone.token_version == 2


def test_resending_is_rate_limited(site: TestClient, smtp_sink: SmtpSink) -> None:
    token = _csrf(site)
    for _ in range(3):
        assert (
            site.post("/subscribe", data={"email": "twice@example.org", "csrf_token": token}).status_code
            == 200
        )
    assert len(smtp_sink.messages) == 1
    # Once the interval has passed, a new request sends the confirmation again.
    with _factory(site)() as session, session.begin():
        row = session.scalar(select(Subscription).where(Subscription.email == "twice@example.org"))
        assert row is not None and row.notice_sent_at is not None
        row.notice_sent_at = row.notice_sent_at.replace(year=row.notice_sent_at.year - 1)
    site.post("/subscribe", data={"email": "twice@example.org", "csrf_token": token})
    assert len(smtp_sink.messages) == 2


def test_invalid_address_and_missing_csrf(site: TestClient, smtp_sink: SmtpSink) -> None:
    token = _csrf(site)
    for bad in (
        "",
        "not-an-address",
        "a@b",
        "x@example.org\r\nBcc: victim@example.org",
        "a" * 300 + "@x.org",
    ):
        r = site.post("/subscribe", data={"email": bad, "csrf_token": token})
        assert r.status_code == 400 and "valid email address" in r.text
    assert site.post("/subscribe", data={"email": "ok@example.org"}).status_code == 403
    assert smtp_sink.messages == []
    assert _sub(site, "ok@example.org") is None


def test_smtp_failure_answers_the_same_page(db_settings: Settings) -> None:
    s = db_settings.model_copy(update={"smtp_port": closed_port(), "base_url": BASE, "smtp_timeout_s": 2.0})
    with TestClient(webdata.filled_app(s), base_url=BASE) as client:
        token = _csrf(client)
        ok = client.post("/subscribe", data={"email": "known@example.org", "csrf_token": token})
        assert ok.status_code == 200 and "Check your inbox" in ok.text
        sub = _sub(client, "known@example.org")
        # Pending, and the rate limit was released so a retry can send once the server is back.
        assert sub is not None and sub.status == "pending" and sub.notice_sent_at is None


def _mailed_token(site: TestClient, smtp_sink: SmtpSink, email: str) -> str:
    site.post("/subscribe", data={"email": email, "csrf_token": _csrf(site)})
    return _token(_link(smtp_sink.messages[-1], "/subscribe/confirm"))


def test_tampered_expired_and_revoked_confirmations_are_refused(
    site: TestClient, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _mailed_token(site, smtp_sink, "careful@example.org")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "", "garbage", token + "x"):
        r = site.get("/subscribe/confirm", params={"token": bad})
        assert r.status_code == 400 and "not valid" in r.text
    # A token of another purpose (unsubscribe) does not confirm.
    sub = _sub(site, "careful@example.org")
    assert sub is not None
    assert (
        site.get(
            "/subscribe/confirm", params={"token": subs.unsubscribe_token(_settings(site), sub)}
        ).status_code
        == 400
    )
    # Expired: signed four days ago, valid three.
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 4 * 86400
    )
    old = subs.confirm_token(_settings(site), sub)
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    r = site.get("/subscribe/confirm", params={"token": old})
    assert r.status_code == 400 and "expired" in r.text
    still = _sub(site, "careful@example.org")
    assert still is not None and still.status == "pending"
    # Revoked: after unsubscribing and subscribing again, the first confirmation link is dead.
    with _factory(site)() as session, session.begin():
        row = session.get(Subscription, sub.id)
        assert row is not None
        row.status, row.notice_sent_at = "unsubscribed", None
    fresh = _mailed_token(site, smtp_sink, "careful@example.org")
    assert site.get("/subscribe/confirm", params={"token": token}).status_code == 400
    assert site.get("/subscribe/confirm", params={"token": fresh}).status_code == 200


def _active(site: TestClient, smtp_sink: SmtpSink, email: str) -> Subscription:
    token = _mailed_token(site, smtp_sink, email)
    assert _confirm(site, token).status_code == 200
    sub = _sub(site, email)
    assert sub is not None and sub.status == "active"
    return sub


def test_preferences_are_saved(site: TestClient, smtp_sink: SmtpSink) -> None:
    sub = _active(site, smtp_sink, "prefs@example.org")
    token = subs.preferences_token(_settings(site), sub)
    page = site.get("/preferences", params={"token": token})
    assert page.status_code == 200 and "prefs@example.org" in page.text
    csrf = _csrf(site, f"/preferences?token={token}")
    form = {
        "csrf_token": csrf,
        "token": token,
        "frequency": "weekly",
        "categories": "cs.CL, cs.LG astro-ph",
        "saved_searches": 'retrieval augmented\n"large language model"\n\n',
        "authors": "Ada Lovelace\nJosé García",
        "max_papers": "7",
        "only_code": "on",
    }
    r = site.post("/preferences", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/preferences?")
    saved = _sub(site, "prefs@example.org")
    assert saved is not None
    assert saved.preferences() == {
        "frequency": "weekly",
        "categories": ["cs.CL", "cs.LG", "astro-ph"],
        "saved_searches": ["retrieval augmented", '"large language model"'],
        "authors": ["Ada Lovelace", "José García"],
        "max_papers": 7,
        "only_code": True,
    }
    shown = site.get(r.headers["location"])
    assert "Saved." in shown.text and "José García" in shown.text

    # Bad values: 400 with the reason, nothing changed.
    for field, value in (
        ("max_papers", "0"),
        ("max_papers", "x"),
        ("frequency", "hourly"),
        ("categories", "<b>"),
    ):
        bad = site.post(
            "/preferences", data={**form, field: value, "max_papers": form["max_papers"]} | {field: value}
        )
        assert bad.status_code == 400
        assert "<b>" not in bad.text.split('class="form-error"')[1][:200]
    assert _sub(site, "prefs@example.org").preferences() == saved.preferences()  # type: ignore[union-attr]
    # No CSRF token, or a tampered preferences token: refused, nothing changed.
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"} | {"frequency": "daily"}
    assert site.post("/preferences", data=no_csrf).status_code == 403
    assert (
        site.post("/preferences", data={**form, "token": token[:-2] + "xx", "frequency": "daily"}).status_code
        == 400
    )
    assert site.get("/preferences", params={"token": token[:-2] + "xx"}).status_code == 400
    assert _sub(site, "prefs@example.org").frequency == "weekly"  # type: ignore[union-attr]


def test_unsubscribe_page_asks_first(site: TestClient, smtp_sink: SmtpSink) -> None:
    sub = _active(site, smtp_sink, "leaving@example.org")
    token = subs.unsubscribe_token(_settings(site), sub)
    page = site.get("/unsubscribe", params={"token": token})
    assert page.status_code == 200 and "leaving@example.org" in page.text
    assert _sub(site, "leaving@example.org").status == "active"  # type: ignore[union-attr]  # GET changes nothing
    csrf = _csrf(site, f"/unsubscribe?token={token}")
    assert site.post("/unsubscribe", data={"token": token}).status_code == 403
    done = site.post("/unsubscribe", data={"token": token, "csrf_token": csrf})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert _sub(site, "leaving@example.org").status == "unsubscribed"  # type: ignore[union-attr]


def test_one_click_unsubscribe(site: TestClient, smtp_sink: SmtpSink) -> None:
    sub = _active(site, smtp_sink, "oneclick@example.org")
    other = _active(site, smtp_sink, "stays@example.org")
    token = subs.unsubscribe_token(_settings(site), sub)
    # A mail provider's POST: no cookie, no CSRF token, the RFC 8058 body.
    bare = TestClient(site.app, base_url=BASE)
    for _ in range(2):  # idempotent
        r = bare.post(
            f"/unsubscribe/one-click?token={token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert r.status_code == 200 and len(r.content) < 100 and "location" not in r.headers
        assert _sub(site, "oneclick@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    # Tampered tokens (including one naming the other subscription) change nothing.
    other_token = subs.unsubscribe_token(_settings(site), other)
    forged = token.split(".")[0] + "." + other_token.split(".", 1)[1]
    for bad in (other_token[:-2] + "zz", forged, "", "x.y.z"):
        r = bare.post(f"/unsubscribe/one-click?token={bad}", content=b"List-Unsubscribe=One-Click")
        assert r.status_code == 400 and "location" not in r.headers
    assert _sub(site, "stays@example.org").status == "active"  # type: ignore[union-attr]
    # A client without one-click support opens the URL: it lands on the confirm page.
    r = bare.get(f"/unsubscribe/one-click?token={other_token}", follow_redirects=True)
    assert r.status_code == 200 and "Unsubscribe?" in r.text
    assert _sub(site, "stays@example.org").status == "active"  # type: ignore[union-attr]


def test_unsubscribe_links_survive_resubscribing(site: TestClient, smtp_sink: SmtpSink) -> None:
    sub = _active(site, smtp_sink, "back@example.org")
    old = subs.unsubscribe_token(_settings(site), sub)
    bare = TestClient(site.app, base_url=BASE)
    assert bare.post(f"/unsubscribe/one-click?token={old}").status_code == 200
    again = _active(site, smtp_sink, "back@example.org")
    assert again.token_version == sub.token_version + 1
    # A mail from the first subscription can still stop the mail.
    assert bare.post(f"/unsubscribe/one-click?token={old}").status_code == 200
    assert _sub(site, "back@example.org").status == "unsubscribed"  # type: ignore[union-attr]
