"""A local SMTP sink (aiosmtpd on loopback): the demo's outbox and the tests' real SMTP server.

It keeps every accepted message, and can be told to answer chosen recipients with an SMTP error
(421/451/550...) a number of times first, to exercise retries and bounces.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One accepted message: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            queue = self.faults.get(address.lower())
            if queue:
                reply = queue.pop(0) if len(queue) > 1 or not queue[0].startswith("5") else queue[0]
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class SmtpSink:
    """A running SMTP server on loopback that stores what it receives (start() / stop())."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    def start(self) -> SmtpSink:
        """Start serving in a background thread."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    @property
    def messages(self) -> list[Received]:
        """A snapshot of the accepted messages, oldest first."""
        with self._handler.lock:
            return list(self._handler.messages)

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._handler.lock:
            self._handler.messages.clear()

    def fail(self, recipient: str, *replies: str) -> None:
        """Answer RCPT TO:<recipient> with these replies, one per attempt, e.g. fail(a, "451 4.3.0 busy").

        A 5xx reply is permanent: it is repeated for every later attempt. After the 4xx replies run out,
        the recipient is accepted.
        """
        with self._handler.lock:
            self._handler.faults[recipient.lower()] = list(replies)
