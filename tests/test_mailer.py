"""The pooled mailer against real SMTP servers on loopback: reuse; faults as retry, bounce, uncertain."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from paperfeed.config import Settings
from paperfeed.digests.mailer import Delivery, SmtpPool, classify, envelope_sender, message_bytes
from paperfeed.mail import new_message
from paperfeed.mailsink import SmtpSink, free_port


def _settings(settings: Settings, port: int, **extra: Any) -> Settings:
    return settings.model_copy(update={"smtp_port": port, "smtp_timeout_s": 5.0, **extra})


def _msg(s: Settings, to: str, n: int = 0) -> Any:
    return new_message(s, to=to, subject=f"digest {n}", text=f"body {n}", html=f"<p>body {n}</p>")


def test_pool_reuses_connections_and_sends_one_recipient_each(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = _settings(settings, smtp_sink.port)
    pool = SmtpPool(s, 2)
    results: list[Delivery] = []

    def work(i: int) -> None:
        results.append(pool.send(_msg(s, f"r{i}@example.org", i), f"r{i}@example.org"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.close()
    assert [r.outcome for r in results] == ["sent"] * 12
    assert all(r.code == 250 for r in results)
    assert pool.connections_opened <= 2  # bounded: never more connections than the pool size
    got = {m.rcpt_tos[0]: m.message for m in smtp_sink.messages}
    assert sorted(got) == sorted(f"r{i}@example.org" for i in range(12))
    assert all(len(m.rcpt_tos) == 1 for m in smtp_sink.messages)
    assert got["r3@example.org"]["Subject"] == "digest 3"


def test_connections_are_renewed_after_max_messages(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = _settings(settings, smtp_sink.port)
    pool = SmtpPool(s, 1, max_messages=3)
    for i in range(7):
        assert pool.send(_msg(s, "a@example.org", i), "a@example.org").outcome == "sent"
    pool.close()
    assert pool.connections_opened == 3
    assert len(smtp_sink.messages) == 7


def test_4xx_is_retry_5xx_is_bounce_and_the_connection_survives(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    s = _settings(settings, smtp_sink.port)
    smtp_sink.fail("later@example.org", "451 4.3.0 try later")
    smtp_sink.fail("gone@example.org", "550 5.1.1 no such user")
    pool = SmtpPool(s, 1)
    first = pool.send(_msg(s, "later@example.org"), "later@example.org")
    assert (first.outcome, first.code) == ("retry", 451)
    assert "try later" in first.text
    bounced = pool.send(_msg(s, "gone@example.org"), "gone@example.org")
    assert (bounced.outcome, bounced.code, bounced.reply) == ("bounce", 550, "550 5.1.1 no such user")
    assert pool.send(_msg(s, "later@example.org"), "later@example.org").outcome == "sent"
    pool.close()
    assert pool.connections_opened == 1  # RSET after each refusal: one connection all along
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["later@example.org"]]


def test_421_drops_the_connection_and_retries(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = _settings(settings, smtp_sink.port)
    smtp_sink.fail("busy@example.org", "421 4.7.0 closing, too busy")
    pool = SmtpPool(s, 1)
    res = pool.send(_msg(s, "busy@example.org"), "busy@example.org")
    assert (res.outcome, res.code) == ("retry", 421)
    assert pool.send(_msg(s, "busy@example.org"), "busy@example.org").outcome == "sent"
    pool.close()
    assert pool.connections_opened == 2


def test_an_idle_connection_closed_by_the_server_is_replaced(settings: Settings) -> None:
    port = free_port()
    first = SmtpSink(port=port).start()
    s = _settings(settings, port)
    pool = SmtpPool(s, 1)
    assert pool.send(_msg(s, "a@example.org"), "a@example.org").outcome == "sent"
    first.stop()  # the pooled connection is now dead
    second = SmtpSink(port=port).start()
    try:
        res = pool.send(_msg(s, "a@example.org", 2), "a@example.org")
        assert res.outcome == "sent"  # reconnected: nothing had been handed over, so it is safe
        assert [m.message["Subject"] for m in second.messages] == ["digest 2"]
    finally:
        pool.close()
        second.stop()


def test_no_server_is_a_retry(settings: Settings) -> None:
    s = _settings(settings, free_port())
    res = SmtpPool(s, 1).send(_msg(s, "a@example.org"), "a@example.org")
    assert res.outcome == "retry" and res.code is None
    assert "ConnectionRefused" in res.text


class _DataHandler:
    """A server that takes the whole message, then misbehaves instead of answering DATA."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.got: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append(bytes(envelope.content))
        if self.mode == "hangup":
            server.transport.close()
        else:
            # Never answers (the controller cancels this when it stops): a reply that merely came late
            # could still beat the client's timeout on a loaded machine.
            await asyncio.Event().wait()
        return "250 OK"


@pytest.fixture(params=["hangup", "timeout"])
def misbehaving(request: pytest.FixtureRequest) -> Iterator[tuple[_DataHandler, int]]:
    handler = _DataHandler(request.param)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_no_reply_after_the_end_of_data_is_uncertain(
    settings: Settings, misbehaving: tuple[_DataHandler, int]
) -> None:
    handler, port = misbehaving
    s = _settings(settings, port, smtp_timeout_s=1.0)
    res = SmtpPool(s, 1).send(_msg(s, "a@example.org"), "a@example.org")
    assert res.outcome == "uncertain"  # the server has the message: resending could deliver it twice
    assert len(handler.got) == 1


def test_classify_and_wire_format(settings: Settings) -> None:
    assert classify(smtplib.SMTPRecipientsRefused({"a": (452, b"mailbox full")})).outcome == "retry"
    assert classify(smtplib.SMTPRecipientsRefused({"a": (553, b"bad address")})).outcome == "bounce"
    assert classify(smtplib.SMTPDataError(554, b"rejected")).outcome == "bounce"
    assert classify(smtplib.SMTPDataError(451, b"later")).outcome == "retry"
    # A refused sender or login is our configuration, not the reader's address: never a bounce.
    assert classify(smtplib.SMTPSenderRefused(550, b"no", "x@y")).outcome == "retry"
    assert classify(smtplib.SMTPAuthenticationError(535, b"bad login")).outcome == "retry"
    assert classify(TimeoutError("timed out")).outcome == "retry"
    assert (
        envelope_sender(settings.model_copy(update={"mail_from": "Papers <p@example.org>"}))
        == "p@example.org"
    )
    long_url = "<https://papers.example.org/unsubscribe/one-click?token=" + "x" * 120 + ">"
    msg = _msg(settings, "a@example.org")
    msg["List-Unsubscribe"] = long_url
    msg["Bcc"] = "hidden@example.org"
    raw = message_bytes(msg)
    assert f"List-Unsubscribe: {long_url}\r\n".encode() in raw  # whole, not RFC 2047-encoded
    assert b"Bcc" not in raw and b"hidden@" not in raw
