"""A sender killed (SIGKILL) between `sending` and the 250: that digest is uncertain, reported, not resent.

The SMTP server here takes one reader's message and then holds its reply, so the real `paperfeed digest send`
process is killed at the worst moment: the server has the message, the ledger says `sending`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.digests.send import send_due
from paperfeed.mailsink import free_port
from polling import HANG_S
from sendkit import DAY1, add_papers, add_subscribers, ledger_rows


class _HoldingSink:
    """Accepts every message; for `hold` it records the message, then never answers DATA."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.received: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email

        msg = email.message_from_bytes(envelope.content)
        self.received.append((envelope.rcpt_tos[0], str(msg["Message-ID"])))
        if envelope.rcpt_tos[0] == self.hold:
            self.holding.set()
            await asyncio.sleep(120)
        return "250 OK"


@pytest.fixture
def holding_sink() -> Iterator[tuple[_HoldingSink, int]]:
    handler = _HoldingSink("u2@example.org")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _env(s: Settings, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PAPERFEED_SMTP_PORT=str(port),
        PAPERFEED_SECRET_KEY="crash-test-key",
        PAPERFEED_DATA_DIR=str(s.data_dir),
        PAPERFEED_DIGEST_SEND_CONCURRENCY="1",
    )
    return env


def test_a_killed_sender_leaves_one_uncertain_digest_and_the_rest_go_once(
    session_factory: sessionmaker[Session], db_settings: Settings, holding_sink: tuple[_HoldingSink, int]
) -> None:
    handler, port = holding_sink
    add_papers(session_factory, DAY1, 3)
    emails = [f"u{i}@example.org" for i in range(6)]
    add_subscribers(session_factory, emails)
    cmd = [sys.executable, "-m", "paperfeed.cli", "digest", "send", "--period", DAY1.isoformat()]
    cmd += ["--db", db_settings.database_url]
    proc = subprocess.Popen(
        cmd, env=_env(db_settings, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert handler.holding.wait(HANG_S), "the sender never reached the held recipient"
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(HANG_S)
    statuses = Counter(r.status for r in ledger_rows(session_factory))
    assert statuses == {"sent": 2, "sending": 1, "prepared": 3}

    s = db_settings.model_copy(update={"smtp_port": port, "secret_key": "crash-test-key"})
    report = send_due(session_factory, settings=s)
    assert [r.email for r in report.recovered] == ["u2@example.org"]
    assert report.sent == 3
    rows = ledger_rows(session_factory)
    assert Counter(r.status for r in rows) == {"sent": 5, "uncertain": 1}
    # Every digest reached the server once; the uncertain one was not sent again.
    per_id = Counter(mid for _, mid in handler.received)
    assert set(per_id.values()) == {1}
    assert sorted(rcpt for rcpt, _ in handler.received) == emails
    assert {mid for _, mid in handler.received} == {r.message_id for r in rows}

    # `digest status` reports it; a rerun of `digest send` sends nothing at all.
    runner = CliRunner()
    env = _env(db_settings, port)
    out = runner.invoke(
        app, ["digest", "status", "--period", DAY1.isoformat(), "--db", s.database_url], env=env
    )
    assert out.exit_code == 0, out.output
    assert "u2@example.org" in out.output and "uncertain" in out.output
    again = runner.invoke(
        app, ["digest", "send", "--period", DAY1.isoformat(), "--db", s.database_url], env=env
    )
    assert again.exit_code == 0, again.output
    assert len(handler.received) == 6
