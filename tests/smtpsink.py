"""pytest plugin: `smtp_sink`, a real SMTP server (aiosmtpd) on loopback, and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paperfeed.mailsink import SmtpSink


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started SmtpSink; `settings.model_copy(update={"smtp_port": smtp_sink.port})` sends to it."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
