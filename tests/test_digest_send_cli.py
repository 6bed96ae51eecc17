"""`paperfeed digest send --period ...` and `digest status`: the summary table, dry runs, bad periods."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.mailsink import SmtpSink
from sendkit import DAY1, add_papers, add_subscribers, by_recipient, ledger_rows

runner = CliRunner()


@pytest.fixture
def db(settings: Settings) -> Iterator[tuple[str, sessionmaker[Session]]]:
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    add_papers(factory, DAY1, 4)
    add_subscribers(factory, ["a@example.org", "b@example.org", "bad@example.org"])
    add_subscribers(factory, ["w@example.org"], frequency="weekly")
    yield settings.database_url, factory
    engine.dispose()


def _env(sink: SmtpSink) -> dict[str, str]:
    return {
        "PAPERFEED_SMTP_PORT": str(sink.port),
        "PAPERFEED_SECRET_KEY": "cli-key",
        "PAPERFEED_DIGEST_SEND_BACKOFF_BASE_S": "0.05",
        "PAPERFEED_DIGEST_SEND_BACKOFF_MAX_S": "0.1",
    }


def _counts(output: str) -> dict[str, int]:
    """The summary table's rows: name -> count."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            found[cells[0]] = int(cells[1])
    return found


def test_send_prints_the_summary_and_a_second_run_sends_nothing(
    db: tuple[str, sessionmaker[Session]], smtp_sink: SmtpSink
) -> None:
    url, factory = db
    smtp_sink.fail("bad@example.org", "550 5.1.1 unknown user")
    dry = runner.invoke(
        app, ["digest", "send", "--period", "2026-11-26", "--dry-run", "--db", url], env=_env(smtp_sink)
    )
    assert dry.exit_code == 0, dry.output
    assert _counts(dry.output) == {
        "would prepare": 3, "empty (not sent)": 0, "papers": 9, "already in the ledger": 0, "due now": 0
    }  # fmt: skip
    assert ledger_rows(factory) == [] and smtp_sink.messages == []

    out = runner.invoke(app, ["digest", "send", "--period", "2026-11-26", "--db", url], env=_env(smtp_sink))
    assert out.exit_code == 0, out.output
    assert _counts(out.output) == {
        "prepared": 3, "empty (not sent)": 0, "sent": 2, "retried": 0, "failed": 0, "bounced": 1,
        "uncertain": 0, "skipped (unsubscribed)": 0, "waiting for a retry": 0,
    }  # fmt: skip
    assert sorted(by_recipient(smtp_sink.messages)) == ["a@example.org", "b@example.org"]

    again = runner.invoke(app, ["digest", "send", "--period", "2026-11-26", "--db", url], env=_env(smtp_sink))
    assert again.exit_code == 0
    assert _counts(again.output)["prepared"] == 0 and _counts(again.output)["sent"] == 0
    assert len(smtp_sink.messages) == 2

    status = runner.invoke(app, ["digest", "status", "--db", url], env=_env(smtp_sink))
    assert status.exit_code == 0
    assert _counts(status.output) == {
        "prepared": 0, "sending": 0, "retry": 0, "sent": 2, "failed": 0, "bounced": 1, "uncertain": 0,
        "skipped": 0,
    }  # fmt: skip


def test_weekly_period_and_bad_input(db: tuple[str, sessionmaker[Session]], smtp_sink: SmtpSink) -> None:
    url, _factory = db
    out = runner.invoke(app, ["digest", "send", "--period", "2026-W48", "--db", url], env=_env(smtp_sink))
    assert out.exit_code == 0, out.output
    assert list(by_recipient(smtp_sink.messages)) == ["w@example.org"]
    for bad in (["--period", "2026-13-01"], ["--period", "2026-W48", "--frequency", "daily"]):
        res = runner.invoke(app, ["digest", "send", *bad, "--db", url], env=_env(smtp_sink))
        assert res.exit_code == 2
        assert "Traceback" not in res.output
