"""The demo outbox (a Maildir-backed SMTP sink at /dev/outbox, demo mode only) and `digest preview`."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import webdata
from paperfeed.cli import app as cli_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.digests.models import Subscription
from paperfeed.digests.outbox import MaildirSink, list_outbox, outbox_dir, read_outbox, start_demo_sink
from paperfeed.mail import new_message, send_message

BASE = "http://testserver"
LOOPBACK = ("127.0.0.1", 50000)  # the outbox answers only a browser on the demo's own machine


@pytest.fixture
def demo_site(settings: Settings) -> Iterator[tuple[TestClient, MaildirSink]]:
    """A demo-mode app whose mail goes to a Maildir sink under data_dir/outbox."""
    sink = MaildirSink(outbox_dir(settings)).start()
    s = settings.model_copy(update={"demo": True, "smtp_port": sink.port, "base_url": BASE})
    try:
        with TestClient(webdata.filled_app(s), base_url=BASE, client=LOOPBACK) as client:
            yield client, sink
    finally:
        sink.stop()


def test_outbox_is_404_outside_demo_mode(settings: Settings) -> None:
    with TestClient(webdata.filled_app(settings), base_url=BASE) as client:
        for path in ("/dev/outbox", "/dev/outbox/1795873273.M600843P662Q1.vm", "/dev/outbox/x/html"):
            r = client.get(path)
            assert r.status_code == 404, path
            assert "Not found" in r.text


def test_outbox_answers_only_this_machine(demo_site: tuple[TestClient, MaildirSink]) -> None:
    client, _sink = demo_site
    listing = client.get("/dev/outbox")
    assert listing.status_code == 200 and "answers only" in listing.text and "this machine" in listing.text
    assert client.get("/dev/outbox", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    assert client.get("/dev/outbox", headers={"Forwarded": "for=203.0.113.7"}).status_code == 404
    for peer in (("203.0.113.7", 5000), ("10.0.0.2", 5000), ("testclient", 5000)):
        with TestClient(client.app, base_url=BASE, client=peer) as remote:
            for path in ("/dev/outbox", "/dev/outbox/1795873273.M600843P662Q1.vm", "/dev/outbox/x/html"):
                assert remote.get(path).status_code == 404, (peer, path)
    for peer in (("::1", 5000), ("::ffff:127.0.0.1", 5000)):
        with TestClient(client.app, base_url=BASE, client=peer) as local:
            assert local.get("/dev/outbox").status_code == 200, peer


def test_outbox_lists_and_shows_received_mail(demo_site: tuple[TestClient, MaildirSink]) -> None:
    client, sink = demo_site
    assert "No mail yet" in client.get("/dev/outbox").text
    page = client.get("/papers").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    assert (
        client.post("/subscribe", data={"email": "demo@example.org", "csrf_token": csrf.group(1)}).status_code
        == 200
    )
    assert len(sink.messages) == 1  # the sink still keeps messages in memory too

    listing = client.get("/dev/outbox")
    assert listing.status_code == 200 and "Confirm your subscription to paperfeed" in listing.text
    assert "demo@example.org" in listing.text
    link = re.search(r'href="(/dev/outbox/[^"/]+)"', listing.text)
    assert link
    view = client.get(link.group(1))
    assert view.status_code == 200
    assert "Message-ID" in view.text and "/subscribe/confirm?token=" in view.text  # headers and text part
    assert f'src="{link.group(1)}/html"' in view.text and "sandbox" in view.text
    assert re.search(
        r'<a href="http://testserver/subscribe/confirm\?token=[\w.-]+"', view.text
    )  # one click away
    csp = view.headers["content-security-policy"]
    assert "frame-src 'self'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp

    frame = client.get(link.group(1) + "/html")
    assert frame.status_code == 200 and frame.headers["content-type"].startswith("text/html")
    assert frame.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert "Confirm my subscription" in frame.text
    for bad in ("/dev/outbox/nope", "/dev/outbox/..%2F..%2Fetc", "/dev/outbox/nope/html"):
        assert client.get(bad).status_code == 404


def test_hostile_mail_is_escaped_in_the_outbox(
    demo_site: tuple[TestClient, MaildirSink], settings: Settings
) -> None:
    client, sink = demo_site
    s = settings.model_copy(update={"smtp_port": sink.port})
    html = '<script>window.__pwned=1</script><p onclick="x()">hi</p>'
    send_message(
        s, new_message(s, to="a@example.org", subject="<script>alert(1)</script>", text="<b>t</b>", html=html)
    )
    [entry] = list_outbox(outbox_dir(settings))
    view = client.get(f"/dev/outbox/{entry.key}").text
    assert "<script>alert(1)" not in view and "&lt;script&gt;alert(1)&lt;/script&gt;" in view
    assert "<script>window" not in view and "<b>t</b>" not in view
    # The HTML part is served as itself, but sandboxed: no script runs, nothing is fetched.
    frame = client.get(f"/dev/outbox/{entry.key}/html")
    assert "sandbox" in frame.headers["content-security-policy"]
    found = read_outbox(outbox_dir(settings), entry.key)
    assert found is not None and found[0]["Subject"] == "<script>alert(1)</script>"


def test_outbox_links_leave_sentence_punctuation_out(
    demo_site: tuple[TestClient, MaildirSink], settings: Settings
) -> None:
    client, sink = demo_site
    s = settings.model_copy(update={"smtp_port": sink.port})
    text = (
        "You subscribed at http://127.0.0.1:8000. Settings: http://127.0.0.1:8000/preferences?token=abc, bye."
    )
    send_message(s, new_message(s, to="a@example.org", subject="links", text=text))
    [entry] = list_outbox(outbox_dir(settings))
    view = client.get(f"/dev/outbox/{entry.key}").text
    assert '<a href="http://127.0.0.1:8000"' in view
    assert '<a href="http://127.0.0.1:8000/preferences?token=abc"' in view
    assert not re.findall(r'<a href="https?://[^"]*[.,;:]"', view)


def test_demo_sink_takes_a_free_port_and_files_mail(settings: Settings) -> None:
    first, s1 = start_demo_sink(settings)
    try:
        # The configured port is taken now: a second sink falls back to a free one.
        second, s2 = start_demo_sink(settings.model_copy(update={"smtp_port": s1.smtp_port}))
        try:
            assert s2.smtp_port != s1.smtp_port and s2.smtp_host == "127.0.0.1"
            send_message(s2, new_message(s2, to="x@example.org", subject="hello", text="body"))
            assert [m.message["Subject"] for m in second.messages] == ["hello"]
            assert [e.subject for e in list_outbox(outbox_dir(settings))] == ["hello"]
        finally:
            second.stop()
    finally:
        first.stop()


def test_preview_command(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(settings)
    from paperfeed.db.migrate import upgrade

    upgrade(engine)
    factory = make_sessionmaker(engine)
    webdata.fill(factory)
    now = datetime.now(UTC)
    with factory() as session, session.begin():
        session.add(
            Subscription(
                email="reader@example.org",
                status="active",
                frequency="weekly",
                categories=["cs"],
                saved_searches=[],
                authors=[],
                max_papers=10,
                only_code=False,
                created_at=now,
                updated_at=now,
            )
        )
    engine.dispose()
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(tmp_path))
    db = settings.database_url
    runner = CliRunner()
    result = runner.invoke(cli_app, ["digest", "preview", "Reader@Example.org", "--db", db])
    assert result.exit_code == 0, result.output
    eml, html = (Path(line) for line in result.stdout.strip().splitlines()[-2:])
    assert eml.parent == tmp_path / "previews" and eml.name == "digest-1-2026-W23.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/one-click?token=")
    assert "June Paper" in html.read_text()
    week22 = runner.invoke(
        cli_app, ["digest", "preview", "reader@example.org", "--db", db, "--period", "2026-W22"]
    )
    assert week22.exit_code == 0 and "2026-W22" in week22.stdout
    empty = runner.invoke(
        cli_app, ["digest", "preview", "reader@example.org", "--db", db, "--period", "2026-W30"]
    )
    assert empty.exit_code == 1 and "would be empty" in empty.output
    assert runner.invoke(cli_app, ["digest", "preview", "nobody@example.org", "--db", db]).exit_code == 1
    bad = runner.invoke(
        cli_app, ["digest", "preview", "reader@example.org", "--db", db, "--period", "2026-W99"]
    )
    assert bad.exit_code == 2
