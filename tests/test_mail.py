"""Mail: a message sent over real SMTP to the loopback sink arrives whole; headers cannot be injected."""

from __future__ import annotations

import smtplib

import pytest

from paperfeed.config import Settings
from paperfeed.mail import header_text, new_message, send_message
from paperfeed.mailsink import SmtpSink


def test_message_arrives_with_both_parts(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    msg = new_message(s, to="reader@example.org", subject="Hello", text="plain body", html="<p>html body</p>")
    send_message(s, msg)
    [got] = smtp_sink.messages
    assert got.rcpt_tos == ["reader@example.org"]
    assert got.message["Subject"] == "Hello"
    assert got.message["Message-ID"] == msg["Message-ID"]
    plain = got.message.get_body(preferencelist=("plain",))
    html = got.message.get_body(preferencelist=("html",))
    assert plain is not None and "plain body" in plain.get_content()
    assert html is not None and "<p>html body</p>" in html.get_content()


def test_subject_with_crlf_cannot_add_headers(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    send_message(s, new_message(s, to="a@example.org", subject="Hi\r\nBcc: victim@example.org", text="x"))
    [got] = smtp_sink.messages
    assert got.rcpt_tos == ["a@example.org"]
    assert got.message["Bcc"] is None
    assert b"\r\nBcc:" not in got.raw
    assert header_text("a\r\nb\x00c") == "a b c"


def test_injected_faults(settings: Settings, smtp_sink: SmtpSink) -> None:
    s = settings.model_copy(update={"smtp_port": smtp_sink.port})
    smtp_sink.fail("later@example.org", "451 4.3.0 try later")
    smtp_sink.fail("gone@example.org", "550 5.1.1 no such user")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as first:
        send_message(s, new_message(s, to="later@example.org", subject="x", text="x"))
    assert first.value.recipients["later@example.org"][0] == 451
    send_message(s, new_message(s, to="later@example.org", subject="x", text="x"))  # accepted now
    for _ in range(2):  # 5xx is permanent
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send_message(s, new_message(s, to="gone@example.org", subject="x", text="x"))
        assert refused.value.recipients["gone@example.org"][0] == 550
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["later@example.org"]]
