"""The demo's outbox: an SMTP sink that also files every message in a Maildir, and a reader for it.

`paperfeed demo` starts `MaildirSink` on loopback and points the app's SMTP settings at it; the pages at
/dev/outbox (demo mode only) list and show what it received. A Maildir survives restarts and needs no
locking: each message is written to tmp/ and renamed into new/.
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from paperfeed.config import Settings
from paperfeed.mailsink import SmtpSink, _Handler, free_port

__all__ = ["MaildirSink", "OutboxEntry", "list_outbox", "outbox_dir", "read_outbox", "start_demo_sink"]

log = logging.getLogger(__name__)

_KEY = re.compile(r"[A-Za-z0-9._,:=-]{1,200}")


def outbox_dir(settings: Settings) -> Path:
    """Where the demo outbox lives: data_dir/outbox."""
    return Path(settings.data_dir) / "outbox"


class _MaildirHandler(_Handler):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.maildir = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        raw = bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.maildir.add(raw)
        return reply


class MaildirSink(SmtpSink):
    """An SmtpSink that also writes every accepted message to a Maildir."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        from aiosmtpd.controller import Controller

        self._handler = _MaildirHandler(maildir)
        self._controller = Controller(self._handler, hostname=host, port=self.port)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One stored message: its key in the Maildir, and the headers a list shows."""

    key: str
    subject: str
    to: str
    sender: str
    date: datetime | None


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _date(msg: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None


def list_outbox(path: Path, *, limit: int = 200) -> list[OutboxEntry]:
    """The newest messages first (at most limit)."""
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    entries = []
    for key in box.iterkeys():
        try:
            msg = _parse(box.get_bytes(key))
        except (KeyError, OSError):
            continue  # removed meanwhile
        entries.append(
            OutboxEntry(
                key, str(msg["Subject"] or ""), str(msg["To"] or ""), str(msg["From"] or ""), _date(msg)
            )
        )
    entries.sort(key=lambda e: (e.date.timestamp() if e.date else 0.0, e.key), reverse=True)
    return entries[:limit]


def read_outbox(path: Path, key: str) -> tuple[EmailMessage, bytes] | None:
    """A stored message (parsed, and its raw bytes) by key; None when unknown or the key is malformed."""
    if not _KEY.fullmatch(key) or not path.is_dir():
        return None
    box = mailbox.Maildir(path, create=False)
    try:
        raw = box.get_bytes(key)
    except (KeyError, OSError):
        return None
    return _parse(raw), raw


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def start_demo_sink(settings: Settings) -> tuple[MaildirSink, Settings]:
    """Start the demo's sink on loopback (settings.smtp_port when free, else any free port) and return it
    with settings that send to it."""
    host = "127.0.0.1"
    port = settings.smtp_port if _port_free(host, settings.smtp_port) else free_port(host)
    sink = MaildirSink(outbox_dir(settings), host=host, port=port)
    sink.start()
    update = {
        "smtp_host": host,
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_user": "",
        "smtp_password": "",
    }
    log.info("demo SMTP sink on %s:%s, mail filed in %s", host, port, outbox_dir(settings))
    return sink, settings.model_copy(update=update)
