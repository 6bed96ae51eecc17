"""Pooled SMTP delivery, one message per recipient; every failure sorted into retry, bounce or uncertain.

The DATA phase is driven by hand (not smtplib.sendmail) so the mailer knows how far a failed exchange got:
a failure before the final "." was written cannot have delivered anything (safe to retry), a failure after it
(the 250 never arrived) may have delivered it, so that message is `uncertain`, never resent.
"""

from __future__ import annotations

import contextlib
import queue
import re
import smtplib
import threading
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from io import BytesIO
from typing import Literal

from paperfeed.config import Settings
from paperfeed.mail import connect

Outcome = Literal["sent", "retry", "bounce", "uncertain"]

_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class Delivery:
    """What became of one message: the outcome, the server's code (None: no reply) and its text."""

    outcome: Outcome
    code: int | None
    text: str

    @property
    def reply(self) -> str:
        """`code text` as the server said it, or the local error."""
        return f"{self.code} {self.text}" if self.code is not None else self.text


class _Uncertain(Exception):
    """The end of DATA was written but no reply came back."""


def _text(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).strip()[:500]


def classify(exc: BaseException) -> Delivery:
    """Sort an SMTP/network failure: 5xx on RCPT or DATA is a bounce; 4xx, timeouts and the rest retry."""
    if isinstance(exc, _Uncertain):
        return Delivery("uncertain", None, f"no reply after the end of DATA: {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, raw = next(iter(exc.recipients.values()))
        return Delivery("bounce" if 500 <= code < 600 else "retry", code, _text(raw))
    if isinstance(exc, smtplib.SMTPDataError):
        return Delivery(
            "bounce" if 500 <= exc.smtp_code < 600 else "retry", exc.smtp_code, _text(exc.smtp_error)
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        # MAIL FROM, AUTH or greeting refused: our side (or the relay) is wrong, not the reader's address.
        return Delivery("retry", exc.smtp_code, _text(exc.smtp_error))
    return Delivery("retry", None, f"{type(exc).__name__}: {exc}"[:500])


def envelope_sender(settings: Settings) -> str:
    """The bare address of settings.mail_from (the SMTP envelope sender)."""
    pairs = getaddresses([settings.mail_from])
    return pairs[0][1] if pairs and pairs[0][1] else settings.mail_from


def message_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends, no Bcc header, long headers left whole."""
    del message["Bcc"]
    if type(message).as_bytes is not EmailMessage.as_bytes:
        # The renderer's own fast flattening (pre-encoded parts): only the line ends change.
        return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    buf = BytesIO()
    # At the default 78 columns a long unbreakable header (List-Unsubscribe's URL) is folded into RFC 2047
    # encoded-words, which mail clients do not decode there; RFC 5322 allows lines up to 998.
    policy = message.policy.clone(linesep="\r\n", max_line_length=998)
    BytesGenerator(buf, policy=policy).flatten(message)
    return buf.getvalue()


class SmtpPool:
    """Up to `size` open SMTP connections shared by threads; broken ones are dropped and replaced."""

    def __init__(self, settings: Settings, size: int, *, max_messages: int = 100) -> None:
        self.settings = settings
        self.size = size
        self.max_messages = max_messages
        self._idle: queue.LifoQueue[tuple[smtplib.SMTP, int]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._sender = envelope_sender(settings)
        self.connections_opened = 0

    def _open(self) -> smtplib.SMTP:
        self.connections_opened += 1
        return connect(self.settings)

    def send(self, message: EmailMessage, recipient: str) -> Delivery:
        """Deliver message to one recipient (the envelope never carries more than one)."""
        data = message_bytes(message)
        with self._slots:
            try:
                smtp, used = self._idle.get_nowait()
                reused = True
            except queue.Empty:
                smtp, used, reused = None, 0, False
            try:
                if smtp is None:
                    smtp = self._open()
                try:
                    reply = self._exchange(smtp, recipient, data)
                except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused, OSError) as exc:
                    # An idle connection the server closed (or a 421 greeting it on MAIL FROM) fails before
                    # anything was handed over: retry once on a fresh connection.
                    if not reused or not _early(exc):
                        raise
                    _close(smtp)
                    smtp, used = self._open(), 0
                    reply = self._exchange(smtp, recipient, data)
            except BaseException as exc:
                if smtp is not None and (_broken(exc) or isinstance(exc, _Uncertain)):
                    _close(smtp)
                elif smtp is not None:
                    self._give_back(smtp, used + 1)
                if not isinstance(exc, Exception):
                    raise
                return classify(exc)
            self._give_back(smtp, used + 1)
            return Delivery("sent", 250, reply)

    def _give_back(self, smtp: smtplib.SMTP, used: int) -> None:
        if used >= self.max_messages:
            _quit(smtp)  # some relays cap messages per connection; start a fresh one before they do
        else:
            self._idle.put((smtp, used))

    def _exchange(self, smtp: smtplib.SMTP, recipient: str, data: bytes) -> str:
        """MAIL, RCPT, DATA for one recipient; returns the final reply text, raises smtplib errors."""
        smtp.ehlo_or_helo_if_needed()
        code, resp = smtp.mail(self._sender)
        if code != 250:
            _reset(smtp, code)
            raise smtplib.SMTPSenderRefused(code, resp, self._sender)
        code, resp = smtp.rcpt(recipient)
        if code not in (250, 251):
            _reset(smtp, code)
            raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})
        smtp.putcmd("data")
        code, resp = smtp.getreply()
        if code != 354:
            _reset(smtp, code)
            raise smtplib.SMTPDataError(code, resp)
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")  # a failure here: the server drops the partial message
        try:
            code, resp = smtp.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            raise _Uncertain(str(exc)) from exc
        if code != 250:
            _reset(smtp, code)
            raise smtplib.SMTPDataError(code, resp)
        return _text(resp)

    def close(self) -> None:
        """QUIT every idle connection."""
        while True:
            try:
                smtp, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            _quit(smtp)


def _early(exc: BaseException) -> bool:
    """A failure of a reused connection before RCPT: the server dropped it while idle (or says 421)."""
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return exc.smtp_code == 421
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    # smtplib's errors are OSErrors too; only a plain socket error counts here.
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _broken(exc: BaseException) -> bool:
    """Whether the connection cannot carry another message (the caller closes it)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, OSError)  # disconnected, timed out, reset


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    if code == 421:
        return  # the server is closing the connection; the caller drops it
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.rset()


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
